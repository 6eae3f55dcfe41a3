/* SPDX-License-Identifier: GPL-2.0 */
/* What the two files of pvscale_redirtest share. */
#ifndef PVSCALE_REDIRTEST_H
#define PVSCALE_REDIRTEST_H

struct ftrace_ops;

/* unregister_ftrace_function(), or ftrace's refusal while fail_unregister. */
int redirtest_unregister(struct ftrace_ops *ops);

#endif /* PVSCALE_REDIRTEST_H */
