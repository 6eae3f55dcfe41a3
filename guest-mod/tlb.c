// SPDX-License-Identifier: GPL-2.0
/*
 * PV TLB shootdown, guest side: take over flush_tlb_multi, the remote
 * flush behind munmap, mprotect, page migration and reclaim.
 *
 * Its call sites are patched into direct calls at boot, so the function
 * they reach, the value pv_ops.mmu.flush_tlb_multi had then
 * (kvm_flush_tlb_multi with the kernel's own KVM PV flush, else
 * native_flush_tlb_multi), is redirected to pvg_tlb_flush_multi() with
 * redirect.c. Whatever pvscale does not take, the original flushes: the
 * kernel's behaviour comes back when both modes are off or on unload.
 *
 * Two modes, one toggle each (features/tlb, features/tlb_hostflush):
 *   tlb            a target whose page says PREEMPTED gets FLUSH with one
 *                  cmpxchg instead of an IPI; the host flushes it before it
 *                  runs again. The other targets go to the original.
 *   tlb_hostflush  the remote targets go into this CPU's dest set and one
 *                  hypercall has the host flush them all, running ones
 *                  included, before it returns: no flush IPI at all. When
 *                  the call fails, the original flushes what is left: a
 *                  flush is never dropped.
 * With both on, preempted targets are deferred first (no exit at all) and
 * the host flushes the others: a hypercall only when one is running.
 *
 * Skipping a flush IPI is only safe when page tables are freed after an
 * RCU grace period: GUP-fast walks them with interrupts off and relies on
 * the IPI otherwise. Both modes are refused unless the kernel frees them
 * through tlb_remove_table() (on 6.1 and 6.12 that is what the kernel's
 * own KVM, Hyper-V and Xen PV flush set up; native x86 frees directly).
 */
#include <linux/cpumask.h>
#include <linux/kallsyms.h>
#include <linux/kvm_para.h>
#include <asm/paravirt.h>
#include <asm/tlbflush.h>
#include "pvscale_guest.h"
#include "pv_check.h"
#include "redirect.h"

typedef void (*pvg_flush_fn)(const struct cpumask *cpus,
			     const struct flush_tlb_info *info);

static struct pvg_redirect pvg_tlb_redirect;
static pvg_flush_fn pvg_tlb_orig;
static unsigned int pvg_tlb_modes;	/* BIT(PVSCALE_F_TLB*) enabled */
static DEFINE_PER_CPU(cpumask_var_t, pvg_tlb_mask);

static void pvg_tlb_call_orig(const struct cpumask *cpus,
			      const struct flush_tlb_info *info)
{
	pvg_redirect_call_original(&pvg_tlb_redirect, pvg_tlb_orig, cpus, info);
}

static bool pvg_tlb_host_offers(struct pvscale_page *pp, unsigned int bit)
{
	return pp && (READ_ONCE(pp->hdr.host_features) & BIT_ULL(bit));
}

/* Defer the flush of every preempted target in @mask to its next entry. */
static void pvg_tlb_skip_preempted(struct cpumask *mask)
{
	struct pvscale_page *pp;
	int cpu, self = smp_processor_id();
	unsigned long deferred = 0;
	u8 state;

	for_each_cpu(cpu, mask) {
		pp = pvg_cpu_page(cpu);
		if (cpu == self || !pvg_tlb_host_offers(pp, PVSCALE_F_TLB))
			continue;
		state = READ_ONCE(pp->tlb.state);
		if (!(state & PVSCALE_TLB_PREEMPTED))
			continue;
		/* Fails if the vCPU got back in: it then gets the IPI. */
		if (try_cmpxchg(&pp->tlb.state, &state,
				state | PVSCALE_TLB_FLUSH)) {
			__cpumask_clear_cpu(cpu, mask);
			deferred++;
		}
	}
	pvg_stat_add(PVG_STAT_TLB_DEFERRED, deferred);
}

/* Fill this CPU's dest set with @mask but self; IRQs off (shared page). */
static long pvg_tlb_hostflush_call(struct pvscale_page *pp,
				   const struct cpumask *mask, u32 first,
				   unsigned int nwords)
{
	int cpu, self = smp_processor_id();
	unsigned long flags;
	long ret;

	local_irq_save(flags);
	memset(pp->dest.bitmap, 0, nwords * sizeof(pp->dest.bitmap[0]));
	for_each_cpu(cpu, mask)
		if (cpu != self)
			__set_bit(cpu_physical_id(cpu) - first,
				  (unsigned long *)pp->dest.bitmap);
	ret = kvm_hypercall2(PVSCALE_HC_FLUSH_TLB, first, nwords);
	local_irq_restore(flags);
	return ret;
}

/* Have the host flush the remote CPUs of @mask; false: nothing was done. */
static bool pvg_tlb_hostflush(const struct cpumask *mask,
			      const struct flush_tlb_info *info)
{
	struct pvscale_page *pp = pvg_this_cpu_page();
	int cpu, self = smp_processor_id();
	u32 first = U32_MAX, last = 0, id;
	unsigned int nwords, targets = 0;

	for_each_cpu(cpu, mask) {
		if (cpu == self)
			continue;
		id = cpu_physical_id(cpu);
		first = min(first, id);
		last = max(last, id);
		targets++;
	}
	if (!targets)
		return false;
	nwords = pvscale_dest_words(first, last);
	if (!nwords || !pvg_tlb_host_offers(pp, PVSCALE_F_TLB_HOSTFLUSH) ||
	    pvg_tlb_hostflush_call(pp, mask, first, nwords)) {
		pvg_stat_inc(PVG_STAT_TLB_FALLBACKS);
		return false;
	}
	if (cpumask_test_cpu(self, mask))
		pvg_tlb_call_orig(cpumask_of(self), info);
	pvg_stat_inc(PVG_STAT_HOSTFLUSH_CALLS);
	pvg_stat_add(PVG_STAT_HOSTFLUSH_TARGETS, targets);
	return true;
}

/* What every flush_tlb_multi() call site reaches; preemption is off. */
static void pvg_tlb_flush_multi(const struct cpumask *cpus,
				const struct flush_tlb_info *info)
{
	unsigned int modes = READ_ONCE(pvg_tlb_modes);
	struct cpumask *mask = this_cpu_cpumask_var_ptr(pvg_tlb_mask);

	pvg_stat_inc(PVG_STAT_TLB_CALLS);
	/* One snapshot: CPUs join mm_cpumask concurrently. */
	cpumask_copy(mask, cpus);
	if (modes & BIT(PVSCALE_F_TLB))
		pvg_tlb_skip_preempted(mask);
	if ((modes & BIT(PVSCALE_F_TLB_HOSTFLUSH)) &&
	    pvg_tlb_hostflush(mask, info))
		return;
	pvg_tlb_call_orig(mask, info);
}

/*
 * pv_ops.mmu.tlb_remove_table is tlb_remove_table() only when page tables
 * are freed through RCU; it is not exported, so compare by name.
 */
static bool pvg_tlb_rcu_table_free(void)
{
	char name[KSYM_SYMBOL_LEN];

	if (!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE))
		return false;
	sprint_symbol_no_offset(name,
				(unsigned long)pv_ops.mmu.tlb_remove_table);
	return !strcmp(name, "tlb_remove_table");
}

static void pvg_tlb_free_masks(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		free_cpumask_var(per_cpu(pvg_tlb_mask, cpu));
}

static int pvg_tlb_start(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		if (!zalloc_cpumask_var_node(per_cpu_ptr(&pvg_tlb_mask, cpu),
					     GFP_KERNEL, cpu_to_node(cpu))) {
			ret = -ENOMEM;
			goto err_masks;
		}
	}
	pvg_tlb_orig = READ_ONCE(pv_ops.mmu.flush_tlb_multi);
	ret = pvg_redirect_enable(&pvg_tlb_redirect, pvg_tlb_orig,
				  pvg_tlb_flush_multi);
	if (ret)
		goto err_masks;
	pr_info("flush_tlb_multi: %ps now reaches pvscale\n", pvg_tlb_orig);
	return 0;

err_masks:
	pvg_tlb_free_masks();
	return ret;
}

static void pvg_tlb_stop(void)
{
	/* Returns once no CPU is left in pvg_tlb_flush_multi(). */
	pvg_redirect_disable(&pvg_tlb_redirect);
	pvg_tlb_free_masks();
	pr_info("flush_tlb_multi: %ps restored\n", pvg_tlb_orig);
}

/* Called under the features lock. */
static int pvg_tlb_mode_on(unsigned int bit)
{
	int ret;

	if (!pvg_tlb_rcu_table_free()) {
		pr_err("refusing PV TLB flush: page tables are not freed through RCU (pv_ops.mmu.tlb_remove_table = %ps) and GUP-fast needs the flush IPI; boot with the kernel's KVM PV TLB flush (QEMU kvm-pv-tlb-flush=on)\n",
		       pv_ops.mmu.tlb_remove_table);
		return -ENODEV;
	}
	if (!pvg_tlb_modes) {
		ret = pvg_tlb_start();
		if (ret)
			return ret;
	}
	WRITE_ONCE(pvg_tlb_modes, pvg_tlb_modes | BIT(bit));
	return 0;
}

static void pvg_tlb_mode_off(unsigned int bit)
{
	WRITE_ONCE(pvg_tlb_modes, pvg_tlb_modes & ~BIT(bit));
	if (!pvg_tlb_modes)
		pvg_tlb_stop();
}

int pvg_tlb_enable(void)
{
	return pvg_tlb_mode_on(PVSCALE_F_TLB);
}

void pvg_tlb_disable(void)
{
	pvg_tlb_mode_off(PVSCALE_F_TLB);
}

int pvg_tlb_hostflush_enable(void)
{
	return pvg_tlb_mode_on(PVSCALE_F_TLB_HOSTFLUSH);
}

void pvg_tlb_hostflush_disable(void)
{
	pvg_tlb_mode_off(PVSCALE_F_TLB_HOSTFLUSH);
}
