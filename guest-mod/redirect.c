// SPDX-License-Identifier: GPL-2.0
/*
 * Take over a kernel function the way livepatch does: an ftrace handler
 * with SAVE_REGS|IPMODIFY on the function's entry sets the saved IP to our
 * replacement, so every caller (direct calls patched in at boot, indirect
 * calls through pv_ops or struct apic, static calls) reaches pvscale.
 *
 * A replacement that wants the original behaviour calls
 * pvg_redirect_call_original(), which raises a per-CPU flag the handler
 * honours. A parent_ip check would break when the compiler turns that call
 * into a tail call, and the redirect would then loop forever.
 *
 * Replacements must only be reached with preemption disabled (true for
 * flush_tlb_multi and the APIC IPI callbacks): after unregistering the
 * ftrace ops, synchronize_rcu() then guarantees no CPU is still inside the
 * module's replacement when it is unloaded.
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include "redirect.h"

/*
 * A test build (tests/guest/redirect) defines this to make unregistering
 * fail, as ftrace does only once it has shut itself down.
 */
#ifndef pvg_unregister_ftrace_function
#define pvg_unregister_ftrace_function unregister_ftrace_function
#endif

static void notrace pvg_redirect_handler(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	struct pvg_redirect *r = container_of(op, struct pvg_redirect, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (!regs || READ_ONCE(r->abandoned) || __this_cpu_read(*r->bypass))
		return;
	regs->ip = (unsigned long)r->replacement;
}

int pvg_redirect_enable(struct pvg_redirect *r, void *target,
			void *replacement)
{
	int ret;

	/* ftrace still holds an abandoned one: it must stay as it is. */
	if (r->abandoned)
		return -EBUSY;
	memset(r, 0, sizeof(*r));
	r->bypass = alloc_percpu(int);
	if (!r->bypass)
		return -ENOMEM;
	r->target = target;
	r->replacement = replacement;
	r->ops.func = pvg_redirect_handler;
	r->ops.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		       FTRACE_OPS_FL_DYNAMIC;
	ret = ftrace_set_filter_ip(&r->ops, (unsigned long)target, 0, 0);
	if (ret) {
		pr_err("cannot trace %ps (%d)\n", target, ret);
		goto err_free;
	}
	ret = register_ftrace_function(&r->ops);
	if (ret) {
		pr_err("cannot redirect %ps (%d)\n", target, ret);
		goto err_filter;
	}
	return 0;

err_filter:
	ftrace_free_filter(&r->ops);
err_free:
	free_percpu(r->bypass);
	r->bypass = NULL;
	return ret;
}

/*
 * ftrace refuses only once it has shut itself down after an anomaly: the
 * handler may then still run, for good. Make it a no-op with a flag of its
 * own: setting the per-CPU bypass flags from here would race with their
 * owners' increments and decrements (a replacement still running would
 * undo it on the way out). Keep @r and the bypass flags, which a handler
 * already past the flag still reads, and pin the module so that its text
 * stays (a toggle can still fail this way; module exit cannot stop, but
 * ftrace is dead by then).
 */
static void pvg_redirect_abandon(struct pvg_redirect *r, int err)
{
	WRITE_ONCE(r->abandoned, true);
	synchronize_rcu();	/* nobody is left in the replacement */
	__module_get(THIS_MODULE);
	pr_err("cannot restore %ps (%d): ftrace is down; %ps stays as it is and this module stays loaded\n",
	       r->target, err, r->target);
}

void pvg_redirect_disable(struct pvg_redirect *r)
{
	int ret;

	if (!r->bypass || r->abandoned)
		return;
	ret = pvg_unregister_ftrace_function(&r->ops);
	if (ret) {
		pvg_redirect_abandon(r, ret);
		return;
	}
	ftrace_free_filter(&r->ops);
	/* Wait out every CPU still inside the replacement (see top). */
	synchronize_rcu();
	free_percpu(r->bypass);
	r->bypass = NULL;
}

void pvg_redirect_bypass(struct pvg_redirect *r, bool on)
{
	if (on)
		__this_cpu_inc(*r->bypass);
	else
		__this_cpu_dec(*r->bypass);
}
