// SPDX-License-Identifier: GPL-2.0
/*
 * PV multicast IPIs (PVSCALE_F_IPI): one hypercall carries any destination
 * set; each destination gets it through KVM's own local APIC emulation,
 * kvm_apic_send_ipi(), exactly as if the sender had written the ICR with
 * that physical destination: the same posted-interrupt, wake-up and
 * tracing paths, and an ID with no vCPU is dropped the same way.
 *
 * The cost is bounded by the VM's size, not by the set's: IDs from 256 up
 * are x2APIC IDs, which KVM fixes to the vCPU's vcpu_id, so one walk over
 * the vCPUs finds every one of them that exists; each delivery is then one
 * lookup in KVM's APIC map. Only IDs below 256 are delivered one by one,
 * at most 256 of them, because an xAPIC ID there is writable by the guest
 * and KVM matches it, not vcpu_id.
 *
 * hcall.c has validated everything: a fixed or NMI ICR with no shorthand
 * and physical destination mode, IDs below KVM's limit (and below the
 * xAPIC broadcast address for an xAPIC sender). Runs in the sender vCPU's
 * thread, atomic, under kvm->srcu, like KVM's ICR write fastpath.
 */
#include <linux/nospec.h>
#include "pvscale_host.h"

enum {
	PVS_IPI_XAPIC_IDS	= 256,	/* IDs an xAPIC ID register can hold */
};

static void pvs_ipi_one(struct kvm_vcpu *vcpu, u32 icr, u32 id)
{
	bool x2apic = vcpu->arch.apic_base & X2APIC_ENABLE;

	id = array_index_nospec(id, KVM_MAX_VCPU_IDS);
	/* ICR high: x2APIC takes the whole ID, xAPIC bits 31:24. */
	kvm_apic_send_ipi(vcpu->arch.apic, icr, x2apic ? id : id << 24);
}

/* Returns the number of IDs in the set, as a native ICR write per ID. */
long pvs_ipi_send(struct kvm_vcpu *vcpu, u32 icr, u32 first, const u64 *dest,
		  unsigned int nwords)
{
	const unsigned long *set = (const unsigned long *)dest;
	unsigned int nbits = nwords * 64, low = 0;
	long n = bitmap_weight(set, nbits);
	struct kvm_vcpu *t;
	unsigned long bit, i;

	if (first < PVS_IPI_XAPIC_IDS)
		low = min(nbits, PVS_IPI_XAPIC_IDS - first);
	for_each_set_bit(bit, set, low)
		pvs_ipi_one(vcpu, icr, first + bit);
	if (low < nbits) {
		kvm_for_each_vcpu(i, t, vcpu->kvm) {
			bit = t->vcpu_id - first;
			if (bit >= low && bit < nbits &&
			    test_bit(array_index_nospec(bit, nbits), set))
				pvs_ipi_one(vcpu, icr, t->vcpu_id);
		}
	}
	pvs_stat_add(PVS_STAT_IPI_TARGETS, n);
	return n;
}
