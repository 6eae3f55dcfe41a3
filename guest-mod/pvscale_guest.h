/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of pvscale_guest share; each file owns one job. */
#ifndef PVSCALE_GUEST_H
#define PVSCALE_GUEST_H

#include <linux/cpumask.h>
#include <linux/percpu.h>
#include "pv_abi.h"

struct kobject;

/* page.c: one registered page per online CPU. */
int pvg_pages_init(void);
void pvg_pages_exit(void);
const struct cpumask *pvg_registered_cpus(void);
void pvg_attached_cpus(struct cpumask *mask);
u64 pvg_host_features(void);
void pvg_publish_features(u32 enabled);
struct pvscale_page *pvg_this_cpu_page(void);
struct pvscale_page *pvg_cpu_page(int cpu);

/* tlb.c: PV TLB shootdown, enabled through the feature table. */
int pvg_tlb_enable(void);
void pvg_tlb_disable(void);
int pvg_tlb_hostflush_enable(void);
void pvg_tlb_hostflush_disable(void);

/* features.c: the features= parameter and the run-time toggles. */
u32 pvg_enabled_features(void);
int pvg_features_init(struct kobject *kobj);
void pvg_features_exit(struct kobject *kobj);

/* stats.c: per-CPU counters, summed in /sys/kernel/pvscale_guest/stats. */
enum pvg_stat {
	PVG_STAT_PV_IPI_SENDS,		/* IPIs sent by one hypercall */
	PVG_STAT_IPI_FALLBACKS,		/* IPIs left to the kernel's own path */
	PVG_STAT_TLB_CALLS,		/* flush_tlb_multi reaching pvscale */
	PVG_STAT_TLB_DEFERRED,		/* targets left to flush on entry */
	PVG_STAT_HOSTFLUSH_CALLS,
	PVG_STAT_HOSTFLUSH_TARGETS,	/* remote CPUs the host flushed */
	PVG_STAT_TLB_FALLBACKS,		/* host flush not usable */
	PVG_NR_STATS,
};
DECLARE_PER_CPU(unsigned long [PVG_NR_STATS], pvg_stats);
static inline void pvg_stat_inc(enum pvg_stat s)
{
	this_cpu_inc(pvg_stats[s]);
}
static inline void pvg_stat_add(enum pvg_stat s, unsigned long n)
{
	this_cpu_add(pvg_stats[s], n);
}
int pvg_stats_init(struct kobject *kobj);
void pvg_stats_exit(struct kobject *kobj);

/* ipi.c: PV multicast IPIs (PVSCALE_F_IPI). */
int pvg_ipi_enable(void);
void pvg_ipi_disable(void);

#endif /* PVSCALE_GUEST_H */
