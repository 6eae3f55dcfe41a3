// SPDX-License-Identifier: GPL-2.0
/*
 * PV multicast IPIs (PVSCALE_F_IPI): one hypercall carries any destination
 * set; each destination gets it through KVM's own local APIC emulation,
 * kvm_apic_send_ipi(), exactly as if the sender had written the ICR with
 * that physical destination: the same posted-interrupt, wake-up and
 * tracing paths, and an ID with no vCPU is dropped the same way.
 *
 * hcall.c has validated everything: a fixed or NMI ICR with no shorthand
 * and physical destination mode, IDs below KVM's limit (and below the
 * xAPIC broadcast address for an xAPIC sender). Runs in the sender vCPU's
 * thread, atomic, under kvm->srcu, like KVM's ICR write fastpath.
 */
#include <linux/nospec.h>
#include "pvscale_host.h"

long pvs_ipi_send(struct kvm_vcpu *vcpu, u32 icr, u32 first, const u64 *dest,
		  unsigned int nwords)
{
	bool x2apic = vcpu->arch.apic_base & X2APIC_ENABLE;
	unsigned long bit;
	long n = 0;
	u32 id;

	for_each_set_bit(bit, (const unsigned long *)dest, nwords * 64) {
		id = array_index_nospec(first + bit, KVM_MAX_VCPU_IDS);
		/* ICR high: x2APIC takes the whole ID, xAPIC bits 31:24. */
		kvm_apic_send_ipi(vcpu->arch.apic, icr, x2apic ? id : id << 24);
		n++;
	}
	pvs_stat_add(PVS_STAT_IPI_TARGETS, n);
	return n;
}
