// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM and per-vCPU registry: which vCPU registered which page, and the
 * hooks that free a registration when KVM destroys its vCPU or VM.
 *
 * Every entry point can run in atomic context (kprobe and kretprobe
 * handlers), so writers take a spinlock and allocate with GFP_ATOMIC, charged
 * to the VMM's memory cgroup (__GFP_ACCOUNT: REGISTER runs in its vCPU
 * thread). The vCPU lookup is also done from KVM's scheduler hooks (tlb.c),
 * where the scheduler's own locks are held and a vCPU kick under pvs_lock
 * would deadlock against them: it is lock-free, under RCU, and an entry and
 * its page reference are freed only after a grace period.
 *
 * A guest decides how often it registers and unregisters, so what it can
 * make the host hold is bounded per VM: registrations still waiting for
 * their grace period count against the VM (pvs_vm.refs), and REGISTER
 * answers -PVSCALE_EAGAIN while there are more than PVS_RETIRING_MAX(kvm).
 * A VM's own entry lives from its first REGISTER until KVM destroys the VM
 * (or the module goes), and after every registration it had is freed:
 * nothing a guest does allocates or frees it.
 *
 * A registration holds a reference on the guest page (taken with GUP in
 * hcall.c) and writes it through the kernel's direct map, which stays valid
 * even if the VM's memory is unmapped: a registration can never write into
 * memory that is not the guest's own page.
 *
 * The kvm pointer is an identity only. The kvm_vcpu is dereferenced by the
 * vCPU's own hypercall and, when a detach finds a TLB flush still pending
 * for it, by the detach path: the destruction hooks below take pvs_lock
 * before KVM frees a vCPU, so every vCPU in the registry is alive.
 */
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "pvscale_host.h"

struct pvs_vm {
	struct hlist_node node;		/* pvs_vms, keyed by kvm */
	struct kvm *kvm;
	pid_t pid;
	struct list_head vcpus;
	unsigned int nr_vcpus;		/* registered now */
	atomic_t refs;			/* 1 while hashed, + 1 per entry retiring */
};

/* Registrations of one VM that may wait for a grace period at a time. */
#define PVS_RETIRING_MAX(kvm)	(64 + 2 * atomic_read(&(kvm)->online_vcpus))
#define PVS_GFP			(GFP_ATOMIC | __GFP_ACCOUNT | __GFP_NOWARN)

struct pvs_vcpu {
	struct hlist_node node;		/* pvs_vcpus, keyed by vcpu */
	struct list_head vm_link;
	struct pvs_vm *vm;
	struct kvm_vcpu *vcpu;
	u32 vcpu_id;
	u64 gpa;
	struct page *page;
	bool dying;			/* detach started: features let go */
	struct rcu_head rcu;
};

static DEFINE_SPINLOCK(pvs_lock);
static DEFINE_HASHTABLE(pvs_vms, 6);
static DEFINE_HASHTABLE(pvs_vcpus, 8);
static unsigned int nr_vms, nr_vcpus;

static struct pvscale_hdr *pvs_hdr(struct pvs_vcpu *v)
{
	return &((struct pvscale_page *)page_address(v->page))->hdr;
}

static struct pvs_vm *pvs_vm_find(struct kvm *kvm)
{
	struct pvs_vm *vm;

	hash_for_each_possible(pvs_vms, vm, node, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/* Under pvs_lock or rcu_read_lock(). */
static struct pvs_vcpu *pvs_vcpu_find(struct kvm_vcpu *vcpu)
{
	struct pvs_vcpu *v;

	hash_for_each_possible_rcu(pvs_vcpus, v, node, (unsigned long)vcpu,
				   lockdep_is_held(&pvs_lock))
		if (v->vcpu == vcpu)
			return v;
	return NULL;
}

/*
 * The page @vcpu registered, or NULL, for readers in atomic context: call
 * under rcu_read_lock(); the page stays valid until rcu_read_unlock().
 * *@live turns false as soon as a detach starts; the entry is still found
 * until every feature has let go of the page (pvs_vcpu_unlink()).
 */
struct pvscale_page *pvs_vcpu_page_rcu(struct kvm_vcpu *vcpu, bool *live)
{
	struct pvs_vcpu *v = pvs_vcpu_find(vcpu);

	*live = v && !READ_ONCE(v->dying);
	return v ? page_address(v->page) : NULL;
}

/* By page, not address: two memslots may alias the same memory. */
static bool pvs_page_taken(struct pvs_vm *vm, struct page *page)
{
	struct pvs_vcpu *v;

	list_for_each_entry(v, &vm->vcpus, vm_link)
		if (v->page == page)
			return true;
	return false;
}

/* Publish the host's side of the header; the guest reads state last. */
static void pvs_hdr_attach(struct pvs_vcpu *v)
{
	struct pvscale_hdr *h = pvs_hdr(v);

	WRITE_ONCE(h->host_abi_major, PVSCALE_ABI_MAJOR);
	WRITE_ONCE(h->host_abi_minor, PVSCALE_ABI_MINOR);
	WRITE_ONCE(h->vcpu_id, v->vcpu_id);
	WRITE_ONCE(h->host_features, pvs_offered_features());
	WRITE_ONCE(h->generation, h->generation + 1);
	smp_wmb();
	WRITE_ONCE(h->host_state, PVSCALE_HOST_ATTACHED);
}

static void pvs_hdr_detach(struct pvs_vcpu *v)
{
	struct pvscale_hdr *h = pvs_hdr(v);

	WRITE_ONCE(h->host_state, 0);
	smp_wmb();
	WRITE_ONCE(h->host_features, 0);
	WRITE_ONCE(h->generation, h->generation + 1);
}

/* A toggle changed what the host offers: tell every registered page. */
void pvs_vm_publish_features(u32 features)
{
	struct pvscale_hdr *h;
	struct pvs_vcpu *v;
	int bkt;

	spin_lock(&pvs_lock);
	hash_for_each(pvs_vcpus, bkt, v, node) {
		h = pvs_hdr(v);
		WRITE_ONCE(h->host_features, features);
		WRITE_ONCE(h->generation, h->generation + 1);
		pvs_tlb_publish(v->vcpu, page_address(v->page), features);
	}
	spin_unlock(&pvs_lock);
}

static void pvs_vm_put(struct pvs_vm *vm)
{
	if (atomic_dec_and_test(&vm->refs))
		kfree(vm);
}

/*
 * Unlink one registration; the caller holds pvs_lock and then releases it
 * (pvs_vcpu_release). The features let go of the page while the scheduler
 * hooks can still find the entry, so a vCPU never runs with a flush pending
 * that nobody honours. @tell_guest: as for pvs_vcpu_release.
 */
static void pvs_vcpu_unlink(struct pvs_vcpu *v, bool tell_guest)
{
	struct pvs_vm *vm = v->vm;

	WRITE_ONCE(v->dying, true);
	if (tell_guest)
		pvs_tlb_detach(v->vcpu, page_address(v->page));
	hash_del_rcu(&v->node);
	list_del(&v->vm_link);
	nr_vcpus--;
	if (--vm->nr_vcpus == 0)
		nr_vms--;
	/* The VM's entry outlives the grace period this one waits for. */
	atomic_inc(&vm->refs);
}

static void pvs_vcpu_free(struct rcu_head *rcu)
{
	struct pvs_vcpu *v = container_of(rcu, struct pvs_vcpu, rcu);

	put_page(v->page);
	pvs_vm_put(v->vm);
	kfree(v);
}

/*
 * Lock-free readers may still hold the page: free after a grace period.
 * @tell_guest: clear the header (not after a reset: the page may be reused).
 */
static void pvs_vcpu_release(struct pvs_vcpu *v, bool tell_guest)
{
	if (tell_guest)
		pvs_hdr_detach(v);
	call_rcu(&v->rcu, pvs_vcpu_free);
}

/* The entry of @kvm, created if needed; under pvs_lock, which it may drop. */
static struct pvs_vm *pvs_vm_get(struct kvm *kvm)
{
	struct pvs_vm *vm = pvs_vm_find(kvm), *new_vm;

	if (vm)
		return vm;
	spin_unlock(&pvs_lock);
	new_vm = kzalloc(sizeof(*new_vm), PVS_GFP);
	spin_lock(&pvs_lock);
	vm = pvs_vm_find(kvm);
	if (vm || !new_vm) {
		kfree(new_vm);
		return vm;
	}
	new_vm->kvm = kvm;
	INIT_LIST_HEAD(&new_vm->vcpus);
	atomic_set(&new_vm->refs, 1);
	hash_add(pvs_vms, &new_vm->node, (unsigned long)kvm);
	return new_vm;
}

/* Whether @vcpu may register @page in @vm now; under pvs_lock. */
static int pvs_vcpu_may_attach(struct pvs_vm *vm, struct kvm_vcpu *vcpu,
			       struct page *page)
{
	if (pvs_vcpu_find(vcpu))
		return -PVSCALE_EEXIST;
	if (pvs_page_taken(vm, page))
		return -PVSCALE_EBUSY;
	if (atomic_read(&vm->refs) - 1 >= PVS_RETIRING_MAX(vcpu->kvm))
		return -PVSCALE_EAGAIN;
	return 0;
}

/*
 * Register @page (already validated, referenced by the caller) for @vcpu.
 * On failure the caller keeps its page reference.
 */
int pvs_vcpu_attach(struct kvm_vcpu *vcpu, u64 gpa, struct page *page)
{
	struct pvs_vcpu *v = kzalloc(sizeof(*v), PVS_GFP);
	struct pvs_vm *vm;
	int ret;

	if (!v)
		return -PVSCALE_ENOMEM;
	spin_lock(&pvs_lock);
	vm = pvs_vm_get(vcpu->kvm);
	ret = vm ? pvs_vcpu_may_attach(vm, vcpu, page) : -PVSCALE_ENOMEM;
	if (ret)
		goto out_unlock;
	if (vm->nr_vcpus++ == 0) {
		vm->pid = vcpu->kvm->userspace_pid;
		nr_vms++;
	}
	v->vm = vm;
	v->vcpu = vcpu;
	v->vcpu_id = vcpu->vcpu_id;
	v->gpa = gpa;
	v->page = page;
	hash_add_rcu(pvs_vcpus, &v->node, (unsigned long)vcpu);
	list_add_tail(&v->vm_link, &vm->vcpus);
	nr_vcpus++;
	pvs_hdr_attach(v);
	v = NULL;
out_unlock:
	spin_unlock(&pvs_lock);
	kfree(v);
	return ret;
}

static int pvs_vcpu_forget(struct kvm_vcpu *vcpu, bool tell_guest)
{
	struct pvs_vcpu *v;

	spin_lock(&pvs_lock);
	v = pvs_vcpu_find(vcpu);
	if (v)
		pvs_vcpu_unlink(v, tell_guest);
	spin_unlock(&pvs_lock);
	if (!v)
		return -PVSCALE_ENOENT;
	pvs_vcpu_release(v, tell_guest);
	return 0;
}

int pvs_vcpu_detach(struct kvm_vcpu *vcpu)
{
	return pvs_vcpu_forget(vcpu, true);
}

/*
 * Copy the first @nwords (<= PVSCALE_DEST_WORDS) of @vcpu's destination set,
 * each word read once: the caller validates the copy, never the page.
 */
int pvs_vcpu_read_dest(struct kvm_vcpu *vcpu, u64 *dst, unsigned int nwords)
{
	const struct pvscale_page *pp;
	struct pvs_vcpu *v;
	unsigned int i;

	rcu_read_lock();
	v = pvs_vcpu_find(vcpu);
	if (v) {
		pp = page_address(v->page);
		for (i = 0; i < nwords; i++)
			dst[i] = READ_ONCE(pp->dest.bitmap[i]);
	}
	rcu_read_unlock();
	return v ? 0 : -PVSCALE_ENOENT;
}

/*
 * Detach every vCPU of @vm and forget the VM; the caller holds pvs_lock and
 * drops the reference the table held (pvs_vm_put) once it has let go.
 */
static void pvs_vm_detach_all(struct pvs_vm *vm)
{
	struct pvs_vcpu *v, *tmp;

	list_for_each_entry_safe(v, tmp, &vm->vcpus, vm_link) {
		pvs_vcpu_unlink(v, true);
		pvs_vcpu_release(v, true);
	}
	hash_del(&vm->node);
}

static int pvs_vcpu_destroy_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;

	if (!pvs_vcpu_detach(vcpu))
		pvs_stat_inc(PVS_STAT_VCPU_DESTROYED);
	return 0;
}

/*
 * A vCPU reset by INIT (a reboot, kexec or crash of its guest that did not
 * unregister): the page now belongs to whatever runs next, so the host
 * forgets it without writing to it. The vCPU's own thread runs this, so
 * nothing of this vCPU's is in flight.
 */
static int pvs_vcpu_reset_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;

	if (!pvs_vcpu_forget(vcpu, false))
		pvs_stat_inc(PVS_STAT_VCPU_RESET);
	return 0;
}

static int pvs_vm_destroy_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs->di;
	struct pvs_vm *vm;

	spin_lock(&pvs_lock);
	vm = pvs_vm_find(kvm);
	if (vm && vm->nr_vcpus)
		pvs_stat_inc(PVS_STAT_VM_DESTROYED);
	if (vm)
		pvs_vm_detach_all(vm);
	spin_unlock(&pvs_lock);
	if (vm)
		pvs_vm_put(vm);
	return 0;
}

/*
 * KVM has no notifier for vCPU or VM destruction; these two functions are
 * where x86 KVM tears them down (kvm_arch_destroy_vm runs before the vCPUs
 * are freed), on both 6.1 and 6.12. kvm_vcpu_reset (exported) runs on
 * vCPU creation and on INIT.
 */
static struct kprobe pvs_kp_vcpu_destroy = {
	.symbol_name = "kvm_arch_vcpu_destroy",
	.pre_handler = pvs_vcpu_destroy_pre,
};

static struct kprobe pvs_kp_vm_destroy = {
	.symbol_name = "kvm_arch_destroy_vm",
	.pre_handler = pvs_vm_destroy_pre,
};

static struct kprobe pvs_kp_vcpu_reset = {
	.symbol_name = "kvm_vcpu_reset",
	.pre_handler = pvs_vcpu_reset_pre,
};

static struct kprobe *pvs_kps[] = {
	&pvs_kp_vcpu_destroy, &pvs_kp_vm_destroy, &pvs_kp_vcpu_reset,
};

unsigned int pvs_nr_vms(void)
{
	return READ_ONCE(nr_vms);
}

unsigned int pvs_nr_vcpus(void)
{
	return READ_ONCE(nr_vcpus);
}

unsigned long pvs_vm_missed(void)
{
	return pvs_kp_vcpu_destroy.nmissed + pvs_kp_vm_destroy.nmissed +
	       pvs_kp_vcpu_reset.nmissed;
}

void pvs_vm_show(struct seq_file *m)
{
	struct pvs_vcpu *v;
	int bkt;

	spin_lock(&pvs_lock);
	hash_for_each(pvs_vcpus, bkt, v, node)
		seq_printf(m, "pid=%d vcpu=%u gpa=%#llx\n", v->vm->pid,
			   v->vcpu_id, v->gpa);
	spin_unlock(&pvs_lock);
}

int pvs_vm_init(void)
{
	int ret = register_kprobes(pvs_kps, ARRAY_SIZE(pvs_kps));

	if (ret)
		pr_err("cannot hook KVM vCPU reset/destruction (%d): is kvm loaded?\n",
		       ret);
	return ret;
}

/* Called once no hypercall can register anything any more. */
void pvs_vm_exit(void)
{
	struct pvs_vm *vm;
	struct hlist_node *tmp;
	int bkt;

	spin_lock(&pvs_lock);
	hash_for_each_safe(pvs_vms, bkt, tmp, vm, node) {
		pvs_vm_detach_all(vm);
		pvs_vm_put(vm);
	}
	spin_unlock(&pvs_lock);
	unregister_kprobes(pvs_kps, ARRAY_SIZE(pvs_kps));
	/* The RCU callbacks are this module's code. */
	rcu_barrier();
}
