// SPDX-License-Identifier: GPL-2.0
/*
 * tlbstale: a stale-TLB detector, run inside an L2 guest.
 *
 * One writer thread keeps changing what a small window of addresses maps:
 * it remaps it onto other pages of a memfd (each stamped with the
 * generation it is mapped for), unmaps it, and mprotects it read-only,
 * inaccessible and back. One reader thread per CPU, pinned there, reads
 * (and, when writable, writes) the window as fast as it can, so every
 * CPU's TLB holds the window's translations when the writer changes them.
 *
 * Around every change the writer bumps a sequence count, odd while the
 * system call runs, even once it has returned and the new state is
 * published. A reader that sees the same even count before and after an
 * access knows exactly what the access had to find. Finding anything
 * else means a CPU used a translation that the kernel had already flushed
 * everywhere before the system call returned:
 *   - the old page's stamp where the current generation must be;
 *   - a successful read of an unmapped or PROT_NONE window;
 *   - a successful write to a read-only window.
 * Each is counted as stale. A fault where the window is accessible is
 * counted as spurious (a bug too). Faults are caught without signal
 * masks or jumps: the SIGSEGV handler steps over the one faulting
 * instruction and flags it, so the loop never enters the kernel.
 *
 *   tlbstale [-t SECONDS] [-f STOPFILE] [-v] [-x]
 *
 * It runs for SECONDS (10), or until STOPFILE exists.
 * -x is the detector's own test: the writer publishes each change before
 * making it (and dawdles in between), so readers must report stale
 * accesses; a detector that reports none then is broken.
 *
 * Prints one line "tlbstale: changes=... checks=... stale=... spurious=..."
 * and exits 0 when nothing stale or spurious was seen, 1 otherwise, 2 on a
 * set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

enum {
	PAGE		= 4096,
	WIN_PAGES	= 4,	/* the window: a multi-page flush */
	POOL_PAGES	= 64,	/* a page comes back every 16 generations */
	MAX_READERS	= 64,
	MAX_REPORTS	= 8,
};

enum win_state { WIN_RW, WIN_RO, WIN_NONE, WIN_UNMAPPED };

static const char *const state_name[] = { "rw", "ro", "none", "unmapped" };

static _Atomic uint64_t seq;		/* odd: a change is under way */
static _Atomic uint64_t cur_gen;	/* stamp the window's pages carry */
static _Atomic int cur_state;
static _Atomic int stop;
static _Atomic unsigned long n_stale, n_spurious, n_reports;
static unsigned long n_checks[MAX_READERS];
static char *win;			/* the window */
static volatile uint64_t *pool;		/* every memfd page, always mapped */
static int memfd;
static int verbose, publish_early;
static const char *stopfile;
static char outbuf[4096];

/* The two instructions that may fault, and where to resume after each. */
extern const char ts_load_insn[], ts_load_end[];
extern const char ts_store_insn[], ts_store_end[];

/* Read *p; *faulted = 1 instead if that faulted. */
__attribute__((noinline, noclone))
static uint64_t try_load(const volatile uint64_t *p, unsigned long *faulted)
{
	uint64_t v = 0;
	unsigned long f = 0;

	asm volatile(".globl ts_load_insn, ts_load_end\n"
		     "ts_load_insn: movq (%[p]), %[v]\n"
		     "ts_load_end:\n"
		     : [v] "+r"(v), "+c"(f) : [p] "r"(p) : "memory");
	*faulted = f;
	return v;
}

/* Write v to *p; returns 1 if that faulted. */
__attribute__((noinline, noclone))
static unsigned long try_store(volatile uint64_t *p, uint64_t v)
{
	unsigned long f = 0;

	asm volatile(".globl ts_store_insn, ts_store_end\n"
		     "ts_store_insn: movq %[v], (%[p])\n"
		     "ts_store_end:\n"
		     : "+c"(f) : [p] "r"(p), [v] "r"(v) : "memory");
	return f;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	greg_t *r = ((ucontext_t *)ctx)->uc_mcontext.gregs;

	(void)sig;
	(void)si;
	if (r[REG_RIP] == (greg_t)ts_load_insn) {
		r[REG_RIP] = (greg_t)ts_load_end;
	} else if (r[REG_RIP] == (greg_t)ts_store_insn) {
		r[REG_RIP] = (greg_t)ts_store_end;
	} else {
		/* A real crash: die of it. */
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	r[REG_RCX] = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "tlbstale: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void report(int cpu, const char *what, int state, uint64_t gen,
		   uint64_t got)
{
	if (atomic_fetch_add(&n_reports, 1) < MAX_REPORTS || verbose)
		printf("tlbstale: cpu%d: %s (window %s, generation %llu, read %llu)\n",
		       cpu, what, state_name[state], (unsigned long long)gen,
		       (unsigned long long)got);
}

/* One access of page @i under a stable count; returns 0 if it was not. */
static int check_once(int cpu, int id, unsigned int i)
{
	volatile uint64_t *p = (volatile uint64_t *)(win + i * PAGE);
	uint64_t s1, s2, gen, v;
	unsigned long faulted, wfaulted = 0;
	int state;

	s1 = atomic_load_explicit(&seq, memory_order_acquire);
	if (s1 & 1)
		return 0;
	state = atomic_load_explicit(&cur_state, memory_order_relaxed);
	gen = atomic_load_explicit(&cur_gen, memory_order_relaxed);
	v = try_load(p, &faulted);
	if (state == WIN_RO)
		wfaulted = try_store(p + 1 + id, s1);
	else if (state == WIN_RW && !faulted)
		try_store(p + 1 + id, s1);
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&seq, memory_order_relaxed);
	if (s1 != s2)
		return 0;
	if (state == WIN_NONE || state == WIN_UNMAPPED) {
		if (!faulted) {
			atomic_fetch_add(&n_stale, 1);
			report(cpu, "read an inaccessible window", state, gen, v);
		}
	} else if (faulted) {
		atomic_fetch_add(&n_spurious, 1);
		report(cpu, "fault on an accessible window", state, gen, 0);
	} else if (v != gen) {
		atomic_fetch_add(&n_stale, 1);
		report(cpu, "read a page no longer mapped", state, gen, v);
	} else if (state == WIN_RO && !wfaulted) {
		atomic_fetch_add(&n_stale, 1);
		report(cpu, "wrote a read-only window", state, gen, v);
	}
	return 1;
}

struct reader {
	pthread_t tid;
	int cpu, id;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void *reader(void *arg)
{
	struct reader *r = arg;
	unsigned int i = 0;

	pin(r->cpu);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		n_checks[r->id] += check_once(r->cpu, r->id, i);
		i = (i + 1) % WIN_PAGES;
	}
	return NULL;
}

/* Stamp the pool pages generation @gen will map, then map them. */
static void map_generation(uint64_t gen)
{
	unsigned int first = (gen * WIN_PAGES) % POOL_PAGES, i;
	void *p;

	for (i = 0; i < WIN_PAGES; i++)
		pool[(first + i) * PAGE / 8] = gen;
	p = mmap(win, WIN_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, memfd, (off_t)first * PAGE);
	if (p != win)
		die("mmap window");
}

static void do_mprotect(int prot)
{
	if (mprotect(win, WIN_PAGES * PAGE, prot))
		die("mprotect window");
}

/* Make one change; returns the state it leaves. */
static int change(int state, unsigned int r, uint64_t *gen)
{
	if (state == WIN_UNMAPPED) {
		/* Nothing else maps memory while this runs: it is free. */
		map_generation(++*gen);
		return WIN_RW;
	}
	switch (r % 6) {
	case 0:
	case 1:
		map_generation(++*gen);
		return WIN_RW;
	case 2:
		if (munmap(win, WIN_PAGES * PAGE))
			die("munmap window");
		return WIN_UNMAPPED;
	case 3:
		do_mprotect(PROT_READ);
		return WIN_RO;
	case 4:
		do_mprotect(PROT_NONE);
		return WIN_NONE;
	default:
		do_mprotect(PROT_READ | PROT_WRITE);
		return WIN_RW;
	}
}

/*
 * Fault the window in from the writer's side, so that the next change has
 * page table entries to remove and must flush, even when no reader ran
 * since the last one (vCPUs share few CPUs in the tests).
 */
static void populate(int state)
{
	unsigned int i;

	if (state != WIN_RW && state != WIN_RO)
		return;
	for (i = 0; i < WIN_PAGES; i++)
		(void)*(volatile uint64_t *)(win + i * PAGE);
}

/* A change as it must be: the state is published once the call returned. */
static int change_published(int *state, unsigned int r, uint64_t *gen)
{
	populate(*state);
	/* Odd before the call, with a full fence: see the top. */
	atomic_fetch_add(&seq, 1);
	*state = change(*state, r, gen);
	atomic_store_explicit(&cur_gen, *gen, memory_order_relaxed);
	atomic_store_explicit(&cur_state, *state, memory_order_relaxed);
	atomic_fetch_add_explicit(&seq, 1, memory_order_release);
	return 1;
}

/* -x: the state a remap will leave, published before the call. */
static int change_early(int *state, unsigned int r, uint64_t *gen)
{
	uint64_t next = *gen + 1;

	if (*state != WIN_RW)
		return change_published(state, 0, gen);
	atomic_fetch_add(&seq, 1);
	atomic_store_explicit(&cur_gen, next, memory_order_relaxed);
	atomic_fetch_add_explicit(&seq, 1, memory_order_release);
	usleep(2000);
	atomic_fetch_add(&seq, 1);
	*state = change(*state, 0, gen);
	atomic_fetch_add_explicit(&seq, 1, memory_order_release);
	(void)r;
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	if (sigaction(SIGSEGV, &sa, NULL))
		die("sigaction");
	memfd = syscall(SYS_memfd_create, "tlbstale", 0);
	if (memfd < 0)
		die("memfd_create");
	if (ftruncate(memfd, POOL_PAGES * PAGE))
		die("ftruncate");
	pool = mmap(NULL, POOL_PAGES * PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, memfd, 0);
	if (pool == MAP_FAILED)
		die("mmap pool");
	win = mmap(NULL, WIN_PAGES * PAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (win == MAP_FAILED)
		die("mmap window reservation");
	map_generation(1);
	atomic_store(&cur_gen, 1);
	atomic_store(&cur_state, WIN_RW);
}

int main(int argc, char **argv)
{
	static struct reader readers[MAX_READERS];
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), i, opt, state = WIN_RW;
	double secs = 10, end;
	unsigned long changes = 0, checks = 0;
	uint64_t gen = 1;
	unsigned int r = 12345;

	while ((opt = getopt(argc, argv, "t:f:vx")) != -1) {
		if (opt == 't')
			secs = atof(optarg);
		else if (opt == 'f')
			stopfile = optarg;
		else if (opt == 'v')
			verbose = 1;
		else if (opt == 'x')
			publish_early = 1;
		else
			return fprintf(stderr, "usage: tlbstale [-t SECONDS] [-f STOPFILE] [-v] [-x]\n"), 2;
	}
	if (ncpu > MAX_READERS)
		ncpu = MAX_READERS;
	/* No allocation once the window can be unmapped: see change(). */
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	setup();
	for (i = 0; i < ncpu; i++) {
		readers[i].cpu = i;
		readers[i].id = i;
		errno = pthread_create(&readers[i].tid, NULL, reader, &readers[i]);
		if (errno)
			die("pthread_create");
	}
	end = now() + secs;
	while (now() < end) {
		if (stopfile && changes % 256 == 0 && !access(stopfile, F_OK))
			break;
		r = r * 1103515245 + 12345;
		if (publish_early)
			changes += change_early(&state, r >> 16, &gen);
		else
			changes += change_published(&state, r >> 16, &gen);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < ncpu; i++) {
		pthread_join(readers[i].tid, NULL);
		checks += n_checks[i];
	}
	printf("tlbstale: cpus=%d changes=%lu checks=%lu stale=%lu spurious=%lu\n",
	       ncpu, changes, checks, atomic_load(&n_stale),
	       atomic_load(&n_spurious));
	return atomic_load(&n_stale) || atomic_load(&n_spurious) ? 1 : 0;
}
