/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of pvscale_host share; each file owns one job. */
#ifndef PVSCALE_HOST_H
#define PVSCALE_HOST_H

#include <linux/kvm_host.h>
#include <linux/kobject.h>
#include "pv_abi.h"

/*
 * Whether @vcpu is running its own nested guest (KVM's is_guest_mode(),
 * from a header the headers packages do not ship).
 */
static inline bool pvs_vcpu_in_guest_mode(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->arch.hflags) & HF_GUEST_MASK;
}

/* main.c: the sysfs root. */
extern struct kobject *pvs_kobj;

/* features.c: what the operator enabled, of what this build implements. */
u32 pvs_offered_features(void);
bool pvs_feature_on(unsigned int bit);
int pvs_features_init(void);
void pvs_features_exit(void);

/* hcall.c: the KVM hook and the one place guest input is validated. */
int pvs_hcall_init(void);
void pvs_hcall_exit(void);
unsigned long pvs_hcall_missed(void);

/* vm.c: per-VM / per-vCPU registry and the destruction hooks. */
int pvs_vm_init(void);
void pvs_vm_exit(void);
int pvs_vcpu_attach(struct kvm_vcpu *vcpu, u64 gpa, struct page *page);
int pvs_vcpu_detach(struct kvm_vcpu *vcpu);
unsigned long pvs_vm_missed(void);
struct pvscale_page *pvs_vcpu_page_rcu(struct kvm_vcpu *vcpu, bool *live);
void pvs_vm_publish_features(u32 features);
unsigned int pvs_nr_vms(void);
unsigned int pvs_nr_vcpus(void);
void pvs_vm_show(struct seq_file *m);
int pvs_vcpu_read_dest(struct kvm_vcpu *vcpu, u64 *dst, unsigned int nwords);

/* ipi.c: deliver a validated PVSCALE_HC_IPI. */
long pvs_ipi_send(struct kvm_vcpu *vcpu, u32 icr, u32 first, const u64 *dest,
		  unsigned int nwords);

/* tlb.c: PV TLB shootdown (skip-preempted, host flush). */
int pvs_tlb_init(void);
void pvs_tlb_exit(void);
unsigned long pvs_tlb_missed(void);
void pvs_tlb_detach(struct kvm_vcpu *vcpu, struct pvscale_page *pp);
void pvs_tlb_publish(struct kvm_vcpu *vcpu, struct pvscale_page *pp,
		     u32 features);
long pvs_tlb_hostflush(struct kvm_vcpu *self, u32 first, const u64 *set,
		       unsigned int nwords);

/* stats.c: counters in sysfs, the registrations table in debugfs. */
enum pvs_stat {
	PVS_STAT_PROBE,
	PVS_STAT_REGISTER,
	PVS_STAT_UNREGISTER,
	PVS_STAT_REJECTED,
	PVS_STAT_VCPU_DESTROYED,
	PVS_STAT_VCPU_RESET,
	PVS_STAT_VM_DESTROYED,
	PVS_STAT_IPI_CALLS,
	PVS_STAT_IPI_TARGETS,
	PVS_STAT_IPI_REJECTED,
	PVS_STAT_TLB_PREEMPT_MARKS,
	PVS_STAT_TLB_FLUSH_ON_ENTRY,
	PVS_STAT_TLB_FLUSH_ON_DETACH,
	PVS_STAT_HOSTFLUSH_CALLS,
	PVS_STAT_HOSTFLUSH_TARGETS,
	PVS_STAT_HOSTFLUSH_TIMEOUTS,
	PVS_STAT_HOSTFLUSH_UNSAFE,
	PVS_NR_STATS,
};
void pvs_stat_inc(enum pvs_stat s);
void pvs_stat_add(enum pvs_stat s, long n);
int pvs_stats_init(void);
void pvs_stats_exit(void);

#endif /* PVSCALE_HOST_H */
