// SPDX-License-Identifier: GPL-2.0
/*
 * pvscale_guest: probe the host, then register one page per online vCPU.
 * Without a pvscale host the module refuses to load: it never half-works.
 */
#include <linux/module.h>
#include <linux/sysfs.h>
#include <linux/kvm_para.h>
#include "pvscale_guest.h"
#include "pv_check.h"

static struct kobject *pvg_kobj;
static u32 pvg_host_version;

static ssize_t abi_version_show(struct kobject *k, struct kobj_attribute *a,
				char *buf)
{
	return sysfs_emit(buf, "%d.%d\n", PVSCALE_ABI_MAJOR, PVSCALE_ABI_MINOR);
}

static ssize_t host_abi_version_show(struct kobject *k,
				     struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u.%u\n", PVSCALE_VERSION_MAJOR(pvg_host_version),
			  PVSCALE_VERSION_MINOR(pvg_host_version));
}

/* Live from the pages: 0 once the host has detached. */
static ssize_t host_features_show(struct kobject *k, struct kobj_attribute *a,
				  char *buf)
{
	return sysfs_emit(buf, "0x%llx\n", pvg_host_features());
}

/* What is in effect: a feature the host stopped offering is not. */
static ssize_t enabled_features_show(struct kobject *k,
				     struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n",
			  pvg_enabled_features() & pvg_host_features());
}

static ssize_t registered_cpus_show(struct kobject *k,
				    struct kobj_attribute *a, char *buf)
{
	return cpumap_print_to_pagebuf(true, buf, pvg_registered_cpus());
}

static ssize_t attached_cpus_show(struct kobject *k, struct kobj_attribute *a,
				  char *buf)
{
	cpumask_var_t mask;
	ssize_t n;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	pvg_attached_cpus(mask);
	n = cpumap_print_to_pagebuf(true, buf, mask);
	free_cpumask_var(mask);
	return n;
}

static struct kobj_attribute abi_version_attr = __ATTR_RO(abi_version);
static struct kobj_attribute host_abi_version_attr = __ATTR_RO(host_abi_version);
static struct kobj_attribute host_features_attr = __ATTR_RO(host_features);
static struct kobj_attribute enabled_features_attr = __ATTR_RO(enabled_features);
static struct kobj_attribute registered_cpus_attr = __ATTR_RO(registered_cpus);
static struct kobj_attribute attached_cpus_attr = __ATTR_RO(attached_cpus);

static struct attribute *pvg_attrs[] = {
	&abi_version_attr.attr,
	&host_abi_version_attr.attr,
	&host_features_attr.attr,
	&enabled_features_attr.attr,
	&registered_cpus_attr.attr,
	&attached_cpus_attr.attr,
	NULL,
};

static const struct attribute_group pvg_group = {
	.attrs = pvg_attrs,
};

/* Returns the features the host offers, or -ENODEV with one dmesg line. */
static long long pvg_probe_host(void)
{
	long ret;
	long long feat;

	if (!kvm_para_available()) {
		pr_err("not running on KVM\n");
		return -ENODEV;
	}
	ret = kvm_hypercall1(PVSCALE_HC_PROBE,
			     PVSCALE_VERSION(PVSCALE_ABI_MAJOR, PVSCALE_ABI_MINOR));
	feat = pvscale_probe_features(ret);
	if (feat == -PVSCALE_ENOSYS) {
		pr_err("no pvscale host: KVM without pvscale_host\n");
		return -ENODEV;
	}
	if (feat < 0) {
		pr_err("host ABI %u.x incompatible with guest ABI %d.%d (probe: %ld)\n",
		       PVSCALE_PROBE_MAJOR(ret), PVSCALE_ABI_MAJOR,
		       PVSCALE_ABI_MINOR, ret);
		return -ENODEV;
	}
	pvg_host_version = PVSCALE_VERSION(PVSCALE_PROBE_MAJOR(ret),
					   PVSCALE_PROBE_MINOR(ret));
	return feat;
}

static int __init pvg_init(void)
{
	long long offered = pvg_probe_host();
	int ret;

	if (offered < 0)
		return offered;
	pvg_kobj = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	if (!pvg_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(pvg_kobj, &pvg_group);
	if (ret)
		goto err_kobj;
	ret = pvg_stats_init(pvg_kobj);
	if (ret)
		goto err_kobj;
	ret = pvg_pages_init();
	if (ret)
		goto err_stats;
	ret = pvg_features_init(pvg_kobj);
	if (ret)
		goto err_pages;
	pr_info("host ABI %u.%u offers %#llx, enabled %#x, ABI %d.%d\n",
		PVSCALE_VERSION_MAJOR(pvg_host_version),
		PVSCALE_VERSION_MINOR(pvg_host_version), offered,
		pvg_enabled_features(),
		PVSCALE_ABI_MAJOR, pvscale_common_minor(PVSCALE_ABI_MINOR,
			PVSCALE_VERSION_MINOR(pvg_host_version)));
	return 0;

err_pages:
	pvg_pages_exit();
err_stats:
	pvg_stats_exit(pvg_kobj);
err_kobj:
	kobject_put(pvg_kobj);
	return ret;
}

static void __exit pvg_exit(void)
{
	pvg_features_exit(pvg_kobj);
	pvg_pages_exit();
	pvg_stats_exit(pvg_kobj);
	kobject_put(pvg_kobj);
}

module_init(pvg_init);
module_exit(pvg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvscale guest: paravirtual scaling for KVM guests");
MODULE_VERSION(__stringify(PVSCALE_ABI_MAJOR) "." __stringify(PVSCALE_ABI_MINOR));
