// SPDX-License-Identifier: GPL-2.0
/*
 * pvscale_host: module init/exit, parameters and the sysfs root.
 *
 * Init order: counters, the sysfs view, the scheduler hooks of tlb.c, the
 * destruction hooks, and only then the hypercall hook, so no registration
 * can exist before the hooks that serve and free it. Exit mirrors it: the
 * hypercall hook goes first (no new registrations), then every page is
 * detached (with the scheduler hooks still honouring pending flushes),
 * then the rest.
 */
#include <linux/module.h>
#include <linux/sysfs.h>
#include "pvscale_host.h"

struct kobject *pvs_kobj;

static ssize_t abi_version_show(struct kobject *k, struct kobj_attribute *a,
				char *buf)
{
	return sysfs_emit(buf, "%d.%d\n", PVSCALE_ABI_MAJOR, PVSCALE_ABI_MINOR);
}

static ssize_t offered_features_show(struct kobject *k,
				     struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "0x%x\n", pvs_offered_features());
}

static ssize_t nr_vms_show(struct kobject *k, struct kobj_attribute *a,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", pvs_nr_vms());
}

static ssize_t nr_vcpus_show(struct kobject *k, struct kobj_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", pvs_nr_vcpus());
}

static struct kobj_attribute abi_version_attr = __ATTR_RO(abi_version);
static struct kobj_attribute offered_features_attr = __ATTR_RO(offered_features);
static struct kobj_attribute nr_vms_attr = __ATTR_RO(nr_vms);
static struct kobj_attribute nr_vcpus_attr = __ATTR_RO(nr_vcpus);

static struct attribute *pvs_attrs[] = {
	&abi_version_attr.attr,
	&offered_features_attr.attr,
	&nr_vms_attr.attr,
	&nr_vcpus_attr.attr,
	NULL,
};

static const struct attribute_group pvs_group = {
	.attrs = pvs_attrs,
};

static int __init pvs_init(void)
{
	int ret;

	pvs_kobj = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	if (!pvs_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(pvs_kobj, &pvs_group);
	if (ret)
		goto err_kobj;
	ret = pvs_stats_init();
	if (ret)
		goto err_kobj;
	ret = pvs_features_init();
	if (ret)
		goto err_stats;
	ret = pvs_tlb_init();
	if (ret)
		goto err_features;
	ret = pvs_vm_init();
	if (ret)
		goto err_tlb;
	ret = pvs_hcall_init();
	if (ret)
		goto err_vm;
	pr_info("ABI %d.%d, offering features %#x\n", PVSCALE_ABI_MAJOR,
		PVSCALE_ABI_MINOR, pvs_offered_features());
	return 0;

err_vm:
	pvs_vm_exit();
err_tlb:
	pvs_tlb_exit();
err_features:
	pvs_features_exit();
err_stats:
	pvs_stats_exit();
err_kobj:
	kobject_put(pvs_kobj);
	return ret;
}

static void __exit pvs_exit(void)
{
	pvs_hcall_exit();
	pvs_vm_exit();
	pvs_tlb_exit();
	pvs_features_exit();
	pvs_stats_exit();
	kobject_put(pvs_kobj);
	pr_info("unloaded\n");
}

module_init(pvs_init);
module_exit(pvs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvscale host: paravirtual scaling services for KVM guests");
MODULE_VERSION(__stringify(PVSCALE_ABI_MAJOR) "." __stringify(PVSCALE_ABI_MINOR));
