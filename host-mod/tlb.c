// SPDX-License-Identifier: GPL-2.0
/*
 * PV TLB shootdown, host side.
 *
 * Skip-preempted (PVSCALE_F_TLB): when KVM schedules a vCPU thread out
 * involuntarily, the vCPU's page says PREEMPTED; a guest vCPU that must
 * flush it then sets FLUSH instead of sending an IPI and waiting for a vCPU
 * that is not running. Before the vCPU runs again, one xchg takes the byte
 * back to 0, and a FLUSH found there becomes KVM_REQ_TLB_FLUSH_GUEST, which
 * KVM honours before the next VM entry. Both hooks are kprobes on the
 * functions KVM's preempt notifiers call, kvm_arch_vcpu_put() and
 * kvm_arch_vcpu_load(), with the scheduler's locks held: no lock is taken
 * here, the registry lookup is RCU.
 *
 * Never losing a flush (CVE-2019-3016): the guest sets FLUSH only with a
 * cmpxchg from a value holding PREEMPTED, and every PREEMPTED the host
 * leaves in a page is taken back by an xchg before the vCPU runs again:
 * by the load hook, or by whoever stops serving the page first (detach,
 * toggle off). For that, the mark and the stop are ordered like Dekker's:
 * the put hook marks, then checks that the page is still served and the
 * feature still on, and takes the mark back itself if not; the stop path
 * makes the page unserved, then takes the byte. Either sees the other.
 *
 * Host flush (PVSCALE_F_TLB_HOSTFLUSH): one hypercall names a target set;
 * every target gets KVM_REQ_TLB_FLUSH_GUEST, the running ones are kicked
 * out of guest mode, and the hypercall returns once each of those has left
 * it: a target then flushes before it executes another guest instruction,
 * which is what KVM's own KVM_REQUEST_WAIT guarantees.
 */
#include <linux/kprobes.h>
#include <linux/nospec.h>
#include <linux/timekeeping.h>
#include "pvscale_host.h"

enum {
	/* A kicked vCPU leaves guest mode in microseconds; never hang. */
	PVS_HOSTFLUSH_WAIT_NS	= 50 * NSEC_PER_MSEC,
};

/* Take the byte back; a pending FLUSH becomes a request on @vcpu. */
static bool pvs_tlb_take(struct kvm_vcpu *vcpu, struct pvscale_page *pp)
{
	u8 old = xchg(&pp->tlb.state, 0);

	if (!(old & PVSCALE_TLB_FLUSH))
		return false;
	kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, vcpu);
	return true;
}

/*
 * The vCPU's thread is being scheduled out. Mark the page only when it
 * was preempted while runnable (kvm_sched_out() set vcpu->preempted; a
 * vCPU that blocks is not), and only at an instruction boundary: a vCPU
 * preempted in the middle of emulating an instruction would finish it
 * with a translation the guest believes flushed (CVE-2022-39189).
 */
static int pvs_tlb_put_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct pvscale_page *pp;
	bool live;
	u8 old;

	if (!READ_ONCE(vcpu->preempted) || !vcpu->arch.at_instruction_boundary ||
	    !pvs_feature_on(PVSCALE_F_TLB))
		return 0;
	rcu_read_lock();
	pp = pvs_vcpu_page_rcu(vcpu, &live);
	if (!live || !(READ_ONCE(pp->hdr.guest_features) & BIT(PVSCALE_F_TLB)))
		goto out;
	/* The byte is 0 since the load hook; a FLUSH here is the guest's. */
	old = xchg(&pp->tlb.state, PVSCALE_TLB_PREEMPTED);
	if (old & PVSCALE_TLB_FLUSH)
		kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, vcpu);
	pvs_stat_inc(PVS_STAT_TLB_PREEMPT_MARKS);
	/* xchg is a full barrier: pairs with pvs_tlb_stop(). */
	pvs_vcpu_page_rcu(vcpu, &live);
	if (!live || !pvs_feature_on(PVSCALE_F_TLB))
		pvs_tlb_take(vcpu, pp);
out:
	rcu_read_unlock();
	return 0;
}

/* The vCPU's thread runs again: before any VM entry. */
static int pvs_tlb_load_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct pvscale_page *pp;
	bool live;

	rcu_read_lock();
	/* Even a page being detached: its byte may still hold a FLUSH. */
	pp = pvs_vcpu_page_rcu(vcpu, &live);
	/* Only PREEMPTED lets the guest set FLUSH: a 0 stays 0 until put. */
	if (pp && READ_ONCE(pp->tlb.state) && pvs_tlb_take(vcpu, pp))
		pvs_stat_inc(PVS_STAT_TLB_FLUSH_ON_ENTRY);
	rcu_read_unlock();
	return 0;
}

/*
 * The host stops serving the byte: the caller made the page unserved
 * (detach) or the feature off (toggle) first. The vCPU may be about to
 * enter the guest on another CPU: kick it so the request is seen first.
 */
static void pvs_tlb_stop(struct kvm_vcpu *vcpu, struct pvscale_page *pp)
{
	if (!pvs_tlb_take(vcpu, pp))
		return;
	kvm_vcpu_kick(vcpu);
	pvs_stat_inc(PVS_STAT_TLB_FLUSH_ON_DETACH);
}

/* vm.c: @vcpu's page is being detached; called under pvs_lock. */
void pvs_tlb_detach(struct kvm_vcpu *vcpu, struct pvscale_page *pp)
{
	pvs_tlb_stop(vcpu, pp);
}

/* vm.c: the offered features changed to @features; under pvs_lock. */
void pvs_tlb_publish(struct kvm_vcpu *vcpu, struct pvscale_page *pp,
		     u32 features)
{
	if (!(features & BIT(PVSCALE_F_TLB)))
		pvs_tlb_stop(vcpu, pp);
}

/* Request a flush on @t; true when it may be running guest code. */
static bool pvs_hostflush_request(struct kvm_vcpu *t)
{
	kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, t);
	/* Pairs with the barrier after vcpu->mode = IN_GUEST_MODE. */
	smp_mb__after_atomic();
	if (READ_ONCE(t->mode) == OUTSIDE_GUEST_MODE)
		return false;
	/* Not kvm_vcpu_kick() for all: it would wake halted vCPUs. */
	kvm_vcpu_kick(t);
	return true;
}

/* A kicked vCPU stays EXITING_GUEST_MODE until it has left the guest. */
static bool pvs_hostflush_wait(struct kvm_vcpu *t, u64 deadline)
{
	while (READ_ONCE(t->mode) == EXITING_GUEST_MODE) {
		if (ktime_get_mono_fast_ns() > deadline)
			return false;
		cpu_relax();
	}
	return true;
}

/* The vCPU with APIC ID @first + @i, if there is one and it is not @self. */
static struct kvm_vcpu *pvs_hostflush_target(struct kvm_vcpu *self, u32 first,
					     unsigned int i)
{
	u32 id = first + i;
	struct kvm_vcpu *t;

	if (id >= KVM_MAX_VCPU_IDS)
		return NULL;
	t = kvm_get_vcpu_by_id(self->kvm,
			       array_index_nospec(id, KVM_MAX_VCPU_IDS));
	return t == self ? NULL : t;
}

/*
 * hcall.c: flush every vCPU in @set (bit i: APIC ID @first + i, @nwords
 * words, validated and copied by hcall.c). The caller flushes itself.
 * Returns 0 once every target has flushed or will before it next runs
 * guest code, -PVSCALE_EAGAIN if one did not leave guest mode in time.
 */
long pvs_tlb_hostflush(struct kvm_vcpu *self, u32 first, const u64 *set,
		       unsigned int nwords)
{
	unsigned int nbits = nwords * 64, i, targets = 0;
	const unsigned long *bits = (const unsigned long *)set;
	u64 deadline = ktime_get_mono_fast_ns() + PVS_HOSTFLUSH_WAIT_NS;
	bool running = false;
	struct kvm_vcpu *t;

	for_each_set_bit(i, bits, nbits) {
		t = pvs_hostflush_target(self, first, i);
		if (!t)
			continue;
		running |= pvs_hostflush_request(t);
		targets++;
	}
	pvs_stat_inc(PVS_STAT_HOSTFLUSH_CALLS);
	pvs_stat_add(PVS_STAT_HOSTFLUSH_TARGETS, targets);
	if (!running)
		return 0;
	for_each_set_bit(i, bits, nbits) {
		t = pvs_hostflush_target(self, first, i);
		if (t && !pvs_hostflush_wait(t, deadline)) {
			pvs_stat_inc(PVS_STAT_HOSTFLUSH_TIMEOUTS);
			return -PVSCALE_EAGAIN;
		}
	}
	return 0;
}

static struct kprobe pvs_kp_put = {
	.symbol_name = "kvm_arch_vcpu_put",
	.pre_handler = pvs_tlb_put_pre,
};

static struct kprobe pvs_kp_load = {
	.symbol_name = "kvm_arch_vcpu_load",
	.pre_handler = pvs_tlb_load_pre,
};

static struct kprobe *pvs_tlb_kps[] = { &pvs_kp_put, &pvs_kp_load };

unsigned long pvs_tlb_missed(void)
{
	return pvs_kp_put.nmissed + pvs_kp_load.nmissed;
}

int pvs_tlb_init(void)
{
	int ret = register_kprobes(pvs_tlb_kps, ARRAY_SIZE(pvs_tlb_kps));

	if (ret)
		pr_err("cannot hook KVM vCPU load/put (%d)\n", ret);
	return ret;
}

/* After every page is detached: no byte is left for the hooks to serve. */
void pvs_tlb_exit(void)
{
	unregister_kprobes(pvs_tlb_kps, ARRAY_SIZE(pvs_tlb_kps));
}
