// SPDX-License-Identifier: GPL-2.0
/*
 * PV multicast IPIs (PVSCALE_F_IPI): an IPI to any set of CPUs costs one
 * hypercall, where x2APIC physical mode costs one ICR write (one exit) per
 * destination and KVM's own PV IPI one hypercall per 128 APIC IDs.
 *
 * The kernel reaches the APIC driver's IPI callbacks through struct apic
 * (6.1) or the apic_call_* static calls (6.12); both end in the functions
 * installed in `apic`, so redirect.c takes each of those over and every
 * caller lands here. Not taken over: send_IPI (one destination: a native
 * ICR write is one exit too, and KVM serves x2APIC ICR writes in its exit
 * fastpath, cheaper than a hypercall) and send_IPI_self (no other vCPU).
 *
 * Never lose an IPI: whatever stops the hypercall (NMI context, a set wider
 * than the page's 4096-ID window, a host that toggled the feature off,
 * detached or went away, any error) sends it the kernel's own way instead.
 */
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/kvm_para.h>
#include <linux/lockdep.h>
#include <asm/apic.h>
#include "pvscale_guest.h"
#include "redirect.h"

enum pvg_ipi_hook {
	PVG_IPI_MASK,
	PVG_IPI_MASK_ALLBUTSELF,
	PVG_IPI_ALLBUTSELF,
	PVG_IPI_ALL,
	PVG_NR_IPI_HOOKS,
};

enum pvg_ipi_result {
	PVG_IPI_SENT,		/* one hypercall did it */
	PVG_IPI_NOBODY,		/* empty set: nothing to send */
	PVG_IPI_NATIVE,		/* the caller must use the original */
};

/* The callbacks `apic` had when the feature was enabled. */
static struct {
	void (*mask)(const struct cpumask *mask, int vector);
	void (*mask_allbutself)(const struct cpumask *mask, int vector);
	void (*allbutself)(int vector);
	void (*all)(int vector);
} pvg_orig;
static struct pvg_redirect pvg_ipi_redirects[PVG_NR_IPI_HOOKS];

static u32 pvg_ipi_icr(int vector)
{
	/* As the kernel's x2APIC code (__prepare_ICR): NMI_VECTOR is an NMI. */
	return vector == NMI_VECTOR ? APIC_DM_NMI : APIC_DM_FIXED | vector;
}

/*
 * Write @mask less @skip into this CPU's dest set and send it. @mask may
 * gain CPUs between the two walks (cpu_online_mask does as CPUs come up):
 * one outside the window the first walk chose, below it too (the
 * subtraction wraps), sends the whole set the native way instead of
 * setting a bit outside the set, or the page.
 */
static enum pvg_ipi_result pvg_ipi_hypercall(struct pvscale_page *pp,
					     const struct cpumask *mask,
					     int vector, unsigned int skip)
{
	u32 lo = U32_MAX, hi = 0, id, first, nwords;
	unsigned int cpu;

	for_each_cpu(cpu, mask) {
		if (cpu == skip)
			continue;
		id = per_cpu(x86_cpu_to_apicid, cpu);
		lo = min(lo, id);
		hi = max(hi, id);
	}
	if (lo > hi)
		return PVG_IPI_NOBODY;
	/* A word-aligned window keeps first + 64 * nwords within the host's IDs. */
	first = round_down(lo, 64);
	nwords = (hi - first) / 64 + 1;
	if (nwords > PVSCALE_DEST_WORDS)
		return PVG_IPI_NATIVE;
	memset(pp->dest.bitmap, 0, nwords * sizeof(u64));
	for_each_cpu(cpu, mask) {
		if (cpu == skip)
			continue;
		id = per_cpu(x86_cpu_to_apicid, cpu) - first;
		if (id >= nwords * 64)
			return PVG_IPI_NATIVE;
		__set_bit(id, (unsigned long *)pp->dest.bitmap);
	}
	if (kvm_hypercall3(PVSCALE_HC_IPI, pvg_ipi_icr(vector), first,
			   nwords) < 0)
		return PVG_IPI_NATIVE;
	return PVG_IPI_SENT;
}

/*
 * Send @vector to @mask less @skip (nr_cpu_ids: nobody skipped). Returns
 * false when the caller must send it the kernel's own way.
 */
static bool pvg_ipi_send(const struct cpumask *mask, int vector,
			 unsigned int skip)
{
	enum pvg_ipi_result res = PVG_IPI_NATIVE;
	struct pvscale_page *pp;
	unsigned long flags;

	/* The kernel calls these with preemption off; unloading relies on it. */
	lockdep_assert_preemption_disabled();
	/* An NMI may have interrupted this CPU filling its set: hands off. */
	if (!in_nmi()) {
		/* Irqs off: no interrupt handler's IPI rewrites the set. */
		local_irq_save(flags);
		pp = pvg_this_cpu_page();
		if (pp && (READ_ONCE(pp->hdr.host_features) & BIT(PVSCALE_F_IPI)))
			res = pvg_ipi_hypercall(pp, mask, vector, skip);
		local_irq_restore(flags);
	}
	if (res == PVG_IPI_SENT)
		pvg_stat_inc(PVG_STAT_PV_IPI_SENDS);
	else if (res == PVG_IPI_NATIVE)
		pvg_stat_inc(PVG_STAT_IPI_FALLBACKS);
	return res != PVG_IPI_NATIVE;
}

static void pvg_send_IPI_mask(const struct cpumask *mask, int vector)
{
	if (!pvg_ipi_send(mask, vector, nr_cpu_ids))
		pvg_redirect_call_original(&pvg_ipi_redirects[PVG_IPI_MASK],
					   pvg_orig.mask, mask, vector);
}

static void pvg_send_IPI_mask_allbutself(const struct cpumask *mask,
					 int vector)
{
	if (!pvg_ipi_send(mask, vector, smp_processor_id()))
		pvg_redirect_call_original(&pvg_ipi_redirects[PVG_IPI_MASK_ALLBUTSELF],
					   pvg_orig.mask_allbutself, mask,
					   vector);
}

/* The shorthand callbacks: every online CPU, as the APIC shorthands do. */
static void pvg_send_IPI_allbutself(int vector)
{
	if (!pvg_ipi_send(cpu_online_mask, vector, smp_processor_id()))
		pvg_redirect_call_original(&pvg_ipi_redirects[PVG_IPI_ALLBUTSELF],
					   pvg_orig.allbutself, vector);
}

static void pvg_send_IPI_all(int vector)
{
	if (!pvg_ipi_send(cpu_online_mask, vector, nr_cpu_ids))
		pvg_redirect_call_original(&pvg_ipi_redirects[PVG_IPI_ALL],
					   pvg_orig.all, vector);
}

void pvg_ipi_disable(void)
{
	int i;

	for (i = PVG_NR_IPI_HOOKS - 1; i >= 0; i--)
		pvg_redirect_disable(&pvg_ipi_redirects[i]);
}

int pvg_ipi_enable(void)
{
	void *target[PVG_NR_IPI_HOOKS], *replacement[PVG_NR_IPI_HOOKS] = {
		[PVG_IPI_MASK] = pvg_send_IPI_mask,
		[PVG_IPI_MASK_ALLBUTSELF] = pvg_send_IPI_mask_allbutself,
		[PVG_IPI_ALLBUTSELF] = pvg_send_IPI_allbutself,
		[PVG_IPI_ALL] = pvg_send_IPI_all,
	};
	int i, j, ret;

	pvg_orig.mask = apic->send_IPI_mask;
	pvg_orig.mask_allbutself = apic->send_IPI_mask_allbutself;
	pvg_orig.allbutself = apic->send_IPI_allbutself;
	pvg_orig.all = apic->send_IPI_all;
	target[PVG_IPI_MASK] = pvg_orig.mask;
	target[PVG_IPI_MASK_ALLBUTSELF] = pvg_orig.mask_allbutself;
	target[PVG_IPI_ALLBUTSELF] = pvg_orig.allbutself;
	target[PVG_IPI_ALL] = pvg_orig.all;
	for (i = 0; i < PVG_NR_IPI_HOOKS; i++) {
		/* One function in two slots: its first takeover serves both. */
		for (j = 0; j < i && target[j] != target[i]; j++)
			;
		if (j < i)
			continue;
		ret = pvg_redirect_enable(&pvg_ipi_redirects[i], target[i],
					  replacement[i]);
		if (ret) {
			pvg_ipi_disable();
			return ret;
		}
	}
	pr_info("IPIs: taking over %ps, %ps, %ps, %ps\n", target[0], target[1],
		target[2], target[3]);
	return 0;
}
