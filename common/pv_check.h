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

/*
 * PVSCALE_HC_IPI: fields of the ICR low word (Intel SDM vol. 3, "Interrupt
 * Command Register"). Only these may be set; everything else (destination
 * mode, delivery status, trigger mode, shorthand, reserved bits) is refused.
 */
enum {
	PVSCALE_ICR_VECTOR	= 0x000ff,
	PVSCALE_ICR_DM_MASK	= 0x00700,
	PVSCALE_ICR_DM_FIXED	= 0x00000,
	PVSCALE_ICR_DM_NMI	= 0x00400,
	PVSCALE_ICR_ASSERT	= 0x04000,
	PVSCALE_XAPIC_BROADCAST	= 0xff,		/* xAPIC physical "all" */
};

static inline int pvscale_check_ipi_icr(__u64 icr)
{
	__u64 vector = icr & PVSCALE_ICR_VECTOR;

	if (icr & ~(__u64)(PVSCALE_ICR_VECTOR | PVSCALE_ICR_DM_MASK |
			   PVSCALE_ICR_ASSERT))
		return -PVSCALE_EINVAL;
	switch (icr & PVSCALE_ICR_DM_MASK) {
	case PVSCALE_ICR_DM_FIXED:
		/* 0..31 are exceptions, never interrupt vectors. */
		return vector >= 32 ? 0 : -PVSCALE_EINVAL;
	case PVSCALE_ICR_DM_NMI:
		return vector == 0 ? 0 : -PVSCALE_EINVAL;
	default:
		return -PVSCALE_EINVAL;
	}
}

/*
 * The APIC ID window of a destination set: @nwords bitmap words from
 * @first, all below @id_limit (the host's number of APIC IDs). Checked
 * before the words are read, since @nwords sizes the copy.
 */
static inline int pvscale_check_dest_range(__u64 first, __u64 nwords,
					   __u32 id_limit)
{
	if (nwords < 1 || nwords > PVSCALE_DEST_WORDS)
		return -PVSCALE_EINVAL;
	if (first >= id_limit || nwords * 64 > id_limit - first)
		return -PVSCALE_EINVAL;
	return 0;
}

/*
 * The copied set itself: every APIC ID in it below @id_limit (the sender's
 * addressable IDs: PVSCALE_XAPIC_BROADCAST in xAPIC mode).
 */
static inline int pvscale_check_dest_set(const __u64 *words, __u32 nwords,
					 __u64 first, __u32 id_limit)
{
	__u64 lo;
	__u32 i;

	for (i = 0; i < nwords; i++) {
		if (!words[i])
			continue;
		lo = first + 64 * i;
		if (lo >= id_limit)
			return -PVSCALE_EINVAL;
		/* Highest set bit of this word, by its ID. */
		if (lo + 63 - __builtin_clzll(words[i]) >= id_limit)
			return -PVSCALE_EINVAL;
	}
	return 0;
}

/*
 * Guest side: how many bitmap words carry APIC IDs @first..@last of a
 * destination set, or 0 when they do not fit in one hypercall.
 */
static inline unsigned int pvscale_dest_words(__u32 first, __u32 last)
{
	if (last < first || last - first >= PVSCALE_DEST_WORDS * 64u)
		return 0;
	return (last - first) / 64 + 1;
}

#endif /* PVSCALE_PV_CHECK_H */
