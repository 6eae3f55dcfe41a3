/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PVSCALE_GUEST_REDIRECT_H
#define PVSCALE_GUEST_REDIRECT_H

#include <linux/ftrace.h>

struct pvg_redirect {
	struct ftrace_ops ops;
	void *target;		/* the function every caller reaches */
	void *replacement;	/* same signature, in this module */
	int __percpu *bypass;	/* > 0: this CPU is calling the original */
	bool abandoned;		/* ftrace kept it: a no-op for good */
};

int pvg_redirect_enable(struct pvg_redirect *r, void *target,
			void *replacement);
void pvg_redirect_disable(struct pvg_redirect *r);
void pvg_redirect_bypass(struct pvg_redirect *r, bool on);

/*
 * Call the original function from its replacement, with preemption
 * disabled: pvg_redirect_call_original(&r, fn, args...).
 */
#define pvg_redirect_call_original(r, fn, ...)		\
	do {						\
		pvg_redirect_bypass(r, true);		\
		fn(__VA_ARGS__);			\
		pvg_redirect_bypass(r, false);		\
	} while (0)

#endif /* PVSCALE_GUEST_REDIRECT_H */
