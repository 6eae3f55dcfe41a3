// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of the PVSCALE_HC_IPI checks in pv_check.h: the ICR word and
 * the destination set the host accepts. Values are spelled out from the
 * Intel SDM (ICR layout) rather than taken from the header. KTAP output.
 */
#include "ktap.h"
#include "pv_check.h"

#define LIMIT	4096	/* KVM_MAX_VCPU_IDS on Debian's 6.1 and 6.12 */

static bool test_icr_fields(void)
{
	EXPECT_EQ_U(PVSCALE_ICR_VECTOR, 0xff);
	EXPECT_EQ_U(PVSCALE_ICR_DM_MASK, 0x700);
	EXPECT_EQ_U(PVSCALE_ICR_DM_NMI, 0x400);
	EXPECT_EQ_U(PVSCALE_ICR_ASSERT, 1u << 14);
	EXPECT_EQ_U(PVSCALE_XAPIC_BROADCAST, 0xff);
	return true;
}

static bool test_icr_fixed_ok(void)
{
	EXPECT_EQ(pvscale_check_ipi_icr(0x20), 0);
	EXPECT_EQ(pvscale_check_ipi_icr(0xfb), 0);	/* call-function */
	EXPECT_EQ(pvscale_check_ipi_icr(0xfd), 0);	/* reschedule */
	EXPECT_EQ(pvscale_check_ipi_icr(0xff), 0);
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x4000), 0);	/* level=assert */
	return true;
}

static bool test_icr_fixed_exception_vector(void)
{
	EXPECT_EQ(pvscale_check_ipi_icr(0x00), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_ipi_icr(0x02), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_ipi_icr(0x1f), -PVSCALE_EINVAL);
	return true;
}

static bool test_icr_nmi(void)
{
	EXPECT_EQ(pvscale_check_ipi_icr(0x400), 0);
	EXPECT_EQ(pvscale_check_ipi_icr(0x4400), 0);
	/* The kernel sends NMIs with vector 0; anything else is refused. */
	EXPECT_EQ(pvscale_check_ipi_icr(0x402), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_ipi_icr(0x440), -PVSCALE_EINVAL);
	return true;
}

static bool test_icr_other_delivery_modes(void)
{
	/* lowest priority, SMI, reserved, INIT, SIPI, ExtINT */
	static const unsigned int dm[] = { 0x100, 0x200, 0x300, 0x500, 0x600, 0x700 };
	unsigned int i;

	for (i = 0; i < sizeof(dm) / sizeof(dm[0]); i++)
		if (pvscale_check_ipi_icr(dm[i] | 0x40) != -PVSCALE_EINVAL)
			return fail("delivery mode %#x accepted", dm[i]);
	return true;
}

static bool test_icr_reserved_and_forbidden_bits(void)
{
	unsigned int bit;

	/* Every bit but vector (0-7), delivery mode (8-10), level (14). */
	for (bit = 11; bit < 64; bit++) {
		if (bit == 14)
			continue;
		if (pvscale_check_ipi_icr(0x40 | (1ull << bit)) != -PVSCALE_EINVAL)
			return fail("ICR bit %u accepted", bit);
	}
	return true;
}

static bool test_icr_named_forbidden(void)
{
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x800), -PVSCALE_EINVAL);	/* logical */
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x1000), -PVSCALE_EINVAL);	/* busy */
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x8000), -PVSCALE_EINVAL);	/* level-triggered */
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x40000), -PVSCALE_EINVAL);	/* self */
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0x80000), -PVSCALE_EINVAL);	/* all */
	EXPECT_EQ(pvscale_check_ipi_icr(0x40 | 0xc0000), -PVSCALE_EINVAL);	/* all but self */
	return true;
}

static bool test_range_ok(void)
{
	EXPECT_EQ(pvscale_check_dest_range(0, 1, LIMIT), 0);
	EXPECT_EQ(pvscale_check_dest_range(0, 64, LIMIT), 0);
	EXPECT_EQ(pvscale_check_dest_range(128, 1, LIMIT), 0);
	EXPECT_EQ(pvscale_check_dest_range(LIMIT - 64, 1, LIMIT), 0);
	EXPECT_EQ(pvscale_check_dest_range(7, 2, LIMIT), 0);
	return true;
}

static bool test_range_words(void)
{
	EXPECT_EQ(pvscale_check_dest_range(0, 0, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(0, 65, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(0, ~0ull, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(0, 1ull << 58, LIMIT), -PVSCALE_EINVAL);
	return true;
}

static bool test_range_past_limit(void)
{
	EXPECT_EQ(pvscale_check_dest_range(LIMIT - 63, 1, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(LIMIT, 1, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(64, 64, LIMIT), -PVSCALE_EINVAL);
	/* No wrap-around from a huge first ID. */
	EXPECT_EQ(pvscale_check_dest_range(~0ull - 10, 1, LIMIT), -PVSCALE_EINVAL);
	EXPECT_EQ(pvscale_check_dest_range(0xffffffffull, 1, LIMIT), -PVSCALE_EINVAL);
	return true;
}

static bool test_set_x2apic(void)
{
	__u64 w[64] = { 0 };

	w[0] = 1;
	w[63] = 1ull << 63;
	EXPECT_EQ(pvscale_check_dest_set(w, 64, 0, LIMIT), 0);
	return true;
}

static bool test_set_xapic_broadcast(void)
{
	__u64 w[4] = { 0, 0, 0, 1ull << 63 };	/* ID 255 */

	EXPECT_EQ(pvscale_check_dest_set(w, 4, 0, PVSCALE_XAPIC_BROADCAST),
		  -PVSCALE_EINVAL);
	w[3] = 1ull << 62;			/* ID 254 */
	EXPECT_EQ(pvscale_check_dest_set(w, 4, 0, PVSCALE_XAPIC_BROADCAST), 0);
	return true;
}

static bool test_set_xapic_window_above(void)
{
	__u64 w[2] = { 0, 1 };

	/* first 200: word 1 bit 0 is ID 264. */
	EXPECT_EQ(pvscale_check_dest_set(w, 2, 200, PVSCALE_XAPIC_BROADCAST),
		  -PVSCALE_EINVAL);
	/* Clear words above the limit are fine: only set IDs count. */
	w[1] = 0;
	w[0] = 1ull << 54;			/* ID 254 */
	EXPECT_EQ(pvscale_check_dest_set(w, 2, 200, PVSCALE_XAPIC_BROADCAST), 0);
	return true;
}

static bool test_set_empty(void)
{
	__u64 w[64] = { 0 };

	EXPECT_EQ(pvscale_check_dest_set(w, 64, 0, PVSCALE_XAPIC_BROADCAST), 0);
	return true;
}

static const struct ktap_test tests[] = {
	T(test_icr_fields),
	T(test_icr_fixed_ok),
	T(test_icr_fixed_exception_vector),
	T(test_icr_nmi),
	T(test_icr_other_delivery_modes),
	T(test_icr_reserved_and_forbidden_bits),
	T(test_icr_named_forbidden),
	T(test_range_ok),
	T(test_range_words),
	T(test_range_past_limit),
	T(test_set_x2apic),
	T(test_set_xapic_broadcast),
	T(test_set_xapic_window_above),
	T(test_set_empty),
};

int main(void)
{
	return ktap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
