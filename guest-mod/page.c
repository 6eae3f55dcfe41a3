// SPDX-License-Identifier: GPL-2.0
/*
 * One pvscale page per online vCPU, registered by that vCPU itself.
 *
 * The host keeps writing a registered page until it is unregistered, so
 * every way a CPU or the kernel stops using its memory unregisters first:
 * CPU offline (cpuhp teardown), module unload (cpuhp state removal),
 * reboot, halt and kexec (reboot notifier), suspend (syscore ops, on the
 * last CPU; the others went offline through cpuhp). A crash dump kernel
 * runs in its own reserved memory, so host writes into the crashed
 * kernel's pages cannot hurt it.
 */
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>
#include "pvscale_guest.h"

enum {
	PVG_REGISTER_TRIES = 4,	/* -PVSCALE_EAGAIN: host page not resident */
};

static DEFINE_PER_CPU(struct pvscale_page *, pvg_page);
static struct cpumask pvg_registered;
/* CPUs whose page the host may still write: never freed (pvg_host_may_write). */
static struct cpumask pvg_kept;
static enum cpuhp_state pvg_hp_state;

static void pvg_hdr_init(struct pvscale_page *pp)
{
	memset(pp, 0, sizeof(*pp));
	pp->hdr.magic = PVSCALE_MAGIC;
	pp->hdr.abi_major = PVSCALE_ABI_MAJOR;
	pp->hdr.abi_minor = PVSCALE_ABI_MINOR;
	pp->hdr.size = PVSCALE_PAGE_SIZE;
	pp->hdr.guest_features = pvg_enabled_features();
}

/* Runs on the CPU whose page it registers. */
static void pvg_register_this_cpu(void)
{
	struct pvscale_page *pp = this_cpu_read(pvg_page);
	long ret = -PVSCALE_EAGAIN;
	int i;

	for (i = 0; i < PVG_REGISTER_TRIES && ret == -PVSCALE_EAGAIN; i++) {
		/* (Re)writing the header also faults the page back in. */
		pvg_hdr_init(pp);
		ret = kvm_hypercall1(PVSCALE_HC_REGISTER, __pa(pp));
	}
	if (ret) {
		pr_warn("cpu%d: host refused page registration (%ld)\n",
			smp_processor_id(), ret);
		return;
	}
	cpumask_set_cpu(smp_processor_id(), &pvg_registered);
	cpumask_clear_cpu(smp_processor_id(), &pvg_kept);
}

/*
 * Whether the host may still write @pp after UNREGISTER answered @ret:
 * -ENOENT says it does not know the page; -ENOSYS says pvscale_host is
 * not answering, which is safe only if it also detached the page (as it
 * does on unload), not if it merely missed the call.
 */
static bool pvg_host_may_write(struct pvscale_page *pp, long ret)
{
	if (!ret || ret == -PVSCALE_ENOENT)
		return false;
	if (ret == -PVSCALE_ENOSYS)
		return READ_ONCE(pp->hdr.host_state) & PVSCALE_HOST_ATTACHED;
	return true;
}

static void pvg_unregister_this_cpu(void *unused)
{
	int cpu = smp_processor_id();
	long ret;

	if (!cpumask_test_cpu(cpu, &pvg_registered))
		return;
	ret = kvm_hypercall0(PVSCALE_HC_UNREGISTER);
	if (pvg_host_may_write(this_cpu_read(pvg_page), ret)) {
		pr_warn("cpu%d: unregister failed (%ld); its page is never freed, the host may still write it\n",
			cpu, ret);
		cpumask_set_cpu(cpu, &pvg_kept);
	}
	cpumask_clear_cpu(cpu, &pvg_registered);
}

static int pvg_cpu_online(unsigned int cpu)
{
	struct page *page;

	if (!per_cpu(pvg_page, cpu)) {
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		per_cpu(pvg_page, cpu) = page_address(page);
	}
	pvg_register_this_cpu();
	/* A refused registration leaves this CPU without pvscale, online. */
	return 0;
}

static int pvg_cpu_offline(unsigned int cpu)
{
	pvg_unregister_this_cpu(NULL);
	return 0;
}

static int pvg_reboot(struct notifier_block *nb, unsigned long code, void *v)
{
	on_each_cpu(pvg_unregister_this_cpu, NULL, 1);
	return NOTIFY_DONE;
}

static struct notifier_block pvg_reboot_nb = {
	.notifier_call = pvg_reboot,
};

static int pvg_suspend(PVS_SYSCORE_ARG)
{
	pvg_unregister_this_cpu(NULL);
	return 0;
}

static void pvg_resume(PVS_SYSCORE_ARG)
{
	pvg_register_this_cpu();
}

static struct syscore_ops pvg_syscore_ops = {
	.suspend = pvg_suspend,
	.resume = pvg_resume,
};
static PVS_DEFINE_SYSCORE(pvg_syscore, pvg_syscore_ops);

const struct cpumask *pvg_registered_cpus(void)
{
	return &pvg_registered;
}

/* CPUs whose page the host currently serves. */
void pvg_attached_cpus(struct cpumask *mask)
{
	int cpu;

	for_each_cpu(cpu, &pvg_registered)
		if (READ_ONCE(per_cpu(pvg_page, cpu)->hdr.host_state) &
		    PVSCALE_HOST_ATTACHED)
			cpumask_set_cpu(cpu, mask);
}

/* What the host offers now, read from the first attached page. */
u64 pvg_host_features(void)
{
	struct pvscale_hdr *h;
	int cpu;

	for_each_cpu(cpu, &pvg_registered) {
		h = &per_cpu(pvg_page, cpu)->hdr;
		if (READ_ONCE(h->host_state) & PVSCALE_HOST_ATTACHED) {
			smp_rmb();
			return READ_ONCE(h->host_features);
		}
	}
	return 0;
}

static void pvg_free_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(pvg_page, cpu) && !cpumask_test_cpu(cpu, &pvg_kept))
			free_page((unsigned long)per_cpu(pvg_page, cpu));
		per_cpu(pvg_page, cpu) = NULL;
	}
}

/* Tell the host, in every registered page, which features are in use. */
void pvg_publish_features(u32 enabled)
{
	int cpu;

	for_each_cpu(cpu, &pvg_registered)
		WRITE_ONCE(per_cpu(pvg_page, cpu)->hdr.guest_features, enabled);
}

/* This CPU's registered page, or NULL; call with preemption disabled. */
struct pvscale_page *pvg_this_cpu_page(void)
{
	return pvg_cpu_page(smp_processor_id());
}

struct pvscale_page *pvg_cpu_page(int cpu)
{
	return cpumask_test_cpu(cpu, &pvg_registered) ?
	       per_cpu(pvg_page, cpu) : NULL;
}

int pvg_pages_init(void)
{
	int ret;

	ret = register_reboot_notifier(&pvg_reboot_nb);
	if (ret)
		return ret;
	pvs_register_syscore(&pvg_syscore);
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvscale/guest:online",
				pvg_cpu_online, pvg_cpu_offline);
	if (ret < 0)
		goto err_notifiers;
	pvg_hp_state = ret;
	return 0;

err_notifiers:
	pvs_unregister_syscore(&pvg_syscore);
	unregister_reboot_notifier(&pvg_reboot_nb);
	pvg_free_pages();
	return ret;
}

void pvg_pages_exit(void)
{
	cpuhp_remove_state(pvg_hp_state);
	pvs_unregister_syscore(&pvg_syscore);
	unregister_reboot_notifier(&pvg_reboot_nb);
	pvg_free_pages();
}
