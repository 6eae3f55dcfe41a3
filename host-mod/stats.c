// SPDX-License-Identifier: GPL-2.0
/*
 * Counters a person can read: /sys/kernel/pvscale_host/stats/<name>, and the
 * registrations table in /sys/kernel/debug/pvscale_host/registrations.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include "pvscale_host.h"

static atomic_long_t pvs_stats[PVS_NR_STATS];
static struct dentry *pvs_debugfs;

void pvs_stat_inc(enum pvs_stat s)
{
	atomic_long_inc(&pvs_stats[s]);
}

void pvs_stat_add(enum pvs_stat s, long n)
{
	atomic_long_add(n, &pvs_stats[s]);
}

struct pvs_stat_attr {
	struct kobj_attribute attr;
	enum pvs_stat stat;
};

static ssize_t pvs_stat_show(struct kobject *k, struct kobj_attribute *a,
			     char *buf)
{
	struct pvs_stat_attr *sa = container_of(a, struct pvs_stat_attr, attr);

	return sysfs_emit(buf, "%ld\n", atomic_long_read(&pvs_stats[sa->stat]));
}

/* Probe handlers the kprobe core skipped: registrations may be stale. */
static ssize_t missed_show(struct kobject *k, struct kobj_attribute *a,
			   char *buf)
{
	return sysfs_emit(buf, "%lu\n", pvs_hcall_missed() + pvs_vm_missed() +
			  pvs_tlb_missed());
}
static struct kobj_attribute pvs_stat_missed = __ATTR_RO(missed);

#define PVS_STAT_ATTR(_name, _stat)					\
	static struct pvs_stat_attr pvs_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, pvs_stat_show, NULL),	\
		.stat = _stat,						\
	}

PVS_STAT_ATTR(probe, PVS_STAT_PROBE);
PVS_STAT_ATTR(register, PVS_STAT_REGISTER);
PVS_STAT_ATTR(unregister, PVS_STAT_UNREGISTER);
PVS_STAT_ATTR(rejected, PVS_STAT_REJECTED);
PVS_STAT_ATTR(vcpu_destroyed, PVS_STAT_VCPU_DESTROYED);
PVS_STAT_ATTR(vcpu_reset, PVS_STAT_VCPU_RESET);
PVS_STAT_ATTR(vm_destroyed, PVS_STAT_VM_DESTROYED);
PVS_STAT_ATTR(ipi_calls, PVS_STAT_IPI_CALLS);
PVS_STAT_ATTR(ipi_targets, PVS_STAT_IPI_TARGETS);
PVS_STAT_ATTR(ipi_rejected, PVS_STAT_IPI_REJECTED);
PVS_STAT_ATTR(preempt_marks, PVS_STAT_TLB_PREEMPT_MARKS);
PVS_STAT_ATTR(flush_on_entry, PVS_STAT_TLB_FLUSH_ON_ENTRY);
PVS_STAT_ATTR(flush_on_detach, PVS_STAT_TLB_FLUSH_ON_DETACH);
PVS_STAT_ATTR(hostflush_calls, PVS_STAT_HOSTFLUSH_CALLS);
PVS_STAT_ATTR(hostflush_targets, PVS_STAT_HOSTFLUSH_TARGETS);
PVS_STAT_ATTR(hostflush_timeouts, PVS_STAT_HOSTFLUSH_TIMEOUTS);
PVS_STAT_ATTR(hostflush_unsafe, PVS_STAT_HOSTFLUSH_UNSAFE);

static struct attribute *pvs_stat_attrs[] = {
	&pvs_stat_probe.attr.attr,
	&pvs_stat_register.attr.attr,
	&pvs_stat_unregister.attr.attr,
	&pvs_stat_rejected.attr.attr,
	&pvs_stat_vcpu_destroyed.attr.attr,
	&pvs_stat_vcpu_reset.attr.attr,
	&pvs_stat_vm_destroyed.attr.attr,
	&pvs_stat_ipi_calls.attr.attr,
	&pvs_stat_ipi_targets.attr.attr,
	&pvs_stat_ipi_rejected.attr.attr,
	&pvs_stat_preempt_marks.attr.attr,
	&pvs_stat_flush_on_entry.attr.attr,
	&pvs_stat_flush_on_detach.attr.attr,
	&pvs_stat_hostflush_calls.attr.attr,
	&pvs_stat_hostflush_targets.attr.attr,
	&pvs_stat_hostflush_timeouts.attr.attr,
	&pvs_stat_hostflush_unsafe.attr.attr,
	&pvs_stat_missed.attr,
	NULL,
};

static const struct attribute_group pvs_stat_group = {
	.name = "stats",
	.attrs = pvs_stat_attrs,
};

static int registrations_show(struct seq_file *m, void *v)
{
	pvs_vm_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(registrations);

int pvs_stats_init(void)
{
	int ret = sysfs_create_group(pvs_kobj, &pvs_stat_group);

	if (ret)
		return ret;
	/* debugfs is optional: a failure here only loses the table. */
	pvs_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("registrations", 0444, pvs_debugfs, NULL,
			    &registrations_fops);
	return 0;
}

void pvs_stats_exit(void)
{
	debugfs_remove_recursive(pvs_debugfs);
	sysfs_remove_group(pvs_kobj, &pvs_stat_group);
}
