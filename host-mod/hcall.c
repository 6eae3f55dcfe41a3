// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM hook, and the one place where guest input is validated.
 *
 * Why a kretprobe on kvm_emulate_hypercall (exported, the VMCALL/VMMCALL
 * exit handler on 6.1 and 6.12) and not an override at its entry: KVM
 * itself answers a number it does not know with -KVM_ENOSYS, after checking
 * CPL 0, counting the hypercall, tracing it and skipping the instruction.
 * We only replace that answer, in the return handler, when the number is
 * ours. So every other hypercall, a CPL 3 caller (-KVM_EPERM) and Xen or
 * Hyper-V guests (their own ABI, never -KVM_ENOSYS) reach KVM untouched,
 * and none of our code runs outside a probe handler, which
 * unregister_kretprobe() waits for: unloading is safe mid-hypercall (the
 * guest then gets KVM's -KVM_ENOSYS, i.e. "not supported").
 *
 * A vCPU in guest mode is running its own nested guest: a VMMCALL KVM
 * handles then (6.12 lets L0 handle Hyper-V's L2 TLB flush hypercall, the
 * number in RCX, with RAX free) is the nested guest's, not the vCPU's, and
 * gets KVM's own answer: pvscale neither answers nor acts for it.
 *
 * Handlers run with preemption disabled in the vCPU thread, inside KVM's
 * SRCU read side: nothing here sleeps (GUP-fast only, GFP_ATOMIC).
 */
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include "pvscale_host.h"
#include "pv_check.h"

struct pvs_hc_call {
	struct kvm_vcpu *vcpu;
	unsigned long nr;
};

static bool pvs_hc_ours(unsigned long nr)
{
	return nr >= PVSCALE_HC_BASE && nr <= PVSCALE_HC_LAST;
}

/* Take a reference on the page at @gpa if it is ordinary writable RAM. */
static int pvs_get_guest_page(struct kvm_vcpu *vcpu, u64 gpa,
			      struct page **page,
			      struct kvm_memory_slot **slot)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	unsigned long hva;

	*slot = gfn_to_memslot(vcpu->kvm, gfn);
	/* No slot is MMIO; internal slots (APIC page, TSS) are KVM's own. */
	if (!*slot || (*slot)->id >= KVM_USER_MEM_SLOTS ||
	    (*slot)->flags & (KVM_MEM_READONLY | KVM_MEMSLOT_INVALID))
		return -PVSCALE_EFAULT;
	hva = gfn_to_hva_memslot(*slot, gfn);
	if (kvm_is_error_hva(hva))
		return -PVSCALE_EFAULT;
	/* Fails on VM_PFNMAP/VM_IO backing and on non-resident pages. */
	if (get_user_pages_fast_only(hva, 1, FOLL_WRITE, page) != 1)
		return -PVSCALE_EAGAIN;
	return 0;
}

static long pvs_hc_register(struct kvm_vcpu *vcpu, u64 gpa)
{
	struct kvm_memory_slot *slot;
	struct pvscale_hdr hdr;
	struct page *page;
	int ret;

	ret = pvscale_check_gpa(gpa, vcpu->arch.maxphyaddr);
	if (ret)
		return ret;
	ret = pvs_get_guest_page(vcpu, gpa, &page, &slot);
	if (ret)
		return ret;
	/* One copy; the guest may keep writing the page, we check the copy. */
	memcpy(&hdr, page_address(page), sizeof(hdr));
	ret = pvscale_check_hdr(&hdr);
	if (!ret)
		ret = pvs_vcpu_attach(vcpu, gpa, page);
	if (ret) {
		put_page(page);
		return ret;
	}
	mark_page_dirty_in_slot(vcpu->kvm, slot, gpa >> PAGE_SHIFT);
	return 0;
}

/*
 * The caller's destination set (IPI, FLUSH_TLB): the window checked, then
 * the words it names copied once into @set. *@nwords is clamped under
 * speculation too: it sizes the copy and every later walk of @set.
 */
static int pvs_hc_read_dest(struct kvm_vcpu *vcpu, unsigned long first,
			    unsigned long *nwords, u64 *set)
{
	int ret = pvscale_check_dest_range(first, *nwords, KVM_MAX_VCPU_IDS);

	if (ret)
		return ret;
	*nwords = array_index_nospec(*nwords - 1, PVSCALE_DEST_WORDS) + 1;
	return pvs_vcpu_read_dest(vcpu, set, *nwords);
}

/*
 * IPI(icr, first, nwords). The sender's local APIC must be KVM's (the
 * delivery goes through it) and enabled, as for a native ICR write.
 */
static long pvs_hc_ipi_checked(struct kvm_vcpu *vcpu, unsigned long icr,
			       unsigned long first, unsigned long nwords)
{
	u64 dest[PVSCALE_DEST_WORDS];
	bool x2apic = vcpu->arch.apic_base & X2APIC_ENABLE;
	int ret;

	if (!pvs_feature_on(PVSCALE_F_IPI) || !vcpu->arch.apic)
		return -PVSCALE_EOPNOTSUPP;
	if (!(vcpu->arch.apic_base & MSR_IA32_APICBASE_ENABLE))
		return -PVSCALE_EINVAL;
	ret = pvscale_check_ipi_icr(icr);
	if (!ret)
		ret = pvs_hc_read_dest(vcpu, first, &nwords, dest);
	if (!ret)
		ret = pvscale_check_dest_set(dest, nwords, first, x2apic ?
					     KVM_MAX_VCPU_IDS :
					     PVSCALE_XAPIC_BROADCAST);
	if (ret)
		return ret;
	return pvs_ipi_send(vcpu, icr, first, dest, nwords);
}

static long pvs_hc_ipi(struct kvm_vcpu *vcpu, unsigned long icr,
		       unsigned long first, unsigned long nwords)
{
	long ret = pvs_hc_ipi_checked(vcpu, icr, first, nwords);

	pvs_stat_inc(PVS_STAT_IPI_CALLS);
	if (ret < 0)
		pvs_stat_inc(PVS_STAT_IPI_REJECTED);
	return ret;
}

static long pvs_hc_flush_tlb(struct kvm_vcpu *vcpu, unsigned long first,
			     unsigned long nwords)
{
	u64 set[PVSCALE_DEST_WORDS];
	long ret;

	if (!pvs_feature_on(PVSCALE_F_TLB_HOSTFLUSH))
		return -PVSCALE_EOPNOTSUPP;
	ret = pvs_hc_read_dest(vcpu, first, &nwords, set);
	if (!ret)
		ret = pvs_tlb_hostflush(vcpu, first, set, nwords);
	return ret;
}

static long pvs_hc_dispatch(struct kvm_vcpu *vcpu, unsigned long nr,
			    const unsigned long *a)
{
	switch (nr) {
	case PVSCALE_HC_PROBE:
		pvs_stat_inc(PVS_STAT_PROBE);
		return PVSCALE_PROBE_RESULT(PVSCALE_ABI_MAJOR, PVSCALE_ABI_MINOR,
					    pvs_offered_features());
	case PVSCALE_HC_REGISTER:
		pvs_stat_inc(PVS_STAT_REGISTER);
		return pvs_hc_register(vcpu, a[0]);
	case PVSCALE_HC_UNREGISTER:
		pvs_stat_inc(PVS_STAT_UNREGISTER);
		return pvs_vcpu_detach(vcpu);
	case PVSCALE_HC_IPI:
		return pvs_hc_ipi(vcpu, a[0], a[1], a[2]);
	case PVSCALE_HC_FLUSH_TLB:
		return pvs_hc_flush_tlb(vcpu, a[0], a[1]);
	default:
		return -PVSCALE_ENOSYS;
	}
}

static int pvs_hc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct pvs_hc_call *c = (struct pvs_hc_call *)ri->data;
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;

	c->vcpu = vcpu;
	c->nr = vcpu->arch.regs[VCPU_REGS_RAX];
	/* Not ours in any mode, or a nested guest's: do not arm the return. */
	return !pvs_hc_ours((u32)c->nr) || pvs_vcpu_in_guest_mode(vcpu);
}

static int pvs_hc_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct pvs_hc_call *c = (struct pvs_hc_call *)ri->data;
	unsigned long *gpr = c->vcpu->arch.regs, *rax = &gpr[VCPU_REGS_RAX];
	unsigned long nr = c->nr, a[] = {
		gpr[VCPU_REGS_RBX], gpr[VCPU_REGS_RCX], gpr[VCPU_REGS_RDX],
	};
	bool op_64_bit;
	long ret;
	int i;

	/*
	 * Only KVM's "unknown hypercall" answer is replaced. Its width tells
	 * the mode: KVM truncates operands and result outside 64-bit mode.
	 */
	if (*rax == (unsigned long)-PVSCALE_ENOSYS)
		op_64_bit = true;
	else if (*rax == (u32)-PVSCALE_ENOSYS)
		op_64_bit = false;
	else
		return 0;
	if (!op_64_bit) {
		nr = (u32)nr;
		for (i = 0; i < ARRAY_SIZE(a); i++)
			a[i] = (u32)a[i];
	}
	if (!pvs_hc_ours(nr))
		return 0;
	ret = pvs_hc_dispatch(c->vcpu, nr, a);
	if (ret < 0)
		pvs_stat_inc(PVS_STAT_REJECTED);
	*rax = op_64_bit ? (unsigned long)ret : (u32)ret;
	return 0;
}

static struct kretprobe pvs_hc_probe = {
	.kp.addr = (kprobe_opcode_t *)kvm_emulate_hypercall,
	.entry_handler = pvs_hc_entry,
	.handler = pvs_hc_return,
	.data_size = sizeof(struct pvs_hc_call),
};

unsigned long pvs_hcall_missed(void)
{
	return pvs_hc_probe.nmissed + pvs_hc_probe.kp.nmissed;
}

int pvs_hcall_init(void)
{
	int ret;

	/* Instances are held only by our own, non-sleeping hypercalls. */
	pvs_hc_probe.maxactive = 64 + 2 * num_possible_cpus();
	ret = register_kretprobe(&pvs_hc_probe);
	if (ret)
		pr_err("cannot hook kvm_emulate_hypercall (%d)\n", ret);
	return ret;
}

void pvs_hcall_exit(void)
{
	unregister_kretprobe(&pvs_hc_probe);
}
