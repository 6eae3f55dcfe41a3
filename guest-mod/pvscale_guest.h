/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of pvscale_guest share; each file owns one job. */
#ifndef PVSCALE_GUEST_H
#define PVSCALE_GUEST_H

#include <linux/cpumask.h>
#include "pv_abi.h"

struct kobject;

/* page.c: one registered page per online CPU. */
int pvg_pages_init(void);
void pvg_pages_exit(void);
const struct cpumask *pvg_registered_cpus(void);
void pvg_attached_cpus(struct cpumask *mask);
u64 pvg_host_features(void);
void pvg_publish_features(u32 enabled);
struct pvscale_page *pvg_this_cpu_page(void);
struct pvscale_page *pvg_cpu_page(int cpu);

/* features.c: the features= parameter and the run-time toggles. */
u32 pvg_enabled_features(void);
int pvg_features_init(struct kobject *kobj);
void pvg_features_exit(struct kobject *kobj);

#endif /* PVSCALE_GUEST_H */
