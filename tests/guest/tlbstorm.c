// SPDX-License-Identifier: GPL-2.0
/*
 * tlbstorm: a map/touch/unmap storm, the TLB shootdown workload of the
 * benchmark (ebizzy-like: many threads of one process allocating, using
 * and freeing memory, so every free is a remote TLB flush).
 *
 * One thread per CPU, pinned there, repeats an operation on a chunk of
 * anonymous memory of its own, and every operation ends by unmapping the
 * chunk's pages, which must flush them from every CPU the process runs on:
 * with all threads running, a shootdown of every other CPU per operation.
 *   zap (default)  write every page, then MADV_DONTNEED: the pages go, the
 *                  mapping stays. Only the mmap lock's read side is taken,
 *                  so the threads really run (and flush) concurrently.
 *   munmap (-m)    mmap the chunk, write every page, munmap it. mmap and
 *                  munmap take the mmap lock for writing: the threads
 *                  mostly wait for each other and their CPUs go idle (and
 *                  lazy, which no flush IPIs), so this measures the lock.
 *
 *   tlbstorm [-t SECONDS] [-p PAGES] [-m]
 *
 * Prints "tlbstorm: threads=N pages=P ops=... secs=... ops_per_s=...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { PAGE = 4096, MAX_THREADS = 64 };

static _Atomic int go, stop;
static unsigned long pages = 8;
static int use_munmap;

struct worker {
	pthread_t tid;
	int cpu;
	unsigned long ops;
};

static void die(const char *what)
{
	fprintf(stderr, "tlbstorm: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char *map_chunk(void)
{
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	unsigned long i;
	char *p;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
	p = map_chunk();
	while (!atomic_load(&go))
		;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (use_munmap && !p)
			p = map_chunk();
		for (i = 0; i < pages; i++)
			p[i * PAGE] = (char)i;
		if (use_munmap) {
			if (munmap(p, pages * PAGE))
				die("munmap");
			p = NULL;
		} else if (madvise(p, pages * PAGE, MADV_DONTNEED)) {
			die("madvise");
		}
		w->ops++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	int n = sysconf(_SC_NPROCESSORS_ONLN), i, opt;
	double secs = 10, t0, t1;
	unsigned long ops = 0;

	while ((opt = getopt(argc, argv, "t:p:m")) != -1) {
		if (opt == 't')
			secs = atof(optarg);
		else if (opt == 'p')
			pages = strtoul(optarg, NULL, 0);
		else if (opt == 'm')
			use_munmap = 1;
		else
			return fprintf(stderr, "usage: tlbstorm [-t SECONDS] [-p PAGES] [-m]\n"), 2;
	}
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (i = 0; i < n; i++) {
		w[i].cpu = i;
		errno = pthread_create(&w[i].tid, NULL, worker, &w[i]);
		if (errno)
			die("pthread_create");
	}
	t0 = now();
	atomic_store(&go, 1);
	usleep(secs * 1e6);
	atomic_store(&stop, 1);
	t1 = now();
	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
	}
	printf("tlbstorm: mode=%s threads=%d pages=%lu ops=%lu secs=%.2f ops_per_s=%.0f\n",
	       use_munmap ? "munmap" : "zap", n, pages, ops, t1 - t0,
	       ops / (t1 - t0));
	return 0;
}
