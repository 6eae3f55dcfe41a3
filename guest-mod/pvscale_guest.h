/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of pvscale_guest share; each file owns one job. */
#ifndef PVSCALE_GUEST_H
#define PVSCALE_GUEST_H

#include <linux/cpumask.h>
#include "pv_abi.h"

/* page.c: one registered page per online CPU. */
int pvg_pages_init(u32 enabled_features);
void pvg_pages_exit(void);
const struct cpumask *pvg_registered_cpus(void);
void pvg_attached_cpus(struct cpumask *mask);
u64 pvg_host_features(void);

#endif /* PVSCALE_GUEST_H */
