/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A minimal KTAP test runner for the userspace unit tests: each test is a
 * bool function that returns fail("why") on the first wrong value.
 */
#ifndef PVSCALE_KTAP_H
#define PVSCALE_KTAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static char why[256];

/* Record why the running test failed; returns false for "return fail()". */
static bool __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

/* Signed comparison: error codes and results. */
#define EXPECT_EQ(got, want)						\
	do {								\
		long long got_ = (long long)(got);			\
		long long want_ = (long long)(want);			\
									\
		if (got_ != want_)					\
			return fail("%s = %lld, want %lld",		\
				    #got, got_, want_);			\
	} while (0)

/* Unsigned comparison: offsets, bit fields, encodings. */
#define EXPECT_EQ_U(got, want)						\
	do {								\
		unsigned long long got_ = (unsigned long long)(got);	\
		unsigned long long want_ = (unsigned long long)(want);	\
									\
		if (got_ != want_)					\
			return fail("%s = %#llx, want %#llx",		\
				    #got, got_, want_);			\
	} while (0)

#define T(fn)	{ #fn, fn }
struct ktap_test {
	const char *name;
	bool (*fn)(void);
};

/* Runs every test; 0 only when all passed. */
static inline int ktap_run(const struct ktap_test *tests, unsigned int n)
{
	unsigned int i, failed = 0;

	printf("KTAP version 1\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		const char *name = tests[i].name + strlen("test_");

		why[0] = '\0';
		if (tests[i].fn()) {
			printf("ok %u %s\n", i + 1, name);
		} else {
			printf("not ok %u %s # %s\n", i + 1, name, why);
			failed++;
		}
	}
	printf("# %u passed, %u failed\n", n - failed, failed);
	return failed ? 1 : 0;
}

#endif /* PVSCALE_KTAP_H */
