// SPDX-License-Identifier: GPL-2.0
/*
 * pvscale_redirtest: an L2 test module for guest-mod/redirect.c, built
 * into it (redirect_failing.c) with a way to make ftrace refuse to give a
 * function back. It takes over a function of its own, redirtest_target(),
 * with a replacement that counts its runs and calls the original through
 * the bypass, as ipi.c and tlb.c do. Files in
 * /sys/kernel/debug/pvscale_redirtest/:
 *
 *   redirect  write 1: take the target over (pvg_redirect_enable); 0: give
 *             it back (pvg_redirect_disable, which abandons the redirect
 *             when the unregister fails).
 *   calls     read: every online CPU calls the target `iters` times with
 *             preemption off, as redirect.c requires of a replacement's
 *             callers; prints "calls=N target=T replacement=R", the runs
 *             of the original and of the replacement during this read.
 *
 * Parameters: iters; fail_unregister, which makes the unregister answer
 * -ENODEV (ftrace's answer once it is down) and leave the ops registered.
 * An abandoned redirect pins the module (refcnt 1) for good.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include "redirect.h"
#include "redirtest.h"

static unsigned int iters = 1000;
module_param(iters, uint, 0644);
MODULE_PARM_DESC(iters, "Calls of the target per CPU per read of calls (default 1000)");

static bool fail_unregister;
module_param(fail_unregister, bool, 0644);
MODULE_PARM_DESC(fail_unregister, "Make unregistering the redirect fail, as ftrace does once it has shut itself down");

static DEFINE_PER_CPU(unsigned long, redirtest_target_runs);
static DEFINE_PER_CPU(unsigned long, redirtest_replacement_runs);
static struct pvg_redirect redirtest_redirect;
static DEFINE_MUTEX(redirtest_lock);
static bool redirtest_on;
static struct dentry *redirtest_dir;

int redirtest_unregister(struct ftrace_ops *ops)
{
	if (READ_ONCE(fail_unregister))
		return -ENODEV;
	return unregister_ftrace_function(ops);
}

/* Out of line and traced: its own ftrace call site, reached by every call. */
static noinline void redirtest_target(void)
{
	this_cpu_inc(redirtest_target_runs);
}

static void redirtest_replacement(void)
{
	this_cpu_inc(redirtest_replacement_runs);
	pvg_redirect_call_original(&redirtest_redirect, redirtest_target);
}

static unsigned long redirtest_sum(unsigned long __percpu *v)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(v, cpu);
	return sum;
}

/* On every online CPU, in its IPI handler (or with IRQs off on this one). */
static void redirtest_call(void *calls)
{
	unsigned int i, n = READ_ONCE(iters);

	for (i = 0; i < n; i++)
		redirtest_target();
	atomic_long_add(n, calls);
}

static int calls_show(struct seq_file *m, void *v)
{
	unsigned long t0 = redirtest_sum(&redirtest_target_runs);
	unsigned long r0 = redirtest_sum(&redirtest_replacement_runs);
	atomic_long_t calls = ATOMIC_LONG_INIT(0);

	on_each_cpu(redirtest_call, &calls, 1);
	seq_printf(m, "calls=%ld target=%lu replacement=%lu\n",
		   atomic_long_read(&calls),
		   redirtest_sum(&redirtest_target_runs) - t0,
		   redirtest_sum(&redirtest_replacement_runs) - r0);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(calls);

/* Called with redirtest_lock; disabling is idempotent, enabling is not. */
static int redirtest_set(bool on)
{
	int ret;

	if (!on) {
		pvg_redirect_disable(&redirtest_redirect);
		redirtest_on = false;
		return 0;
	}
	if (redirtest_on)
		return 0;
	ret = pvg_redirect_enable(&redirtest_redirect, redirtest_target,
				  redirtest_replacement);
	redirtest_on = !ret;
	return ret;
}

static ssize_t redirect_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *ppos)
{
	bool on;
	int ret;

	ret = kstrtobool_from_user(buf, len, &on);
	if (ret)
		return ret;
	mutex_lock(&redirtest_lock);
	ret = redirtest_set(on);
	mutex_unlock(&redirtest_lock);
	return ret ? ret : len;
}

static const struct file_operations redirect_fops = {
	.owner = THIS_MODULE,
	.write = redirect_write,
	.llseek = noop_llseek,
};

static int __init redirtest_init(void)
{
	redirtest_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("redirect", 0200, redirtest_dir, NULL,
			    &redirect_fops);
	debugfs_create_file("calls", 0400, redirtest_dir, NULL, &calls_fops);
	return 0;
}

/* Reached only without an abandoned redirect (that pins the module). */
static void __exit redirtest_exit(void)
{
	debugfs_remove_recursive(redirtest_dir);
	WRITE_ONCE(fail_unregister, false);
	pvg_redirect_disable(&redirtest_redirect);
}

module_init(redirtest_init);
module_exit(redirtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvscale L2 test of the ftrace redirect's abandon path");
