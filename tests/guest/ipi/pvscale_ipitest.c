// SPDX-License-Identifier: GPL-2.0
/*
 * pvscale_ipitest: an L2 test and benchmark module for multicast IPIs. It
 * sends through the kernel's real callers (smp_call_function_many reaches
 * the APIC driver through struct apic on 6.1 and static calls on 6.12) and
 * counts what arrives; it works the same with or without pvscale_guest, so
 * a test can compare. Files in /sys/kernel/debug/pvscale_ipitest/:
 *
 *   callfunc  read: every online CPU in turn sends `iters` call-function
 *             IPIs with wait to all others (broadcast) and to every other
 *             one of them (multicast); prints per-CPU handler runs against
 *             the expected number and "callfunc ok" or "callfunc FAIL".
 *   resched   read: CPU 0 sends `iters` reschedule IPIs to all other online
 *             CPUs through apic->send_IPI_mask (the kernel itself only
 *             sends single reschedule IPIs): RES in /proc/interrupts rises.
 *   bcast, mcast
 *             read: CPU 0 times `iters` smp_call_function_many with wait
 *             to all other CPUs (bcast) or to the odd-numbered ones
 *             (mcast); prints "<name> iters=N targets=T ns_per_ipi=X".
 *             iters=0 runs the same code with no IPI (for subtracting
 *             exits that are not the IPIs').
 *   msend     read: CPU 0 sends `iters` call-function IPIs with no work
 *             queued (the targets find their queue empty; the vector is
 *             the one the suite counts exits of) to the odd-numbered CPUs
 *             through apic->send_IPI_mask, timing each send alone:
 *             the sender's cost of a multicast (its exits), without the
 *             targets' wake-up and handler that a call with wait also
 *             times. Prints "msend iters=N targets=T ns_per_ipi=X", X the
 *             median send.
 *   allbutself
 *             read: the reading CPU (pin it: taskset) sends `iters`
 *             call-function IPIs with no work queued through
 *             apic->send_IPI_allbutself, the shorthand callback, whose
 *             set is the live online mask. Preemption is off for each
 *             send only, so CPU hotplug (stop_machine) runs in between.
 *             Prints "allbutself iters=N from=CPUS".
 *   maskgrow  read: the reading CPU (pin it) sends `iters` call-function
 *             IPIs with no work queued through apic->send_IPI_mask to the
 *             other online CPUs but the one with the lowest APIC ID, and a
 *             kprobe adds that one to the set during each send, once the
 *             callback's first walk of the set is past it: what
 *             cpu_online_mask does to the shorthand callbacks when that
 *             CPU comes up between two walks, at every send instead of by
 *             chance. Prints "maskgrow iters=N joining=CPU grown=G
 *             from=CPUS", G the sends whose set gained the CPU.
 *   callstorm read: `iters` rounds of call-function IPIs with wait from the
 *             reading CPU, alternately to every other online CPU and to
 *             the odd-numbered ones, meant to run under CPU hotplug: each
 *             round checks that every target ran the handler (no CPU goes
 *             offline while the sender has preemption off, stop_machine
 *             needs it). Prints "callstorm rounds=N calls=C missed=M", M
 *             the rounds in which a target's handler did not run.
 */
#include <linux/debugfs.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <asm/apic.h>
#include <asm/irq_vectors.h>

static unsigned int iters = 100;
module_param(iters, uint, 0644);
MODULE_PARM_DESC(iters, "IPIs each test or benchmark run sends (default 100)");

static DEFINE_PER_CPU(unsigned long, ipitest_hits);
static struct dentry *ipitest_dir;

struct ipitest_run {
	cpumask_var_t mask;
	unsigned int iters;
	u64 ns;
};

static void ipitest_handler(void *unused)
{
	this_cpu_inc(ipitest_hits);
}

/* On the sending CPU: @iters call-function IPIs with wait to r->mask. */
static int ipitest_send(void *arg)
{
	struct ipitest_run *r = arg;
	unsigned int i;
	u64 t0;

	preempt_disable();
	t0 = ktime_get_ns();
	for (i = 0; i < r->iters; i++)
		smp_call_function_many(r->mask, ipitest_handler, NULL, true);
	r->ns = ktime_get_ns() - t0;
	preempt_enable();
	return 0;
}

/* All online CPUs but @self; with @odd, only odd-numbered ones. */
static void ipitest_targets(struct cpumask *mask, int self, bool odd)
{
	int cpu;

	cpumask_clear(mask);
	for_each_online_cpu(cpu)
		if (cpu != self && (!odd || (cpu & 1)))
			cpumask_set_cpu(cpu, mask);
}

static int ipitest_run_on(int cpu, struct ipitest_run *r)
{
	return smp_call_on_cpu(cpu, ipitest_send, r, false);
}

static int callfunc_show(struct seq_file *m, void *v)
{
	struct ipitest_run r = { .iters = iters };
	unsigned long *expect;
	int s, c, bad = 0;

	if (!zalloc_cpumask_var(&r.mask, GFP_KERNEL))
		return -ENOMEM;
	expect = kcalloc(nr_cpu_ids, sizeof(*expect), GFP_KERNEL);
	if (!expect) {
		free_cpumask_var(r.mask);
		return -ENOMEM;
	}
	for_each_online_cpu(c)
		per_cpu(ipitest_hits, c) = 0;
	for_each_online_cpu(s) {
		/* Broadcast, then a multicast subset that differs per sender. */
		ipitest_targets(r.mask, s, false);
		ipitest_run_on(s, &r);
		for_each_cpu(c, r.mask)
			expect[c] += iters;
		ipitest_targets(r.mask, s, false);
		for_each_online_cpu(c)
			if ((c + s) % 2 == 0)
				cpumask_clear_cpu(c, r.mask);
		ipitest_run_on(s, &r);
		for_each_cpu(c, r.mask)
			expect[c] += iters;
	}
	for_each_online_cpu(c) {
		seq_printf(m, "cpu%d hits=%lu expected=%lu\n", c,
			   per_cpu(ipitest_hits, c), expect[c]);
		bad += per_cpu(ipitest_hits, c) != expect[c];
	}
	seq_printf(m, "callfunc %s\n", bad ? "FAIL" : "ok");
	kfree(expect);
	free_cpumask_var(r.mask);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(callfunc);

static int ipitest_resched(void *arg)
{
	struct ipitest_run *r = arg;
	unsigned int i;

	preempt_disable();
	for (i = 0; i < r->iters; i++)
		apic->send_IPI_mask(r->mask, RESCHEDULE_VECTOR);
	preempt_enable();
	return 0;
}

static int ipitest_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* On CPU 0: r->iters timed sends to r->mask; r->ns is the median. */
static int ipitest_msend(void *arg)
{
	struct ipitest_run *r = arg;
	unsigned int i;
	u64 *t, t0;

	t = kmalloc_array(r->iters, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	preempt_disable();
	for (i = 0; i < r->iters; i++) {
		t0 = ktime_get_ns();
		apic->send_IPI_mask(r->mask, CALL_FUNCTION_VECTOR);
		t[i] = ktime_get_ns() - t0;
	}
	preempt_enable();
	sort(t, r->iters, sizeof(*t), ipitest_cmp_u64, NULL);
	r->ns = t[r->iters / 2];
	kfree(t);
	return 0;
}

static int msend_show(struct seq_file *m, void *v)
{
	struct ipitest_run r = { .iters = iters };
	int ret = 0;

	if (!zalloc_cpumask_var(&r.mask, GFP_KERNEL))
		return -ENOMEM;
	ipitest_targets(r.mask, 0, true);
	if (r.iters)
		ret = smp_call_on_cpu(0, ipitest_msend, &r, false);
	if (!ret)
		seq_printf(m, "msend iters=%u targets=%u ns_per_ipi=%llu\n",
			   r.iters, cpumask_weight(r.mask), r.ns);
	free_cpumask_var(r.mask);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(msend);

static int resched_show(struct seq_file *m, void *v)
{
	struct ipitest_run r = { .iters = iters };

	if (!zalloc_cpumask_var(&r.mask, GFP_KERNEL))
		return -ENOMEM;
	ipitest_targets(r.mask, 0, false);
	smp_call_on_cpu(0, ipitest_resched, &r, false);
	seq_printf(m, "resched sent %u to %*pbl\n", r.iters,
		   cpumask_pr_args(r.mask));
	free_cpumask_var(r.mask);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(resched);

static int ipitest_bench(struct seq_file *m, const char *name, bool odd)
{
	struct ipitest_run r = { .iters = iters };

	if (!zalloc_cpumask_var(&r.mask, GFP_KERNEL))
		return -ENOMEM;
	ipitest_targets(r.mask, 0, odd);
	ipitest_run_on(0, &r);
	seq_printf(m, "%s iters=%u targets=%u ns_per_ipi=%llu\n", name, r.iters,
		   cpumask_weight(r.mask), r.iters ? div_u64(r.ns, r.iters) : 0);
	free_cpumask_var(r.mask);
	return 0;
}

static int bcast_show(struct seq_file *m, void *v)
{
	return ipitest_bench(m, "bcast", false);
}
DEFINE_SHOW_ATTRIBUTE(bcast);

static int mcast_show(struct seq_file *m, void *v)
{
	return ipitest_bench(m, "mcast", true);
}
DEFINE_SHOW_ATTRIBUTE(mcast);

/*
 * @n call-function IPIs with no work queued from this CPU to @mask, or to
 * all but this CPU when @mask is NULL, through the APIC callbacks; each
 * with preemption off (their contract), none in between: CPU hotplug
 * (stop_machine) gets its turn. @from collects the CPUs they came from.
 */
static void ipitest_send_many(const struct cpumask *mask, unsigned int n,
			      struct cpumask *from)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		preempt_disable();
		if (mask)
			apic->send_IPI_mask(mask, CALL_FUNCTION_VECTOR);
		else
			apic->send_IPI_allbutself(CALL_FUNCTION_VECTOR);
		__cpumask_set_cpu(smp_processor_id(), from);
		preempt_enable();
		cond_resched();
	}
}

static int allbutself_show(struct seq_file *m, void *v)
{
	unsigned int n = iters;
	cpumask_var_t from;

	if (!zalloc_cpumask_var(&from, GFP_KERNEL))
		return -ENOMEM;
	ipitest_send_many(NULL, n, from);
	seq_printf(m, "allbutself iters=%u from=%*pbl\n", n,
		   cpumask_pr_args(from));
	free_cpumask_var(from);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(allbutself);

/*
 * maskgrow: the set an IPI is sent to gains a CPU while the callback walks
 * it. A kprobe on _find_next_bit(addr, nbits, start), what for_each_cpu
 * calls, adds @cpu to @mask once the send's first walk of it is past @cpu:
 * that walk and any later one disagree, as two walks of cpu_online_mask
 * do when that CPU comes up in between.
 */
struct ipitest_grow {
	struct kprobe kp;
	struct cpumask *mask;
	unsigned int cpu;	/* the CPU that joins the set */
	int sender;		/* the CPU sending now, or -1 */
	unsigned long grown;	/* sends whose set gained @cpu */
};

static int ipitest_grow_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct ipitest_grow *g = container_of(kp, struct ipitest_grow, kp);

	if (READ_ONCE(g->sender) != smp_processor_id() ||
	    regs->di != (unsigned long)cpumask_bits(g->mask) ||
	    regs->dx <= g->cpu)
		return 0;
	cpumask_set_cpu(g->cpu, g->mask);
	WRITE_ONCE(g->sender, -1);
	g->grown++;
	return 0;
}

/* @n sends to g->mask, each starting without g->cpu in it. */
static void ipitest_grow_sends(struct ipitest_grow *g, unsigned int n,
			       struct cpumask *from)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		preempt_disable();
		WRITE_ONCE(g->sender, smp_processor_id());
		apic->send_IPI_mask(g->mask, CALL_FUNCTION_VECTOR);
		WRITE_ONCE(g->sender, -1);
		cpumask_clear_cpu(g->cpu, g->mask);
		__cpumask_set_cpu(smp_processor_id(), from);
		preempt_enable();
		cond_resched();
	}
}

/* The CPU of @mask with the lowest APIC ID. */
static unsigned int ipitest_lowest_apicid(const struct cpumask *mask)
{
	unsigned int cpu, lo = cpumask_first(mask);

	for_each_cpu(cpu, mask)
		if (cpu_physical_id(cpu) < cpu_physical_id(lo))
			lo = cpu;
	return lo;
}

static int maskgrow_show(struct seq_file *m, void *v)
{
	struct ipitest_grow g = {
		.kp.symbol_name = "_find_next_bit",
		.kp.pre_handler = ipitest_grow_pre,
		.sender = -1,
	};
	unsigned int n = iters;
	cpumask_var_t mask, from;
	int ret = -ENOMEM;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return ret;
	if (!zalloc_cpumask_var(&from, GFP_KERNEL))
		goto out_mask;
	ipitest_targets(mask, raw_smp_processor_id(), false);
	g.cpu = ipitest_lowest_apicid(mask);
	/* A walk must go on past the joining CPU for the kprobe to act. */
	ret = -EINVAL;
	if (cpumask_last(mask) <= g.cpu)
		goto out;
	cpumask_clear_cpu(g.cpu, mask);
	g.mask = mask;
	ret = register_kprobe(&g.kp);
	if (ret)
		goto out;
	ipitest_grow_sends(&g, n, from);
	unregister_kprobe(&g.kp);
	seq_printf(m, "maskgrow iters=%u joining=%u grown=%lu from=%*pbl\n",
		   n, g.cpu, g.grown, cpumask_pr_args(from));
out:
	free_cpumask_var(from);
out_mask:
	free_cpumask_var(mask);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(maskgrow);

static void ipitest_mark(void *ran)
{
	cpumask_set_cpu(smp_processor_id(), ran);
}

/* One callstorm round to @want, filled here; false if a target missed it. */
static bool ipitest_round(struct cpumask *want, struct cpumask *ran, bool odd,
			  unsigned int *calls)
{
	bool all;

	preempt_disable();
	ipitest_targets(want, smp_processor_id(), odd);
	cpumask_clear(ran);
	smp_call_function_many(want, ipitest_mark, ran, true);
	all = cpumask_subset(want, ran);
	*calls += cpumask_weight(want);
	preempt_enable();
	return all;
}

static int callstorm_show(struct seq_file *m, void *v)
{
	unsigned int i, n = iters, calls = 0, missed = 0;
	cpumask_var_t want, ran;

	if (!zalloc_cpumask_var(&want, GFP_KERNEL))
		return -ENOMEM;
	if (!zalloc_cpumask_var(&ran, GFP_KERNEL)) {
		free_cpumask_var(want);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		missed += !ipitest_round(want, ran, i & 1, &calls);
		cond_resched();
	}
	seq_printf(m, "callstorm rounds=%u calls=%u missed=%u\n", n, calls,
		   missed);
	free_cpumask_var(ran);
	free_cpumask_var(want);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(callstorm);

static int __init ipitest_init(void)
{
	ipitest_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("callfunc", 0400, ipitest_dir, NULL, &callfunc_fops);
	debugfs_create_file("resched", 0400, ipitest_dir, NULL, &resched_fops);
	debugfs_create_file("bcast", 0400, ipitest_dir, NULL, &bcast_fops);
	debugfs_create_file("mcast", 0400, ipitest_dir, NULL, &mcast_fops);
	debugfs_create_file("msend", 0400, ipitest_dir, NULL, &msend_fops);
	debugfs_create_file("allbutself", 0400, ipitest_dir, NULL,
			    &allbutself_fops);
	debugfs_create_file("maskgrow", 0400, ipitest_dir, NULL,
			    &maskgrow_fops);
	debugfs_create_file("callstorm", 0400, ipitest_dir, NULL,
			    &callstorm_fops);
	return 0;
}

static void __exit ipitest_exit(void)
{
	debugfs_remove_recursive(ipitest_dir);
}

module_init(ipitest_init);
module_exit(ipitest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvscale L2 IPI test and benchmark");
