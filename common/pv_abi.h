/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pvscale guest/host contract: the per-vCPU shared page, the hypercalls and
 * their errors. Compiled unchanged into pvscale_host, pvscale_guest and the
 * userspace tests, so only fixed-width types and no kernel-only helpers.
 *
 * Versioning: a different ABI major is incompatible and is refused by both
 * sides. Minor versions only add: a new field takes reserved room that an
 * older peer leaves zero, a new feature takes a new bit that an older peer
 * never offers or enables. Peers of different minors therefore work on the
 * features both know.
 *
 * Ownership: every field below is marked [G] (only the guest writes it),
 * [H] (only the host writes it) or [G+H] (both, with the atomic operation
 * named). The host treats every [G] field as hostile: it reads each one once
 * (READ_ONCE into a local) and validates the local copy.
 */
#ifndef PVSCALE_PV_ABI_H
#define PVSCALE_PV_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/build_bug.h>
#else
#include <linux/types.h>
#include <stddef.h>
#include <assert.h>
#endif

#define PVSCALE_ABI_MAJOR	1
#define PVSCALE_ABI_MINOR	0

enum {
	PVSCALE_MAGIC		= 0x43535650,	/* "PVSC" little endian */
	PVSCALE_PAGE_SIZE	= 4096,
	PVSCALE_CACHELINE	= 64,
};

/*
 * Hypercalls. Same calling convention as KVM_HC_*: number in RAX, arguments
 * in RBX, RCX, RDX, RSI, result in RAX, issued with VMCALL/VMMCALL at CPL 0.
 * The private range starts far above KVM's own numbers (KVM_HC_* < 0x100)
 * so it cannot collide with them; a host without pvscale answers any of
 * these with -PVSCALE_ENOSYS (KVM's -KVM_ENOSYS).
 */
#define PVSCALE_HC_BASE		0x50565300UL	/* "PVS\0" */
#define PVSCALE_HC_LAST		(PVSCALE_HC_BASE + 0xff)

enum pvscale_hc {
	/*
	 * PROBE(a0 = guest version, PVSCALE_VERSION(major, minor)).
	 * Returns PVSCALE_PROBE_RESULT(host major, host minor, offered
	 * features) >= 0, or a negative error.
	 */
	PVSCALE_HC_PROBE	= PVSCALE_HC_BASE + 0,
	/*
	 * REGISTER(a0 = guest-physical address of the calling vCPU's page).
	 * The page must be 4 KiB aligned, in ordinary writable guest RAM,
	 * with a valid header (magic, major, size), and not registered by
	 * another vCPU. Returns 0, -PVSCALE_EEXIST when this vCPU already
	 * has a page, -PVSCALE_EBUSY when another vCPU has this one,
	 * -PVSCALE_EAGAIN when the page is not resident on the host or the
	 * host is still retiring this VM's earlier registrations (a bounded
	 * number per VM): retry a few times, then run without a page.
	 */
	PVSCALE_HC_REGISTER	= PVSCALE_HC_BASE + 1,
	/*
	 * UNREGISTER(). Once it returns 0 the host never touches the page
	 * again. -PVSCALE_ENOENT when nothing was registered.
	 */
	PVSCALE_HC_UNREGISTER	= PVSCALE_HC_BASE + 2,
	/*
	 * IPI(a0 = ICR low word, a1 = first APIC ID, a2 = bitmap words).
	 * Sends the interrupt to every APIC ID set in the calling vCPU's
	 * dest.bitmap[0 .. a2-1] (bit i = APIC ID a1 + i), through KVM's
	 * local APIC emulation, in one exit (PVSCALE_F_IPI): each ID gets
	 * exactly what a native physical-destination ICR write to it would
	 * give, so IDs with no vCPU are dropped. The ICR word may hold only
	 * the vector, the delivery mode and the level (assert) bit: fixed
	 * with vector >= 32, or NMI with vector 0. 1 <= a2 <= 64 and
	 * a1 + 64 * a2 <= the host's APIC ID limit (KVM_MAX_VCPU_IDS: 4096
	 * on Debian's 6.1, 16384 on its 6.12); a sender in xAPIC mode may set no ID >= 0xff (0xff is
	 * its broadcast address). Returns the number of IDs set, or
	 * -PVSCALE_EOPNOTSUPP (toggled off, or no in-kernel local APIC),
	 * -PVSCALE_EINVAL (bad ICR, range or set, local APIC disabled),
	 * -PVSCALE_ENOENT (no registered page); nothing is sent on error.
	 */
	PVSCALE_HC_IPI		= PVSCALE_HC_BASE + 3,
	/*
	 * FLUSH_TLB(a0 = first APIC ID, a1 = bitmap words). Every vCPU in
	 * the calling vCPU's dest set has flushed its guest TLB, or will
	 * before it next runs guest code, when this returns 0
	 * (PVSCALE_F_TLB_HOSTFLUSH). -PVSCALE_EAGAIN when a target could
	 * not be brought to an instruction boundary in time (in an exit to
	 * the VMM, inside emulation): nothing is promised for any target,
	 * flush them the guest's own way. Any other error: the same.
	 */
	PVSCALE_HC_FLUSH_TLB	= PVSCALE_HC_BASE + 4,
};

/* Errors are returned negated, as KVM does. */
enum pvscale_err {
	PVSCALE_EPERM		= 1,	/* not CPL 0 (answered by KVM) */
	PVSCALE_ENOENT		= 2,	/* no page registered */
	PVSCALE_EAGAIN		= 11,	/* not now: see the hypercall */
	PVSCALE_ENOMEM		= 12,	/* host out of memory, retry later */
	PVSCALE_EFAULT		= 14,	/* address not in writable guest RAM */
	PVSCALE_EBUSY		= 16,	/* page registered by another vCPU */
	PVSCALE_EEXIST		= 17,	/* this vCPU already registered */
	PVSCALE_EINVAL		= 22,	/* bad argument or page header */
	PVSCALE_EPROTO		= 71,	/* ABI major version mismatch */
	PVSCALE_EOPNOTSUPP	= 95,	/* feature not offered (toggled off) */
	PVSCALE_ENOSYS		= 1000,	/* unknown call; = KVM_ENOSYS */
};

#define PVSCALE_VERSION(major, minor)	(((__u32)(major) << 16) | (__u16)(minor))
#define PVSCALE_VERSION_MAJOR(v)	((__u32)(v) >> 16)
#define PVSCALE_VERSION_MINOR(v)	((__u32)(v) & 0xffff)

/* PROBE result: bits 62..48 major, 47..32 minor, 31..0 offered features. */
#define PVSCALE_PROBE_RESULT(major, minor, feat)			\
	(((__u64)((major) & 0x7fff) << 48) | ((__u64)(__u16)(minor) << 32) | \
	 (__u32)(feat))
#define PVSCALE_PROBE_MAJOR(r)		((__u32)(((__u64)(r) >> 48) & 0x7fff))
#define PVSCALE_PROBE_MINOR(r)		((__u32)(((__u64)(r) >> 32) & 0xffff))
#define PVSCALE_PROBE_FEATURES(r)	((__u32)(r))

/*
 * Feature bits, one per section below. A host offers a bit only when it
 * implements the feature and its operator has it enabled; a guest enables a
 * bit only when the host offers it. Bits this minor does not define are
 * reserved: a host never offers them and ignores them in guest_features.
 */
enum pvscale_feature {
	PVSCALE_F_TLB		= 0,	/* flush on entry for preempted vCPUs */
	PVSCALE_F_TLB_HOSTFLUSH	= 1,	/* host flushes a target set */
	PVSCALE_F_IPI		= 2,	/* multicast IPI in one hypercall */
	PVSCALE_F_IDLE		= 3,	/* host-measured idle hints */
	PVSCALE_F_TIMER		= 4,	/* exitless timer deadline */
	PVSCALE_F_PREFAULT	= 5,	/* TDP pre-population */
	PVSCALE_NR_FEATURES,
};
#define PVSCALE_FEATURES_DEFINED	((1u << PVSCALE_NR_FEATURES) - 1)

/* hdr.host_state [H] */
enum {
	PVSCALE_HOST_ATTACHED	= 1u << 0,	/* host serves this page now */
};

/* 0x000: header */
struct pvscale_hdr {
	__u32 magic;		/* [G] PVSCALE_MAGIC, before REGISTER */
	__u16 abi_major;	/* [G] guest's major, before REGISTER */
	__u16 abi_minor;	/* [G] guest's minor, before REGISTER */
	__u32 size;		/* [G] PVSCALE_PAGE_SIZE */
	__u32 host_state;	/* [H] PVSCALE_HOST_*; WRITE_ONCE */
	__u16 host_abi_major;	/* [H] at REGISTER */
	__u16 host_abi_minor;	/* [H] at REGISTER */
	__u32 vcpu_id;		/* [H] KVM vcpu_id (the APIC ID) */
	__u64 host_features;	/* [H] offered; WRITE_ONCE, 0 on detach */
	__u64 guest_features;	/* [G] enabled subset of host_features */
	__u64 generation;	/* [H] += 1 on every host_* change */
	__u8  reserved[16];
};

/* 0x040: PV TLB flush (PVSCALE_F_TLB) */
enum {
	PVSCALE_TLB_PREEMPTED	= 1u << 0,	/* [H] vCPU not running */
	PVSCALE_TLB_FLUSH	= 1u << 1,	/* [G] flush before next entry */
};
struct pvscale_tlb {
	/*
	 * [G+H] The guest sets FLUSH only with cmpxchg from a value that
	 * has PREEMPTED; the host clears the byte with one xchg before the
	 * vCPU re-enters and flushes when FLUSH was set (never loses one).
	 */
	__u8  state;
	__u8  reserved[63];
};

/*
 * 0x080: destination set of PVSCALE_HC_IPI and PVSCALE_HC_FLUSH_TLB.
 * [G] Written only by the vCPU that owns the page, with interrupts off,
 * right before the hypercall; the host copies the words it is told to use
 * once and never trusts them further.
 */
enum {
	PVSCALE_DEST_WORDS	= 64,	/* 4096 APIC IDs from the first one */
};
struct pvscale_dest {
	__u64 bitmap[PVSCALE_DEST_WORDS];
	__u8  reserved[64];
};

/* 0x2c0: idle hints (PVSCALE_F_IDLE), host-written under a seqcount */
struct pvscale_idle {
	__u8  reserved[64];
};

/* 0x300: exitless timer (PVSCALE_F_TIMER) */
struct pvscale_timer {
	__u8  reserved[64];
};

/* 0x340: TDP pre-population (PVSCALE_F_PREFAULT) */
struct pvscale_prefault {
	__u8  reserved[64];
};

struct pvscale_page {
	struct pvscale_hdr	hdr;
	struct pvscale_tlb	tlb;
	struct pvscale_dest	dest;
	struct pvscale_idle	idle;
	struct pvscale_timer	timer;
	struct pvscale_prefault	prefault;
	__u8			reserved[PVSCALE_PAGE_SIZE - 0x380];
};

#define PVSCALE_ASSERT_OFFSET(member, off)				\
	static_assert(offsetof(struct pvscale_page, member) == (off),	\
		      #member " moved: the ABI is broken");		\
	static_assert((off) % PVSCALE_CACHELINE == 0,			\
		      #member " not cache-line aligned")

PVSCALE_ASSERT_OFFSET(hdr, 0x000);
PVSCALE_ASSERT_OFFSET(tlb, 0x040);
PVSCALE_ASSERT_OFFSET(dest, 0x080);
PVSCALE_ASSERT_OFFSET(idle, 0x2c0);
PVSCALE_ASSERT_OFFSET(timer, 0x300);
PVSCALE_ASSERT_OFFSET(prefault, 0x340);
PVSCALE_ASSERT_OFFSET(reserved, 0x380);
static_assert(sizeof(struct pvscale_hdr) == 64, "header size");
static_assert(sizeof(struct pvscale_page) == PVSCALE_PAGE_SIZE, "page size");
static_assert(PVSCALE_NR_FEATURES <= 32, "features must fit PROBE result");

#endif /* PVSCALE_PV_ABI_H */
