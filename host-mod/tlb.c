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
 * every target gets a flush request and the running ones are kicked out of
 * guest mode. The hypercall returns 0 once every target is at an
 * instruction boundary with the request pending, or has entered the guest
 * since (and so flushed first): as with an IPI, whose handler runs only
 * after the instruction in flight. A target in the middle of an instruction
 * (an exit being handled, an MMIO or PIO exit to userspace not completed,
 * preempted inside emulation) may still finish it with the old translation
 * (CVE-2022-39189): the answer is then -PVSCALE_EAGAIN and the guest sends
 * its own IPIs and waits, as without pvscale.
 *
 * Which flush: KVM_REQ_TLB_FLUSH_GUEST flushes the context the vCPU runs
 * in. A vCPU that runs its own nested guest would flush only that one's
 * (VMX: the nested VPID), keeping stale entries of its own, so such a
 * vCPU gets KVM_REQ_TLB_FLUSH, every context. A vCPU that enters or leaves
 * its nested guest after the request is made is safe either way: KVM
 * services pending guest flushes before it switches contexts.
 */
#include <linux/kprobes.h>
#include <linux/nospec.h>
#include <linux/timekeeping.h>
#include "pvscale_host.h"

enum {
	/* A kicked vCPU leaves guest mode in microseconds; never hang. */
	PVS_HOSTFLUSH_WAIT_NS	= 50 * NSEC_PER_MSEC,
	/* How long a target outside guest mode may take to settle. */
	PVS_HOSTFLUSH_SETTLE_NS	= 100 * NSEC_PER_USEC,
};

/* Have @vcpu flush the guest's translations before it next runs guest code. */
static void pvs_tlb_request(struct kvm_vcpu *vcpu)
{
	if (pvs_vcpu_in_guest_mode(vcpu))
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	else
		kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, vcpu);
}

/*
 * Take the byte back; a pending FLUSH becomes a request on @vcpu. Only
 * for @vcpu's own thread, which cannot enter the guest meanwhile.
 */
static bool pvs_tlb_take(struct kvm_vcpu *vcpu, struct pvscale_page *pp)
{
	u8 old = xchg(&pp->tlb.state, 0);

	if (!(old & PVSCALE_TLB_FLUSH))
		return false;
	pvs_tlb_request(vcpu);
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
		pvs_tlb_request(vcpu);
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
 * (detach) or the feature off (toggle) first. This runs on another thread
 * than the vCPU's, which may be loaded and enter the guest at any moment:
 * once the byte reads 0 its load hook has nothing to take, so the request
 * must already be there. Make it while the byte still holds PREEMPTED (the
 * guest can set FLUSH only then), take the byte, and kick the vCPU if the
 * flush was really owed. A request for a byte that held no FLUSH is one
 * spare flush.
 */
static void pvs_tlb_stop(struct kvm_vcpu *vcpu, struct pvscale_page *pp)
{
	if (!READ_ONCE(pp->tlb.state))
		return;
	pvs_tlb_request(vcpu);
	/* xchg is fully ordered: the request is visible before the 0. */
	if (!(xchg(&pp->tlb.state, 0) & PVSCALE_TLB_FLUSH))
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

/* Request a flush on @t, and kick it out of guest mode if it may be there. */
static void pvs_hostflush_request(struct kvm_vcpu *t)
{
	pvs_tlb_request(t);
	/* Pairs with the barrier after vcpu->mode = IN_GUEST_MODE. */
	smp_mb__after_atomic();
	/* Not kvm_vcpu_kick() for all: it would wake halted vCPUs. */
	if (READ_ONCE(t->mode) != OUTSIDE_GUEST_MODE)
		kvm_vcpu_kick(t);
}

/*
 * @t is outside guest mode: is it between two guest instructions, so that
 * it flushes before it executes the next one? It left the guest on an
 * interrupt and has not handled anything since, or it is halted or waiting
 * for INIT/SIPI, or it is idle in userspace (no vCPU ioctl running) with
 * no exit left to complete. Anything else may be mid-instruction.
 */
static bool pvs_vcpu_at_boundary(struct kvm_vcpu *t)
{
	if (READ_ONCE(t->arch.at_instruction_boundary) ||
	    READ_ONCE(t->arch.mp_state) != KVM_MP_STATE_RUNNABLE)
		return true;
	if (mutex_is_locked(&t->mutex))
		return false;
	/* Written before KVM_RUN returned and dropped the mutex. */
	smp_rmb();
	return !READ_ONCE(t->arch.complete_userspace_io);
}

/*
 * Has @t, which has a flush request, flushed or will it before its next
 * guest instruction? In guest mode now, it entered after the request (the
 * running ones were kicked out first) and serviced it on the way in, or
 * saw it and turned back. Leaving guest mode, it is given until
 * @exit_deadline; outside it, a short while to reach a boundary (an
 * interrupt exit marks its boundary just after it leaves guest mode).
 */
static bool pvs_hostflush_settled(struct kvm_vcpu *t, u64 exit_deadline)
{
	u64 deadline = ktime_get_mono_fast_ns() + PVS_HOSTFLUSH_SETTLE_NS;
	int mode;

	for (;;) {
		mode = READ_ONCE(t->mode);
		if (mode == IN_GUEST_MODE ||
		    (mode == OUTSIDE_GUEST_MODE && pvs_vcpu_at_boundary(t)))
			return true;
		if (ktime_get_mono_fast_ns() >
		    (mode == EXITING_GUEST_MODE ? exit_deadline : deadline))
			return false;
		cpu_relax();
	}
}

/*
 * Whether @t is in @set (bit i: APIC ID @first + i, @nbits bits) and is
 * not @self. Callers walk the VM's vCPUs once for the whole set, whatever
 * its size: a walk per set bit would cost 4096 x nr_vcpus per hypercall.
 */
static bool pvs_hostflush_target(struct kvm_vcpu *self, struct kvm_vcpu *t,
				 u32 first, const unsigned long *set,
				 unsigned int nbits)
{
	u32 bit = t->vcpu_id - first;

	return t != self && bit < nbits &&
	       test_bit(array_index_nospec(bit, nbits), set);
}

/*
 * hcall.c: flush every vCPU in @set (bit i: APIC ID @first + i, @nwords
 * words, validated and copied by hcall.c). The caller flushes itself.
 * Returns 0 once every target has flushed or will before it next runs
 * guest code, -PVSCALE_EAGAIN if one could not be brought to that in time
 * (still leaving guest mode, or in the middle of an instruction).
 */
long pvs_tlb_hostflush(struct kvm_vcpu *self, u32 first, const u64 *set,
		       unsigned int nwords)
{
	const unsigned long *bits = (const unsigned long *)set;
	unsigned int nbits = nwords * 64, targets = 0;
	u64 deadline = ktime_get_mono_fast_ns() + PVS_HOSTFLUSH_WAIT_NS;
	struct kvm_vcpu *t;
	unsigned long i;

	kvm_for_each_vcpu(i, t, self->kvm) {
		if (!pvs_hostflush_target(self, t, first, bits, nbits))
			continue;
		pvs_hostflush_request(t);
		targets++;
	}
	pvs_stat_inc(PVS_STAT_HOSTFLUSH_CALLS);
	pvs_stat_add(PVS_STAT_HOSTFLUSH_TARGETS, targets);
	kvm_for_each_vcpu(i, t, self->kvm) {
		if (pvs_hostflush_target(self, t, first, bits, nbits) &&
		    !pvs_hostflush_settled(t, deadline)) {
			pvs_stat_inc(READ_ONCE(t->mode) == EXITING_GUEST_MODE ?
				     PVS_STAT_HOSTFLUSH_TIMEOUTS :
				     PVS_STAT_HOSTFLUSH_UNSAFE);
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
