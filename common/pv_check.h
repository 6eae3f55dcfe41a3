/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Pure checks on pvscale ABI values, shared by both modules and the
 * userspace unit tests. Nothing here touches guest memory: callers pass
 * copies they have read once.
 */
#ifndef PVSCALE_PV_CHECK_H
#define PVSCALE_PV_CHECK_H

#include "pv_abi.h"

/* The guest-physical address of a page to register. */
static inline int pvscale_check_gpa(__u64 gpa, unsigned int maxphyaddr)
{
	if (gpa & (PVSCALE_PAGE_SIZE - 1))
		return -PVSCALE_EINVAL;
	if (maxphyaddr < 64 && (gpa >> maxphyaddr))
		return -PVSCALE_EINVAL;
	return 0;
}

/* A header copied out of the guest page at REGISTER. */
static inline int pvscale_check_hdr(const struct pvscale_hdr *h)
{
	if (h->magic != PVSCALE_MAGIC || h->size != PVSCALE_PAGE_SIZE)
		return -PVSCALE_EINVAL;
	if (h->abi_major != PVSCALE_ABI_MAJOR)
		return -PVSCALE_EPROTO;
	return 0;
}

/*
 * Guest side: interpret a PROBE result. Returns the offered features, or a
 * negative pvscale error (-PVSCALE_ENOSYS: no pvscale host; -PVSCALE_EPROTO:
 * incompatible major).
 */
static inline long long pvscale_probe_features(long long ret)
{
	if (ret < 0)
		return ret;
	if (PVSCALE_PROBE_MAJOR(ret) != PVSCALE_ABI_MAJOR)
		return -PVSCALE_EPROTO;
	return PVSCALE_PROBE_FEATURES(ret) & PVSCALE_FEATURES_DEFINED;
}

/* The minor both sides speak: the smaller one. */
static inline unsigned int pvscale_common_minor(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

#endif /* PVSCALE_PV_CHECK_H */
