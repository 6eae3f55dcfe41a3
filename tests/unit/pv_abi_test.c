// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of the pvscale contract: the shared page layout in pv_abi.h and
 * the pure checks in pv_check.h that both modules use. Every expected value
 * is written out here independently of the header, so a change to the ABI
 * fails a test instead of silently passing. Output is KTAP; the exit status
 * is 0 only when every test passed.
 */
#include <errno.h>
#include <limits.h>
#include <linux/kvm_para.h>

#include "ktap.h"
#include "pv_check.h"

#define PAGE_OFF(member)	offsetof(struct pvscale_page, member)
#define HDR_OFF(member)		offsetof(struct pvscale_hdr, member)

static bool test_page_size(void)
{
	EXPECT_EQ_U(sizeof(struct pvscale_page), 4096);
	EXPECT_EQ_U(PVSCALE_PAGE_SIZE, 4096);
	EXPECT_EQ_U(sizeof(struct pvscale_hdr), 64);
	return true;
}

static bool test_section_offsets(void)
{
	EXPECT_EQ_U(PAGE_OFF(hdr), 0x000);
	EXPECT_EQ_U(PAGE_OFF(tlb), 0x040);
	EXPECT_EQ_U(PAGE_OFF(dest), 0x080);
	EXPECT_EQ_U(PAGE_OFF(idle), 0x2c0);
	EXPECT_EQ_U(PAGE_OFF(timer), 0x300);
	EXPECT_EQ_U(PAGE_OFF(prefault), 0x340);
	EXPECT_EQ_U(PAGE_OFF(reserved), 0x380);
	return true;
}

static bool test_section_sizes(void)
{
	struct pvscale_page p;

	EXPECT_EQ_U(sizeof(p.tlb), 64);
	EXPECT_EQ_U(sizeof(p.dest), 576);
	EXPECT_EQ_U(sizeof(p.idle), 64);
	EXPECT_EQ_U(sizeof(p.timer), 64);
	EXPECT_EQ_U(sizeof(p.prefault), 64);
	EXPECT_EQ_U(sizeof(p.reserved), 4096 - 0x380);
	return true;
}

static bool test_section_alignment(void)
{
	static const struct {
		const char *name;
		size_t off;
	} sec[] = {
		{ "hdr", PAGE_OFF(hdr) },
		{ "tlb", PAGE_OFF(tlb) },
		{ "dest", PAGE_OFF(dest) },
		{ "idle", PAGE_OFF(idle) },
		{ "timer", PAGE_OFF(timer) },
		{ "prefault", PAGE_OFF(prefault) },
		{ "reserved", PAGE_OFF(reserved) },
	};
	unsigned int i;

	EXPECT_EQ_U(PVSCALE_CACHELINE, 64);
	for (i = 0; i < sizeof(sec) / sizeof(sec[0]); i++) {
		if (sec[i].off % 64)
			return fail("%s at %#zx is not 64-byte aligned",
				    sec[i].name, sec[i].off);
	}
	return true;
}

static bool test_header_offsets(void)
{
	EXPECT_EQ_U(HDR_OFF(magic), 0);
	EXPECT_EQ_U(HDR_OFF(abi_major), 4);
	EXPECT_EQ_U(HDR_OFF(abi_minor), 6);
	EXPECT_EQ_U(HDR_OFF(size), 8);
	EXPECT_EQ_U(HDR_OFF(host_state), 12);
	EXPECT_EQ_U(HDR_OFF(host_abi_major), 16);
	EXPECT_EQ_U(HDR_OFF(host_abi_minor), 18);
	EXPECT_EQ_U(HDR_OFF(vcpu_id), 20);
	EXPECT_EQ_U(HDR_OFF(host_features), 24);
	EXPECT_EQ_U(HDR_OFF(guest_features), 32);
	EXPECT_EQ_U(HDR_OFF(generation), 40);
	EXPECT_EQ_U(HDR_OFF(reserved), 48);
	return true;
}

static bool test_constants(void)
{
	struct pvscale_hdr h = { .magic = PVSCALE_MAGIC };

	if (memcmp(&h.magic, "PVSC", 4))
		return fail("PVSCALE_MAGIC %#x is not \"PVSC\" in memory",
			    (unsigned int)PVSCALE_MAGIC);
	EXPECT_EQ(PVSCALE_ABI_MAJOR, 1);
	EXPECT_EQ(PVSCALE_ABI_MINOR, 0);
	EXPECT_EQ_U(PVSCALE_HOST_ATTACHED, 1);
	EXPECT_EQ_U(PVSCALE_TLB_PREEMPTED, 1);
	EXPECT_EQ_U(PVSCALE_TLB_FLUSH, 2);
	return true;
}

static bool test_hypercall_numbers(void)
{
	EXPECT_EQ_U(PVSCALE_HC_BASE, 0x50565300);
	EXPECT_EQ_U(PVSCALE_HC_LAST, 0x505653ff);
	EXPECT_EQ_U(PVSCALE_HC_PROBE, 0x50565300);
	EXPECT_EQ_U(PVSCALE_HC_REGISTER, 0x50565301);
	EXPECT_EQ_U(PVSCALE_HC_UNREGISTER, 0x50565302);
	/* Reachable from a 32-bit guest, where KVM truncates RAX. */
	if (PVSCALE_HC_LAST > 0xffffffffULL)
		return fail("private range above 32 bits");
	/* Far above KVM's own numbers. */
	if (PVSCALE_HC_BASE < 0x100)
		return fail("private range overlaps KVM_HC_*");
	return true;
}

/* The errors are Linux errno values, returned negated like KVM's. */
static bool test_error_values(void)
{
	EXPECT_EQ(PVSCALE_EPERM, EPERM);
	EXPECT_EQ(PVSCALE_EPERM, KVM_EPERM);
	EXPECT_EQ(PVSCALE_ENOENT, ENOENT);
	EXPECT_EQ(PVSCALE_EAGAIN, EAGAIN);
	EXPECT_EQ(PVSCALE_ENOMEM, ENOMEM);
	EXPECT_EQ(PVSCALE_EFAULT, EFAULT);
	EXPECT_EQ(PVSCALE_EBUSY, EBUSY);
	EXPECT_EQ(PVSCALE_EEXIST, EEXIST);
	EXPECT_EQ(PVSCALE_EINVAL, EINVAL);
	EXPECT_EQ(PVSCALE_EPROTO, EPROTO);
	EXPECT_EQ(PVSCALE_ENOSYS, KVM_ENOSYS);
	EXPECT_EQ(PVSCALE_ENOSYS, 1000);
	return true;
}

static bool test_features_defined(void)
{
	EXPECT_EQ(PVSCALE_NR_FEATURES, 6);
	EXPECT_EQ_U(PVSCALE_FEATURES_DEFINED, 0x3f);
	EXPECT_EQ_U(1u << PVSCALE_F_PREFAULT, 0x20);
	return true;
}

static bool test_version_roundtrip(void)
{
	static const unsigned int v[] = { 0, 1, 2, 7, 0x7fff, 0x8000, 0xffff };
	unsigned int i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
			__u32 enc = PVSCALE_VERSION(v[i], v[j]);

			if (PVSCALE_VERSION_MAJOR(enc) != v[i] ||
			    PVSCALE_VERSION_MINOR(enc) != v[j])
				return fail("VERSION(%#x, %#x) = %#x decodes to %#x.%#x",
					    v[i], v[j], enc,
					    PVSCALE_VERSION_MAJOR(enc),
					    PVSCALE_VERSION_MINOR(enc));
		}
	}
	EXPECT_EQ_U(PVSCALE_VERSION(1, 0), 0x10000);
	EXPECT_EQ_U(PVSCALE_VERSION(0xffff, 0xffff), 0xffffffff);
	return true;
}

/* An oversized minor must not carry into the major. */
static bool test_version_minor_truncated(void)
{
	__u32 enc = PVSCALE_VERSION(1, 0x20003);

	EXPECT_EQ_U(PVSCALE_VERSION_MAJOR(enc), 1);
	EXPECT_EQ_U(PVSCALE_VERSION_MINOR(enc), 3);
	return true;
}

static bool test_probe_result_roundtrip(void)
{
	static const unsigned int maj[] = { 0, 1, 2, 0x4000, 0x7fff };
	static const unsigned int min[] = { 0, 1, 7, 0x8000, 0xffff };
	static const __u32 feat[] = { 0, 1, 0x3f, 0x80000000u, 0xffffffffu };
	const unsigned int nmaj = sizeof(maj) / sizeof(maj[0]);
	const unsigned int nmin = sizeof(min) / sizeof(min[0]);
	const unsigned int nfeat = sizeof(feat) / sizeof(feat[0]);
	unsigned int n;

	for (n = 0; n < nmaj * nmin * nfeat; n++) {
		unsigned int ma = maj[n % nmaj];
		unsigned int mi = min[n / nmaj % nmin];
		__u32 f = feat[n / nmaj / nmin];
		__u64 r = PVSCALE_PROBE_RESULT(ma, mi, f);

		if (PVSCALE_PROBE_MAJOR(r) != ma ||
		    PVSCALE_PROBE_MINOR(r) != mi ||
		    PVSCALE_PROBE_FEATURES(r) != f)
			return fail("PROBE_RESULT(%#x, %#x, %#x) = %#llx decodes wrong",
				    ma, mi, f, (unsigned long long)r);
	}
	EXPECT_EQ_U(PVSCALE_PROBE_RESULT(1, 0, 0x3f), 0x000100000000003fULL);
	EXPECT_EQ_U(PVSCALE_PROBE_RESULT(0x7fff, 0xffff, 0xffffffffu),
		    0x7fffffffffffffffULL);
	return true;
}

/* Bit 63 is never set, so a result can never look like an error. */
static bool test_probe_result_never_negative(void)
{
	static const unsigned int maj[] = { 0, 1, 0x7fff, 0x8000, 0xffff,
					    0xffffffffu };
	unsigned int i;

	for (i = 0; i < sizeof(maj) / sizeof(maj[0]); i++) {
		long long r = (long long)PVSCALE_PROBE_RESULT(maj[i], 0xffff,
							     0xffffffffu);

		if (r < 0)
			return fail("PROBE_RESULT(%#x, ...) = %lld is negative",
				    maj[i], r);
	}
	/* A major above 15 bits is masked, not spilled into bit 63. */
	EXPECT_EQ_U(PVSCALE_PROBE_MAJOR(PVSCALE_PROBE_RESULT(0x8001, 0, 0)), 1);
	return true;
}

static bool test_probe_features_negative(void)
{
	static const long long err[] = { -1, -PVSCALE_EINVAL, -PVSCALE_EPROTO,
					 -4095, LLONG_MIN };
	unsigned int i;

	for (i = 0; i < sizeof(err) / sizeof(err[0]); i++)
		EXPECT_EQ(pvscale_probe_features(err[i]), err[i]);
	return true;
}

/* What a guest sees on a host without pvscale: KVM's -KVM_ENOSYS. */
static bool test_probe_features_enosys(void)
{
	EXPECT_EQ(pvscale_probe_features(-1000), -PVSCALE_ENOSYS);
	return true;
}

static bool test_probe_features_major_mismatch(void)
{
	static const unsigned int maj[] = { 0, 2, 3, 0x7fff };
	unsigned int i;

	for (i = 0; i < sizeof(maj) / sizeof(maj[0]); i++) {
		long long r = (long long)PVSCALE_PROBE_RESULT(maj[i], 0, 0x3f);

		EXPECT_EQ(pvscale_probe_features(r), -PVSCALE_EPROTO);
	}
	return true;
}

static bool test_probe_features_mask(void)
{
	long long r;

	r = (long long)PVSCALE_PROBE_RESULT(1, 0, 0xffffffffu);
	EXPECT_EQ_U(pvscale_probe_features(r), PVSCALE_FEATURES_DEFINED);
	r = (long long)PVSCALE_PROBE_RESULT(1, 0, 1u << PVSCALE_NR_FEATURES);
	EXPECT_EQ_U(pvscale_probe_features(r), 0);
	r = (long long)PVSCALE_PROBE_RESULT(1, 0, 0x80000000u |
					    1u << PVSCALE_F_IPI);
	EXPECT_EQ_U(pvscale_probe_features(r), 1u << PVSCALE_F_IPI);
	r = (long long)PVSCALE_PROBE_RESULT(1, 0, 0);
	EXPECT_EQ_U(pvscale_probe_features(r), 0);
	return true;
}

/* Same major, any minor: the guest works on the features it knows. */
static bool test_probe_features_other_minor(void)
{
	long long r = (long long)PVSCALE_PROBE_RESULT(1, 0xffff, 0x5);

	EXPECT_EQ_U(pvscale_probe_features(r), 0x5);
	return true;
}

static bool test_check_gpa_aligned(void)
{
	EXPECT_EQ(pvscale_check_gpa(0, 52), 0);
	EXPECT_EQ(pvscale_check_gpa(0x1000, 52), 0);
	EXPECT_EQ(pvscale_check_gpa(0xfffff000ULL, 32), 0);
	EXPECT_EQ(pvscale_check_gpa(0x123456789000ULL, 48), 0);
	return true;
}

static bool test_check_gpa_unaligned(void)
{
	unsigned int bit;

	for (bit = 0; bit < 12; bit++) {
		__u64 gpa = 0x10000 | 1ULL << bit;

		if (pvscale_check_gpa(gpa, 52) != -PVSCALE_EINVAL)
			return fail("gpa %#llx (bit %u) not rejected",
				    (unsigned long long)gpa, bit);
		if (pvscale_check_gpa(gpa, 64) != -PVSCALE_EINVAL)
			return fail("gpa %#llx (bit %u) not rejected at maxphyaddr 64",
				    (unsigned long long)gpa, bit);
	}
	EXPECT_EQ(pvscale_check_gpa(0xfff, 52), -PVSCALE_EINVAL);
	return true;
}

static bool test_check_gpa_maxphyaddr(void)
{
	EXPECT_EQ(pvscale_check_gpa(1ULL << 40, 40), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_gpa((1ULL << 40) - 0x1000, 40), 0);
	EXPECT_EQ(pvscale_check_gpa(1ULL << 63, 48), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_gpa(0x100000000ULL, 32), -PVSCALE_EINVAL);
	return true;
}

static bool test_check_gpa_maxphyaddr_52(void)
{
	EXPECT_EQ(pvscale_check_gpa((1ULL << 52) - 0x1000, 52), 0);
	EXPECT_EQ(pvscale_check_gpa(1ULL << 52, 52), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_gpa(~0xfffULL, 52), -PVSCALE_EINVAL);
	return true;
}

/* 64 bits: every aligned address is in range, and no shift by 64 (UBSan). */
static bool test_check_gpa_maxphyaddr_64(void)
{
	EXPECT_EQ(pvscale_check_gpa(~0xfffULL, 64), 0);
	EXPECT_EQ(pvscale_check_gpa(1ULL << 63, 64), 0);
	EXPECT_EQ(pvscale_check_gpa(1ULL << 52, 64), 0);
	EXPECT_EQ(pvscale_check_gpa(~0ULL, 64), -PVSCALE_EINVAL);
	return true;
}

static struct pvscale_hdr good_hdr(void)
{
	struct pvscale_hdr h = {
		.magic = PVSCALE_MAGIC,
		.abi_major = PVSCALE_ABI_MAJOR,
		.abi_minor = PVSCALE_ABI_MINOR,
		.size = PVSCALE_PAGE_SIZE,
	};

	return h;
}

static bool test_check_hdr_good(void)
{
	struct pvscale_hdr h = good_hdr();

	EXPECT_EQ(pvscale_check_hdr(&h), 0);
	return true;
}

/* [H] fields are the host's to write: garbage there is no reason to refuse. */
static bool test_check_hdr_ignores_host_fields(void)
{
	struct pvscale_hdr h = good_hdr();

	h.host_state = ~0u;
	h.host_abi_major = 0xffff;
	h.host_abi_minor = 0xffff;
	h.vcpu_id = ~0u;
	h.host_features = ~0ULL;
	h.generation = ~0ULL;
	h.guest_features = ~0ULL;
	memset(h.reserved, 0xff, sizeof(h.reserved));
	EXPECT_EQ(pvscale_check_hdr(&h), 0);
	return true;
}

static bool test_check_hdr_bad_magic(void)
{
	static const __u32 magic[] = { 0, 0x50565343, PVSCALE_MAGIC ^ 1,
				       PVSCALE_MAGIC ^ 0x80000000u, ~0u };
	struct pvscale_hdr h = good_hdr();
	unsigned int i;

	for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++) {
		h.magic = magic[i];
		EXPECT_EQ(pvscale_check_hdr(&h), -PVSCALE_EINVAL);
	}
	return true;
}

static bool test_check_hdr_bad_size(void)
{
	static const __u32 size[] = { 0, 64, 4095, 4097, 8192, ~0u };
	struct pvscale_hdr h = good_hdr();
	unsigned int i;

	for (i = 0; i < sizeof(size) / sizeof(size[0]); i++) {
		h.size = size[i];
		EXPECT_EQ(pvscale_check_hdr(&h), -PVSCALE_EINVAL);
	}
	return true;
}

static bool test_check_hdr_other_major(void)
{
	static const __u16 major[] = { 0, PVSCALE_ABI_MAJOR + 1, 0xffff };
	struct pvscale_hdr h = good_hdr();
	unsigned int i;

	for (i = 0; i < sizeof(major) / sizeof(major[0]); i++) {
		h.abi_major = major[i];
		EXPECT_EQ(pvscale_check_hdr(&h), -PVSCALE_EPROTO);
	}
	return true;
}

/* A malformed header is EINVAL even when its major is also wrong. */
static bool test_check_hdr_einval_before_eproto(void)
{
	struct pvscale_hdr h = good_hdr();

	h.abi_major = PVSCALE_ABI_MAJOR + 1;
	h.magic = 0;
	EXPECT_EQ(pvscale_check_hdr(&h), -PVSCALE_EINVAL);
	h.magic = PVSCALE_MAGIC;
	h.size = 0;
	EXPECT_EQ(pvscale_check_hdr(&h), -PVSCALE_EINVAL);
	return true;
}

static bool test_check_hdr_other_minor(void)
{
	static const __u16 minor[] = { 1, 7, 0xffff };
	struct pvscale_hdr h = good_hdr();
	unsigned int i;

	for (i = 0; i < sizeof(minor) / sizeof(minor[0]); i++) {
		h.abi_minor = minor[i];
		EXPECT_EQ(pvscale_check_hdr(&h), 0);
	}
	return true;
}

static bool test_common_minor(void)
{
	EXPECT_EQ_U(pvscale_common_minor(0, 0), 0);
	EXPECT_EQ_U(pvscale_common_minor(0, 7), 0);
	EXPECT_EQ_U(pvscale_common_minor(7, 0), 0);
	EXPECT_EQ_U(pvscale_common_minor(3, 5), 3);
	EXPECT_EQ_U(pvscale_common_minor(5, 3), 3);
	EXPECT_EQ_U(pvscale_common_minor(4, 4), 4);
	EXPECT_EQ_U(pvscale_common_minor(0xffff, 1), 1);
	EXPECT_EQ_U(pvscale_common_minor(UINT_MAX, 2), 2);
	return true;
}

static bool test_dest_words(void)
{
	EXPECT_EQ_U(pvscale_dest_words(0, 0), 1);
	EXPECT_EQ_U(pvscale_dest_words(0, 63), 1);
	EXPECT_EQ_U(pvscale_dest_words(0, 64), 2);
	EXPECT_EQ_U(pvscale_dest_words(5, 68), 1);
	EXPECT_EQ_U(pvscale_dest_words(5, 69), 2);
	EXPECT_EQ_U(pvscale_dest_words(0, 4095), 64);
	EXPECT_EQ_U(pvscale_dest_words(100, 4195), 64);
	return true;
}

static bool test_dest_words_too_wide(void)
{
	EXPECT_EQ_U(pvscale_dest_words(0, 4096), 0);
	EXPECT_EQ_U(pvscale_dest_words(0, 0xffffffff), 0);
	EXPECT_EQ_U(pvscale_dest_words(7, 3), 0);
	/* The window always fits the bitmap the host will read. */
	EXPECT_EQ(pvscale_check_dest_range(0, pvscale_dest_words(0, 4095), 4096), 0);
	return true;
}

static const struct ktap_test tests[] = {
	T(test_page_size),
	T(test_section_offsets),
	T(test_section_sizes),
	T(test_section_alignment),
	T(test_header_offsets),
	T(test_constants),
	T(test_hypercall_numbers),
	T(test_error_values),
	T(test_features_defined),
	T(test_version_roundtrip),
	T(test_version_minor_truncated),
	T(test_probe_result_roundtrip),
	T(test_probe_result_never_negative),
	T(test_probe_features_negative),
	T(test_probe_features_enosys),
	T(test_probe_features_major_mismatch),
	T(test_probe_features_mask),
	T(test_probe_features_other_minor),
	T(test_check_gpa_aligned),
	T(test_check_gpa_unaligned),
	T(test_check_gpa_maxphyaddr),
	T(test_check_gpa_maxphyaddr_52),
	T(test_check_gpa_maxphyaddr_64),
	T(test_check_hdr_good),
	T(test_check_hdr_ignores_host_fields),
	T(test_check_hdr_bad_magic),
	T(test_check_hdr_bad_size),
	T(test_check_hdr_other_major),
	T(test_check_hdr_einval_before_eproto),
	T(test_check_hdr_other_minor),
	T(test_common_minor),
	T(test_dest_words),
	T(test_dest_words_too_wide),
};

int main(void)
{
	return ktap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
