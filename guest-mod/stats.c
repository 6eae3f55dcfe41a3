// SPDX-License-Identifier: GPL-2.0
/*
 * Counters a person can read: /sys/kernel/pvscale_guest/stats/<name>.
 * Per-CPU, so counting costs nothing measurable on the IPI path, and safe
 * from any context (this_cpu_inc is a single instruction on x86).
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include "pvscale_guest.h"

DEFINE_PER_CPU(unsigned long [PVG_NR_STATS], pvg_stats);

struct pvg_stat_attr {
	struct kobj_attribute attr;
	enum pvg_stat stat;
};

static ssize_t pvg_stat_show(struct kobject *k, struct kobj_attribute *a,
			     char *buf)
{
	struct pvg_stat_attr *sa = container_of(a, struct pvg_stat_attr, attr);
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvg_stats, cpu)[sa->stat];
	return sysfs_emit(buf, "%lu\n", sum);
}

#define PVG_STAT_ATTR(_name, _stat)					\
	static struct pvg_stat_attr pvg_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, pvg_stat_show, NULL),	\
		.stat = _stat,						\
	}

PVG_STAT_ATTR(pv_ipi_sends, PVG_STAT_PV_IPI_SENDS);
PVG_STAT_ATTR(ipi_fallbacks, PVG_STAT_IPI_FALLBACKS);
PVG_STAT_ATTR(tlb_calls, PVG_STAT_TLB_CALLS);
PVG_STAT_ATTR(flushes_deferred, PVG_STAT_TLB_DEFERRED);
PVG_STAT_ATTR(hostflush_calls, PVG_STAT_HOSTFLUSH_CALLS);
PVG_STAT_ATTR(hostflush_targets, PVG_STAT_HOSTFLUSH_TARGETS);
PVG_STAT_ATTR(tlb_fallbacks, PVG_STAT_TLB_FALLBACKS);

static struct attribute *pvg_stat_attrs[] = {
	&pvg_stat_pv_ipi_sends.attr.attr,
	&pvg_stat_ipi_fallbacks.attr.attr,
	&pvg_stat_tlb_calls.attr.attr,
	&pvg_stat_flushes_deferred.attr.attr,
	&pvg_stat_hostflush_calls.attr.attr,
	&pvg_stat_hostflush_targets.attr.attr,
	&pvg_stat_tlb_fallbacks.attr.attr,
	NULL,
};

static const struct attribute_group pvg_stat_group = {
	.name = "stats",
	.attrs = pvg_stat_attrs,
};

int pvg_stats_init(struct kobject *kobj)
{
	return sysfs_create_group(kobj, &pvg_stat_group);
}

void pvg_stats_exit(struct kobject *kobj)
{
	sysfs_remove_group(kobj, &pvg_stat_group);
}
