// SPDX-License-Identifier: GPL-2.0
/*
 * pvscale-kvmtest: hostile guest input against pvscale_host, driven through
 * /dev/kvm directly in the style of the KVM selftests
 * (tools/testing/selftests/kvm/x86_64/kvm_pv_test.c).
 *
 *   pvscale-kvmtest                  pvscale_host must be loaded
 *   pvscale-kvmtest --expect-absent  pvscale_host must not be loaded: every
 *                                    private hypercall gets -PVSCALE_ENOSYS
 *
 * Run as root on an AMD (SVM) host with kvm_amd. Output is KTAP; the exit
 * status is 0 only when every test passed. Nothing else may create or
 * destroy pvscale registrations meanwhile: the sysfs counters are compared
 * exactly.
 *
 * This program plays the guest. Its "guest code" is one stub, VMMCALL and
 * then an instruction that exits to userspace; a hypercall is KVM_SET_REGS
 * (RAX = number, RBX = argument, RIP = stub), one KVM_RUN, KVM_GET_REGS,
 * and the result is RAX. The page "the guest" registers is written and
 * inspected through the userspace mapping of guest RAM. A few cases run
 * guest code of their own (a write to the read-only slot, a hypercall
 * loop, a nested SVM guest) or several threads, in VMs they create and
 * destroy themselves. A case the platform cannot run (no nested SVM, one
 * CPU) reports a KTAP SKIP with the reason.
 *
 * Guest-physical memory of every VM:
 *   slot 0  RAM, 0 .. 2 MiB, filled with HLT (0xf4) so that a stray jump
 *           stops at an unexpected RIP instead of running on
 *             0x1000   CPL 0 stub: vmmcall; hlt
 *             0x1010   CPL 3 stub: vmmcall; out 0xe9, al
 *             0x1020   CPL 0 stub of irqchip VMs: vmmcall; out 0xe9, al
 *             0x1030   long mode: a write to the read-only slot; hlt
 *             0x1040   long mode: vmrun; hlt
 *             0x1100   the code of a nested guest (SVM)
 *             0x1200   long mode: a REGISTER/UNREGISTER loop
 *             0x2000   long mode page tables: PML4, PDPT, PD (2 MiB
 *                      pages: 0 .. 4 MiB)
 *             0x10000  pvscale pages A, B, C, D, one per 4 KiB
 *             0x20000  VMCB, host save area, Hyper-V VP assist page
 *             0x30000  64 more pvscale pages, one per vCPU
 *   slot 1  read-only RAM (KVM_MEM_READONLY), 2 MiB .. +64 KiB
 *   slot 2  spare RAM, 3 MiB .. +64 KiB, that userspace never touches
 *   nothing else is backed: 1 GiB and 0xfee00000 (no in-kernel irqchip, so
 *   no APIC access page) are holes, as is everything from 4 GiB up.
 *
 * vCPUs run in one of three modes, set with KVM_SET_SREGS alone (no GDT is
 * needed as long as no segment register is reloaded, and none is; the IDT
 * is empty outside real mode, so an exception ends in KVM_EXIT_SHUTDOWN):
 *   real mode (CPL 0), exits with HLT (no irqchip: KVM_EXIT_HLT);
 *   64-bit long mode (CPL 0), identity-mapped, exits with HLT;
 *   32-bit protected mode at CPL 3 with IOPL 3, exits with OUT because HLT
 *   would fault there.
 *
 * 32-bit results: outside 64-bit mode, KVM truncates the hypercall number
 * and arguments to 32 bits and the result too (RAX = (u32)ret). Results are
 * therefore sign-extended from 32 bits in real and protected mode, so that
 * -PVSCALE_EINVAL compares as -22, and a PROBE result there carries only
 * the 32 feature bits (the version is in bits 62..32). Only long mode sees
 * full 64-bit results and can pass a GPA at or above 4 GiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "pv_abi.h"

#define SYSFS_DIR	"/sys/kernel/pvscale_host"
#define GUEST_VERSION	PVSCALE_VERSION(PVSCALE_ABI_MAJOR, PVSCALE_ABI_MINOR)
#define TIME_LIMIT	120	/* seconds for the whole run */

#define PAGE		0x1000ULL
#define RAM_SIZE	0x200000ULL
#define RO_GPA		0x200000ULL
#define RO_SIZE		0x10000ULL
#define SPARE_GPA	0x300000ULL
#define SPARE_SIZE	0x10000ULL
#define SLOT_RAM	0
#define SLOT_RO		1
#define SLOT_SPARE	2

#define STUB_GPA	0x1000ULL	/* vmmcall; hlt */
#define STUB_END	(STUB_GPA + 4)	/* RIP at KVM_EXIT_HLT */
#define USER_STUB_GPA	0x1010ULL	/* vmmcall; out DONE_PORT, al */
#define IPI_STUB_GPA	0x1020ULL	/* the same at CPL 0 (irqchip VMs) */
#define MMIO_STUB_GPA	0x1030ULL	/* mov [RO_GPA], eax; hlt */
#define MMIO_STUB_END	(MMIO_STUB_GPA + 8)
#define VMRUN_STUB_GPA	0x1040ULL	/* vmrun; hlt */
#define VMRUN_STUB_END	(VMRUN_STUB_GPA + 4)
#define NESTED_CODE_GPA	0x1100ULL
#define DONE_PORT	0xe9
#define PML4_GPA	0x2000ULL
#define PDPT_GPA	0x3000ULL
#define PD_GPA		0x4000ULL
#define PAGE_A		0x10000ULL
#define PAGE_B		0x11000ULL
#define PAGE_C		0x12000ULL
#define PAGE_D		0x13000ULL
#define VMCB_GPA	0x20000ULL
#define HSAVE_GPA	0x21000ULL
#define VP_ASSIST_GPA	0x22000ULL
#define LAST_RAM_PAGE	(RAM_SIZE - PAGE)
#define UNBACKED_1G	0x40000000ULL
#define UNBACKED_APIC	0xfee00000ULL
#define UNBACKED_4G	0x100000000ULL

#define HLT_BYTE	0xf4
#define RFLAGS_FIXED	0x2ULL		/* bit 1 is always set */
#define RFLAGS_IOPL3	0x3000ULL
#define CR0_PE		(1ULL << 0)
#define CR0_NE		(1ULL << 5)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* Filled into [H] fields before REGISTER: a field the host forgets shows. */
#define POISON16	0xdeadU
#define POISON32	0xdeadbeefU
#define POISON64	0xdeadbeefdeadbeefULL

enum mode { MODE_REAL, MODE_LONG, MODE_USER };

enum { REASON_MAX = 512 };

struct vcpu {
	int fd;
	int id;			/* KVM vcpu_id, deliberately not the index */
	enum mode mode;
	struct kvm_run *run;
	__u64 rax;		/* raw RAX after the last hypercall */
	char broken[REASON_MAX]; /* why this vCPU cannot be used, or "" */
};

enum { MAX_VCPUS = 4 };	/* the main VM's */

struct vm {
	int fd;
	__u8 *ram, *ro, *spare;
	int nr_vcpus;
	struct vcpu *vcpu;	/* nr_vcpus of them */
};

struct stats {
	long long nr_vcpus, nr_vms, rejected, vm_destroyed;
};

/* The main VM most tests share; its vCPUs, by index. */
enum { VA, VB, VLONG, VUSER };
static const struct {
	int id;
	enum mode mode;
} main_vcpus[] = {
	[VA] = { 3, MODE_REAL },
	[VB] = { 5, MODE_REAL },
	[VLONG] = { 7, MODE_LONG },
	[VUSER] = { 9, MODE_USER },
};

static int kvm_fd = -1;
static size_t run_size;
static struct kvm_cpuid2 *cpuid;
static unsigned int maxphyaddr;	/* the guest's, from CPUID 0x80000008 */
static struct vm vm = { .fd = -1 };
static struct stats base;	/* counters before this program's first VM */
static __u32 features;		/* offered, as PROBE told */
static long long rejected_before;

static char why[REASON_MAX];	/* why the running test failed */
static char skipped[REASON_MAX];	/* why it could not run, or "" */

#define PRINTF(f, a)	__attribute__((format(printf, f, a)))

static bool PRINTF(1, 2) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

/* Like fail(), keeping the reason a helper gave after ": ". */
static bool PRINTF(1, 2) fail_more(const char *fmt, ...)
{
	char inner[REASON_MAX];
	va_list ap;

	memcpy(inner, why, sizeof(inner));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	strncat(why, ": ", sizeof(why) - strlen(why) - 1);
	strncat(why, inner, sizeof(why) - strlen(why) - 1);
	return false;
}

/* The platform lacks what the running test needs: KTAP SKIP, not a pass. */
static bool PRINTF(1, 2) skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skipped, sizeof(skipped), fmt, ap);
	va_end(ap);
	return true;
}

static void PRINTF(1, 2) diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! timed out: a vCPU or the host hangs\n";

	(void)sig;
	/* Exit non-zero whether or not the message got out. */
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* ---- sysfs ---------------------------------------------------------- */

static bool read_attr(const char *name, long long *val)
{
	char path[128], buf[64], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return fail("%s: cannot read", path);
	buf[n] = '\0';
	errno = 0;
	*val = strtoll(buf, &end, 0);
	if (errno || end == buf || (*end && *end != '\n'))
		return fail("%s: not a number: \"%s\"", path, buf);
	return true;
}

static bool write_attr(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return fail("%s: %s", path, strerror(errno));
	n = write(fd, val, strlen(val));
	close(fd);
	if (n != (ssize_t)strlen(val))
		return fail("%s: cannot write \"%s\"", path, val);
	return true;
}

static bool read_stats(struct stats *s)
{
	return read_attr("nr_vcpus", &s->nr_vcpus) &&
	       read_attr("nr_vms", &s->nr_vms) &&
	       read_attr("stats/rejected", &s->rejected) &&
	       read_attr("stats/vm_destroyed", &s->vm_destroyed);
}

static bool expect_nr_vcpus(long long want)
{
	long long n;

	if (!read_attr("nr_vcpus", &n))
		return false;
	if (n != want)
		return fail("nr_vcpus = %lld, want %lld", n, want);
	return true;
}

/* VM teardown is synchronous in KVM, but allow the host some slack. */
static bool wait_counts(long long nr_vcpus, long long nr_vms)
{
	double deadline = now() + 5;
	struct stats s;

	for (;;) {
		if (!read_stats(&s))
			return false;
		if (s.nr_vcpus == nr_vcpus && s.nr_vms == nr_vms)
			return true;
		if (now() > deadline)
			return fail("after 5 s: nr_vcpus = %lld, nr_vms = %lld, want %lld, %lld",
				    s.nr_vcpus, s.nr_vms, nr_vcpus, nr_vms);
		usleep(10000);
	}
}

/* ---- KVM plumbing --------------------------------------------------- */

/*
 * Two VMs, never run, never registered, that hold on the static keys KVM
 * turns on for the first VM (preempt notifiers, in __schedule), the first
 * vCPU without an in-kernel APIC and the first software- or
 * hardware-disabled APIC. Without them every VM that comes and goes
 * patches __schedule and KVM's code twice: cross-CPU text pokes that QEMU's
 * TCG (the suite's L1 with two CPUs) sometimes leaves stale, and L1 then
 * hangs or corrupts itself with no pvscale module loaded (probe-vm-churn).
 * The suite's L1 holds them from boot (--hold-keys, tests/vm/init-l1).
 */
static bool kvm_keep_static_keys(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} base = { .hdr.nmsrs = 1, .e = { .index = 0x1b, .data = 0xfee00000 } };
	int apic_vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	int noapic_vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	int vcpu;

	if (apic_vm < 0 || noapic_vm < 0 || ioctl(apic_vm, KVM_CREATE_IRQCHIP, 0) ||
	    ioctl(noapic_vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("key-holding VMs: %s", strerror(errno));
	vcpu = ioctl(apic_vm, KVM_CREATE_VCPU, 0);
	/* xAPIC base with the enable bit clear: hardware-disabled. */
	if (vcpu < 0 || ioctl(vcpu, KVM_SET_MSRS, &base) != 1)
		return fail("key-holding vCPU: %s", strerror(errno));
	return true;
}

static bool kvm_open(void)
{
	int n, ret;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return fail("/dev/kvm: %s", strerror(errno));
	ret = ioctl(kvm_fd, KVM_GET_API_VERSION, NULL);
	if (ret != KVM_API_VERSION)
		return fail("KVM API version %d, want %d", ret, KVM_API_VERSION);
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return fail("no KVM_CAP_READONLY_MEM");
	ret = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (ret <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	run_size = ret;

	/* EFER.LME needs CPUID.LM in the guest: give vCPUs the host's CPUID. */
	for (n = 64; ; n *= 2) {
		cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return fail("out of memory");
		cpuid->nent = n;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		free(cpuid);
		cpuid = NULL;
		if (errno != E2BIG || n >= 4096)
			return fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	maxphyaddr = 36;	/* KVM's default without the leaf */
	for (n = 0; n < (int)cpuid->nent; n++) {
		if (cpuid->entries[n].function == 0x80000008)
			maxphyaddr = cpuid->entries[n].eax & 0xff;
	}
	if (maxphyaddr < 33 || maxphyaddr > 52)
		return fail("implausible guest MAXPHYADDR %u", maxphyaddr);
	return true;
}

static void seg(struct kvm_segment *s, __u16 sel, __u8 type, __u8 dpl,
		bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/* Put @v in its mode, from whatever state it is in (also after a reset). */
static bool vcpu_set_mode(struct vcpu *v)
{
	struct kvm_sregs sr;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr))
		return fail("vCPU %d KVM_GET_SREGS: %s", v->id, strerror(errno));
	switch (v->mode) {
	case MODE_REAL:
		/* Reset state is real mode; only move CS from F000:FFF0. */
		sr.cs.base = 0;
		sr.cs.selector = 0;
		break;
	case MODE_LONG:
		/* As the KVM selftests' vcpu_init_sregs() does. */
		seg(&sr.cs, 0x08, 0xb, 0, true);
		seg(&sr.ds, 0x10, 0x3, 0, false);
		sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
		sr.tr.selector = 0x18;
		sr.tr.base = 0;
		sr.tr.limit = 0x67;
		sr.tr.type = 11;	/* busy 64-bit TSS */
		sr.tr.present = 1;
		sr.tr.s = 0;
		sr.idt.limit = 0;	/* any exception: triple fault */
		sr.cr0 = CR0_PE | CR0_NE | CR0_PG;
		sr.cr4 = CR4_PAE;
		sr.cr3 = PML4_GPA;
		sr.efer = EFER_LME | EFER_LMA;
		break;
	case MODE_USER:
		/* Flat 32-bit ring 3: KVM takes the CPL from SS.DPL. */
		seg(&sr.cs, 0x1b, 0xb, 3, false);
		seg(&sr.ss, 0x23, 0x3, 3, false);
		sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
		sr.tr.selector = 0x18;
		sr.tr.base = 0;
		sr.tr.limit = 0x67;
		sr.tr.type = 11;	/* busy 32-bit TSS */
		sr.tr.present = 1;
		sr.tr.s = 0;
		sr.idt.limit = 0;	/* any exception: triple fault */
		sr.cr0 = CR0_PE | CR0_NE;
		sr.cr4 = 0;
		sr.efer = 0;
		break;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sr))
		return fail("vCPU %d KVM_SET_SREGS: %s", v->id, strerror(errno));
	return true;
}

static bool set_slot(struct vm *m, __u32 slot, __u32 flags, __u64 gpa,
		     __u64 size, void *mem)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	if (ioctl(m->fd, KVM_SET_USER_MEMORY_REGION, &r))
		return fail("memslot %u at %#llx: %s", slot,
			    (unsigned long long)gpa, strerror(errno));
	return true;
}

static void *map_anon(__u64 size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void write_guest_code(struct vm *m)
{
	static const __u8 stub[] = { 0x0f, 0x01, 0xd9, 0xf4 };
	static const __u8 user_stub[] = { 0x0f, 0x01, 0xd9, 0xe6, DONE_PORT };
	static const __u8 mmio_stub[] = {
		0x89, 0x04, 0x25, RO_GPA & 0xff, (RO_GPA >> 8) & 0xff,
		(RO_GPA >> 16) & 0xff, RO_GPA >> 24,	/* mov [RO_GPA], eax */
		0xf4,
	};
	static const __u8 vmrun_stub[] = { 0x0f, 0x01, 0xd8, 0xf4 };
	__u64 *pml4 = (__u64 *)(m->ram + PML4_GPA);
	__u64 *pdpt = (__u64 *)(m->ram + PDPT_GPA);
	__u64 *pd = (__u64 *)(m->ram + PD_GPA);

	memset(m->ram, HLT_BYTE, RAM_SIZE);
	memcpy(m->ram + STUB_GPA, stub, sizeof(stub));
	memcpy(m->ram + USER_STUB_GPA, user_stub, sizeof(user_stub));
	memcpy(m->ram + IPI_STUB_GPA, user_stub, sizeof(user_stub));
	memcpy(m->ram + MMIO_STUB_GPA, mmio_stub, sizeof(mmio_stub));
	memcpy(m->ram + VMRUN_STUB_GPA, vmrun_stub, sizeof(vmrun_stub));
	memset(m->ram + PML4_GPA, 0, 3 * PAGE);
	pml4[0] = PDPT_GPA | PTE_P | PTE_RW;
	pdpt[0] = PD_GPA | PTE_P | PTE_RW;
	pd[0] = 0 | PTE_P | PTE_RW | PTE_PS;
	pd[1] = RO_GPA | PTE_P | PTE_RW | PTE_PS;
}

static void vm_destroy(struct vm *m)
{
	int i;

	for (i = 0; i < m->nr_vcpus; i++) {
		if (m->vcpu[i].run)
			munmap(m->vcpu[i].run, run_size);
		if (m->vcpu[i].fd >= 0)
			close(m->vcpu[i].fd);
	}
	free(m->vcpu);
	if (m->fd >= 0)
		close(m->fd);
	if (m->ram)
		munmap(m->ram, RAM_SIZE);
	if (m->ro)
		munmap(m->ro, RO_SIZE);
	if (m->spare)
		munmap(m->spare, SPARE_SIZE);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

/*
 * A VM with the memory layout above and @n vCPUs. A vCPU whose mode cannot
 * be set is kept but marked broken (its tests fail with the reason); any
 * other error fails the whole VM.
 */
static bool vm_create_irqchip(struct vm *m, int n, const int *ids,
			      const enum mode *modes, bool irqchip)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->vcpu = calloc(n, sizeof(*m->vcpu));
	if (!m->vcpu)
		return fail("out of memory for %d vCPUs", n);
	m->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (m->fd < 0)
		return fail("KVM_CREATE_VM: %s", strerror(errno));
	/* In-kernel local APICs: only then can an IPI be delivered. */
	if (irqchip && ioctl(m->fd, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	m->ram = map_anon(RAM_SIZE);
	m->ro = map_anon(RO_SIZE);
	m->spare = map_anon(SPARE_SIZE);
	if (!m->ram || !m->ro || !m->spare)
		return fail("mmap guest memory: %s", strerror(errno));
	/* Keep untouched spare pages non-resident: no THP around them. */
	if (madvise(m->spare, SPARE_SIZE, MADV_NOHUGEPAGE))
		return fail("madvise: %s", strerror(errno));
	write_guest_code(m);
	if (!set_slot(m, SLOT_RAM, 0, 0, RAM_SIZE, m->ram) ||
	    !set_slot(m, SLOT_RO, KVM_MEM_READONLY, RO_GPA, RO_SIZE, m->ro) ||
	    !set_slot(m, SLOT_SPARE, 0, SPARE_GPA, SPARE_SIZE, m->spare))
		return false;

	for (i = 0; i < n; i++) {
		struct vcpu *v = &m->vcpu[i];

		v->id = ids[i];
		v->mode = modes[i];
		v->fd = ioctl(m->fd, KVM_CREATE_VCPU, v->id);
		m->nr_vcpus = i + 1;
		if (v->fd < 0)
			return fail("KVM_CREATE_VCPU %d: %s", v->id,
				    strerror(errno));
		v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return fail("mmap kvm_run: %s", strerror(errno));
		}
		if (ioctl(v->fd, KVM_SET_CPUID2, cpuid))
			return fail("vCPU %d KVM_SET_CPUID2: %s", v->id,
				    strerror(errno));
		if (!vcpu_set_mode(v)) {
			memcpy(v->broken, why, sizeof(v->broken));
			diag("vCPU %d unusable: %s", v->id, why);
		}
	}
	return true;
}

static bool vm_create(struct vm *m, int n, const int *ids,
		      const enum mode *modes)
{
	return vm_create_irqchip(m, n, ids, modes, false);
}

static bool set_msr(struct vcpu *v, __u32 index, __u64 data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = index, .data = data } };

	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1)
		return fail("vCPU %d MSR %#x = %#llx refused", v->id, index,
			    (unsigned long long)data);
	return true;
}

/* ---- hypercalls ----------------------------------------------------- */

static const char *hc_name(__u64 nr)
{
	switch (nr) {
	case PVSCALE_HC_PROBE:
		return "PROBE";
	case PVSCALE_HC_REGISTER:
		return "REGISTER";
	case PVSCALE_HC_UNREGISTER:
		return "UNREGISTER";
	case PVSCALE_HC_IPI:
		return "IPI";
	case PVSCALE_HC_FLUSH_TLB:
		return "FLUSH_TLB";
	default:
		return "hypercall";
	}
}

/* The exit right after the VMMCALL: HLT at CPL 0, OUT at CPL 3. */
static bool expected_exit(const struct vcpu *v, const struct kvm_regs *regs)
{
	const struct kvm_run *run = v->run;

	if (v->mode == MODE_USER)
		return run->exit_reason == KVM_EXIT_IO &&
		       run->io.direction == KVM_EXIT_IO_OUT &&
		       run->io.port == DONE_PORT;
	return run->exit_reason == KVM_EXIT_HLT && regs->rip == STUB_END;
}

static bool stopped_after_call(struct vcpu *v, const struct kvm_regs *regs)
{
	struct kvm_run *run = v->run;
	char reason[REASON_MAX];

	if (expected_exit(v, regs))
		return true;

	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		fail("vCPU %d: VM entry failed, hardware reason %#llx",
		     v->id, (unsigned long long)
		     run->fail_entry.hardware_entry_failure_reason);
	else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		fail("vCPU %d: KVM internal error, suberror %u, at rip %#llx",
		     v->id, run->internal.suberror,
		     (unsigned long long)regs->rip);
	else
		fail("vCPU %d: unexpected exit %u at rip %#llx",
		     v->id, run->exit_reason, (unsigned long long)regs->rip);
	/* Start the next test from a known state; KVM may have reset it. */
	memcpy(reason, why, sizeof(reason));
	if (!vcpu_set_mode(v))
		memcpy(v->broken, why, sizeof(v->broken));
	memcpy(why, reason, sizeof(why));
	return false;
}

/*
 * Issue hypercall @nr(@a0, @a1) on @v. On success *ret is the result as the
 * guest's mode sees it: 64 bits in long mode, else RAX sign-extended from
 * 32 bits (see the top of the file); the raw RAX is kept in v->rax.
 */
static bool hypercall2(struct vcpu *v, __u64 nr, __u64 a0, __u64 a1,
		       long long *ret)
{
	bool user = v->mode == MODE_USER;
	struct kvm_regs regs = {
		.rax = nr,
		.rbx = a0,
		.rcx = a1,
		.rip = user ? USER_STUB_GPA : STUB_GPA,
		.rflags = RFLAGS_FIXED | (user ? RFLAGS_IOPL3 : 0),
	};

	if (v->broken[0])
		return fail("vCPU %d unusable: %s", v->id, v->broken);
	if (ioctl(v->fd, KVM_SET_REGS, &regs))
		return fail("vCPU %d KVM_SET_REGS: %s", v->id, strerror(errno));
	if (ioctl(v->fd, KVM_RUN, NULL))
		return fail("vCPU %d KVM_RUN: %s", v->id, strerror(errno));
	if (ioctl(v->fd, KVM_GET_REGS, &regs))
		return fail("vCPU %d KVM_GET_REGS: %s", v->id, strerror(errno));
	if (!stopped_after_call(v, &regs))
		return false;
	v->rax = regs.rax;
	if (v->mode == MODE_LONG)
		*ret = (long long)regs.rax;
	else
		*ret = (__s32)(__u32)regs.rax;
	return true;
}

static bool hypercall(struct vcpu *v, __u64 nr, __u64 a0, long long *ret)
{
	return hypercall2(v, nr, a0, 0, ret);
}

static bool expect_hc(struct vcpu *v, __u64 nr, __u64 a0, long long want)
{
	long long ret;

	if (!hypercall(v, nr, a0, &ret))
		return false;
	if (ret != want)
		return fail("vCPU %d %s (nr %#llx, a0 %#llx) = %lld, want %lld",
			    v->id, hc_name(nr), (unsigned long long)nr,
			    (unsigned long long)a0, ret, want);
	return true;
}

static bool do_register(struct vcpu *v, __u64 gpa, long long want)
{
	return expect_hc(v, PVSCALE_HC_REGISTER, gpa, want);
}

static bool do_unregister(struct vcpu *v, long long want)
{
	return expect_hc(v, PVSCALE_HC_UNREGISTER, 0, want);
}

/* UNREGISTER @v whatever it has, keeping the reason of a failure. */
static void unregister_quietly(struct vcpu *v)
{
	char keep[REASON_MAX];
	long long ret;

	memcpy(keep, why, sizeof(keep));
	hypercall(v, PVSCALE_HC_UNREGISTER, 0, &ret);
	memcpy(why, keep, sizeof(why));
}

/* Drop whatever an earlier, failed test left registered on the main VM. */
static void unregister_all(void)
{
	int i;

	for (i = 0; i < vm.nr_vcpus; i++) {
		if (vm.vcpu[i].mode != MODE_USER)
			unregister_quietly(&vm.vcpu[i]);
	}
}

/* ---- the guest's pages ---------------------------------------------- */

/* Where guest-physical @gpa is in this process, or NULL if unbacked. */
static __u8 *gpa_ptr(struct vm *m, __u64 gpa)
{
	if (gpa < RAM_SIZE)
		return m->ram + gpa;
	if (gpa >= RO_GPA && gpa < RO_GPA + RO_SIZE)
		return m->ro + (gpa - RO_GPA);
	if (gpa >= SPARE_GPA && gpa < SPARE_GPA + SPARE_SIZE)
		return m->spare + (gpa - SPARE_GPA);
	return NULL;
}

static struct pvscale_hdr *hdr_at(struct vm *m, __u64 gpa)
{
	return (struct pvscale_hdr *)gpa_ptr(m, gpa);
}

/* What a guest does before REGISTER: a zeroed page with its header. */
static void page_init_hdr(struct vm *m, __u64 gpa, __u32 magic, __u16 major,
			  __u16 minor, __u32 size)
{
	struct pvscale_hdr *h = hdr_at(m, gpa);

	memset(h, 0, PAGE);
	h->magic = magic;
	h->abi_major = major;
	h->abi_minor = minor;
	h->size = size;
	h->host_abi_major = POISON16;
	h->host_abi_minor = POISON16;
	h->vcpu_id = POISON32;
	h->host_features = POISON64;
}

static void page_init(struct vm *m, __u64 gpa)
{
	page_init_hdr(m, gpa, PVSCALE_MAGIC, PVSCALE_ABI_MAJOR,
		      PVSCALE_ABI_MINOR, PVSCALE_PAGE_SIZE);
}

/* The header of @gpa as the host must leave it after REGISTER by @v. */
static bool check_attached(struct vm *m, __u64 gpa, const struct vcpu *v,
			   __u16 guest_minor)
{
	const struct pvscale_hdr *h = hdr_at(m, gpa);

	if (!h)
		return fail("page %#llx is not guest RAM", (unsigned long long)gpa);
	if (h->host_state != PVSCALE_HOST_ATTACHED)
		return fail("page %#llx: host_state %#x, want %#x",
			    (unsigned long long)gpa, h->host_state,
			    PVSCALE_HOST_ATTACHED);
	if (h->host_abi_major != PVSCALE_ABI_MAJOR ||
	    h->host_abi_minor != PVSCALE_ABI_MINOR)
		return fail("page %#llx: host ABI %#x.%#x, want %d.%d",
			    (unsigned long long)gpa, h->host_abi_major,
			    h->host_abi_minor, PVSCALE_ABI_MAJOR,
			    PVSCALE_ABI_MINOR);
	if (h->vcpu_id != (__u32)v->id)
		return fail("page %#llx: vcpu_id %#x, want %d",
			    (unsigned long long)gpa, h->vcpu_id, v->id);
	if (h->host_features != features)
		return fail("page %#llx: host_features %#llx, want %#x (PROBE)",
			    (unsigned long long)gpa,
			    (unsigned long long)h->host_features, features);
	if (h->generation == 0)
		return fail("page %#llx: generation not advanced",
			    (unsigned long long)gpa);
	if (h->magic != PVSCALE_MAGIC || h->abi_major != PVSCALE_ABI_MAJOR ||
	    h->abi_minor != guest_minor || h->size != PVSCALE_PAGE_SIZE ||
	    h->guest_features != 0)
		return fail("page %#llx: host changed guest-owned fields",
			    (unsigned long long)gpa);
	return true;
}

/*
 * REGISTER the page at @gpa (its header already written) on @v, check what
 * the host wrote back, UNREGISTER. Leaves nothing registered, even when a
 * step fails.
 */
static bool register_roundtrip(struct vm *m, struct vcpu *v, __u64 gpa,
			       __u16 guest_minor)
{
	if (!do_register(v, gpa, 0))
		return false;
	if (!check_attached(m, gpa, v, guest_minor)) {
		unregister_quietly(v);
		return false;
	}
	return do_unregister(v, 0);
}

/*
 * REGISTER of @gpa on @v must fail with @want, leave the page exactly as it
 * was and leave @v without a page.
 */
static bool expect_rejected(struct vcpu *v, __u64 gpa, long long want)
{
	__u8 before[PAGE], *p = gpa_ptr(&vm, gpa & ~(PAGE - 1));

	if (p)
		memcpy(before, p, PAGE);
	if (!do_register(v, gpa, want)) {
		unregister_quietly(v);
		return false;
	}
	if (p && memcmp(before, p, PAGE))
		return fail("rejected page %#llx was written",
			    (unsigned long long)gpa);
	return do_unregister(v, -PVSCALE_ENOENT);
}

/* REGISTER of a page with this header on vCPU A must fail with @want. */
static bool expect_bad_hdr(__u32 magic, __u16 major, __u16 minor, __u32 size,
			   long long want)
{
	page_init_hdr(&vm, PAGE_C, magic, major, minor, size);
	if (expect_rejected(&vm.vcpu[VA], PAGE_C, want))
		return true;
	return fail_more("header magic %#x major %u minor %u size %u",
			 magic, major, minor, size);
}

/* ---- tests: presence and setup -------------------------------------- */

static bool t_pvscale_host_loaded(void)
{
	if (access(SYSFS_DIR, F_OK))
		return fail(SYSFS_DIR " missing: load pvscale_host, or pass --expect-absent");
	return read_stats(&base);
}

static bool t_pvscale_host_absent(void)
{
	if (!access(SYSFS_DIR, F_OK))
		return fail(SYSFS_DIR " exists: pvscale_host is loaded");
	return true;
}

static bool t_create_vm(void)
{
	int ids[MAX_VCPUS];
	enum mode modes[MAX_VCPUS];
	int i;

	if (!kvm_open())
		return false;
	for (i = 0; i < MAX_VCPUS; i++) {
		ids[i] = main_vcpus[i].id;
		modes[i] = main_vcpus[i].mode;
	}
	if (!vm_create(&vm, MAX_VCPUS, ids, modes))
		return false;
	diag("guest MAXPHYADDR %u", maxphyaddr);
	if (vm.vcpu[VA].broken[0] || vm.vcpu[VB].broken[0])
		return fail("real-mode vCPU unusable: %s",
			    vm.vcpu[vm.vcpu[VA].broken[0] ? VA : VB].broken);
	return true;
}

/*
 * The first call in each mode, checked against stock KVM only, so a mode
 * this program failed to set up shows here and not as a pvscale failure.
 * In 64-bit mode KVM's own -KVM_ENOSYS must come back with all 64 bits.
 */
static bool t_long_mode_vcpu(void)
{
	struct vcpu *v = &vm.vcpu[VLONG];

	if (!expect_hc(v, KVM_HC_VAPIC_POLL_IRQ, 0, 0) ||
	    !expect_hc(v, 0x12345, 0, -KVM_ENOSYS))
		return false;
	if (v->rax != (__u64)-KVM_ENOSYS)
		return fail("RAX %#llx: KVM did not see a 64-bit caller",
			    (unsigned long long)v->rax);
	return true;
}

/* KVM itself refuses every hypercall from CPL > 0 with -KVM_EPERM. */
static bool t_cpl3_vcpu(void)
{
	return expect_hc(&vm.vcpu[VUSER], KVM_HC_VAPIC_POLL_IRQ, 0,
			 -KVM_EPERM);
}

/* ---- tests: PROBE --------------------------------------------------- */

static bool t_probe_32bit(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	long long offered, ret;

	if (!hypercall(v, PVSCALE_HC_PROBE, GUEST_VERSION, &ret))
		return false;
	if (v->rax >> 32)
		return fail("RAX %#llx: a 32-bit caller must get KVM's 32-bit result",
			    (unsigned long long)v->rax);
	if (ret < 0)
		return fail("PROBE = %lld", ret);
	features = (__u32)ret;
	if (features & ~PVSCALE_FEATURES_DEFINED)
		return fail("offers undefined features %#x", features);
	if (!read_attr("offered_features", &offered))
		return false;
	if (offered != features)
		return fail("PROBE features %#x, sysfs offered_features %#llx",
			    features, offered);
	return true;
}

static bool t_probe_64bit(void)
{
	long long ret;

	if (!hypercall(&vm.vcpu[VLONG], PVSCALE_HC_PROBE, GUEST_VERSION, &ret))
		return false;
	if (ret < 0)
		return fail("PROBE = %lld", ret);
	if (PVSCALE_PROBE_MAJOR(ret) != PVSCALE_ABI_MAJOR ||
	    PVSCALE_PROBE_MINOR(ret) != PVSCALE_ABI_MINOR)
		return fail("PROBE %#llx: ABI %u.%u, want %d.%d",
			    (unsigned long long)ret, PVSCALE_PROBE_MAJOR(ret),
			    PVSCALE_PROBE_MINOR(ret), PVSCALE_ABI_MAJOR,
			    PVSCALE_ABI_MINOR);
	if (PVSCALE_PROBE_FEATURES(ret) != features)
		return fail("64-bit PROBE features %#x, 32-bit %#x",
			    PVSCALE_PROBE_FEATURES(ret), features);
	return true;
}

/* The guest version is the guest's to compare; any value gets an answer. */
static bool t_probe_any_guest_version(void)
{
	static const __u64 ver[] = { 0, PVSCALE_VERSION(2, 0),
				     PVSCALE_VERSION(0xffff, 0xffff), ~0ULL };
	long long want = PVSCALE_PROBE_RESULT(PVSCALE_ABI_MAJOR,
					      PVSCALE_ABI_MINOR, features);
	long long ret;
	unsigned int i;

	for (i = 0; i < sizeof(ver) / sizeof(ver[0]); i++) {
		if (!hypercall(&vm.vcpu[VLONG], PVSCALE_HC_PROBE, ver[i], &ret))
			return false;
		if (ret != want && !(ret < 0 && ret >= -PVSCALE_ENOSYS))
			return fail("PROBE(%#llx) = %#llx: neither %#llx nor an error",
				    (unsigned long long)ver[i],
				    (unsigned long long)ret,
				    (unsigned long long)want);
	}
	return true;
}

static bool t_probe_not_rejected(void)
{
	struct stats s0, s1;
	long long ret;
	int i;

	if (!read_stats(&s0))
		return false;
	for (i = 0; i < 3; i++) {
		if (!hypercall(&vm.vcpu[VA], PVSCALE_HC_PROBE,
			       GUEST_VERSION, &ret))
			return false;
	}
	if (!read_stats(&s1))
		return false;
	if (s1.rejected != s0.rejected || s1.nr_vcpus != s0.nr_vcpus)
		return fail("PROBE changed rejected %lld -> %lld, nr_vcpus %lld -> %lld",
			    s0.rejected, s1.rejected, s0.nr_vcpus, s1.nr_vcpus);
	return true;
}

/* ---- tests: REGISTER / UNREGISTER on one vCPU ----------------------- */

static bool t_register(void)
{
	unregister_all();
	page_init(&vm, PAGE_A);
	return do_register(&vm.vcpu[VA], PAGE_A, 0);
}

static bool t_register_header_written(void)
{
	return check_attached(&vm, PAGE_A, &vm.vcpu[VA], PVSCALE_ABI_MINOR);
}

static bool t_register_counted(void)
{
	return expect_nr_vcpus(base.nr_vcpus + 1);
}

static bool t_register_again_eexist(void)
{
	struct vcpu *v = &vm.vcpu[VA];

	if (!do_register(v, PAGE_A, -PVSCALE_EEXIST))
		return false;
	page_init(&vm, PAGE_B);
	if (!do_register(v, PAGE_B, -PVSCALE_EEXIST))
		return false;
	if (hdr_at(&vm, PAGE_B)->host_state)
		return fail("second page was attached");
	return check_attached(&vm, PAGE_A, v, PVSCALE_ABI_MINOR);
}

static bool t_unregister(void)
{
	struct pvscale_hdr *h = hdr_at(&vm, PAGE_A);
	__u64 gen = h->generation;

	/* A hostile guest scribbles on [H] fields; detach rewrites them. */
	h->host_features = POISON64;
	if (!do_unregister(&vm.vcpu[VA], 0))
		return false;
	if (h->host_state & PVSCALE_HOST_ATTACHED)
		return fail("host_state %#x still ATTACHED", h->host_state);
	if (h->host_features)
		return fail("host_features %#llx, want 0 on detach",
			    (unsigned long long)h->host_features);
	if (h->generation <= gen)
		return fail("generation %llu -> %llu on detach",
			    (unsigned long long)gen,
			    (unsigned long long)h->generation);
	return true;
}

static bool t_unregister_counted(void)
{
	return expect_nr_vcpus(base.nr_vcpus);
}

static bool t_unregister_again_enoent(void)
{
	return do_unregister(&vm.vcpu[VA], -PVSCALE_ENOENT);
}

/* Once UNREGISTER returned 0 the host never touches the page again. */
static bool t_page_untouched_after_unregister(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	__u8 *p = gpa_ptr(&vm, PAGE_A);
	long long ret;
	unsigned int i;

	memset(p, 0xa5, PAGE);
	if (!hypercall(v, PVSCALE_HC_PROBE, GUEST_VERSION, &ret))
		return false;
	page_init(&vm, PAGE_B);
	if (!do_register(v, PAGE_B, 0) || !do_unregister(v, 0) ||
	    !do_unregister(v, -PVSCALE_ENOENT) ||
	    !expect_hc(v, KVM_HC_VAPIC_POLL_IRQ, 0, 0))
		return false;
	for (i = 0; i < PAGE; i++) {
		if (p[i] != 0xa5)
			return fail("byte %#x of the unregistered page is %#x",
				    i, p[i]);
	}
	return true;
}

/* ---- tests: bad addresses ------------------------------------------- */

static bool t_register_unaligned_plus_1(void)
{
	unregister_all();
	if (!read_attr("stats/rejected", &rejected_before))
		return false;
	page_init(&vm, PAGE_A);
	return expect_rejected(&vm.vcpu[VA], PAGE_A + 1, -PVSCALE_EINVAL);
}

static bool t_register_unaligned_plus_0x800(void)
{
	return expect_rejected(&vm.vcpu[VA], PAGE_A + 0x800, -PVSCALE_EINVAL);
}

static bool t_register_unaligned_plus_0xfff(void)
{
	return expect_rejected(&vm.vcpu[VA], PAGE_A + 0xfff, -PVSCALE_EINVAL);
}

static bool t_register_unbacked_1g(void)
{
	return expect_rejected(&vm.vcpu[VA], UNBACKED_1G, -PVSCALE_EFAULT);
}

static bool t_register_unbacked_apic(void)
{
	return expect_rejected(&vm.vcpu[VA], UNBACKED_APIC, -PVSCALE_EFAULT);
}

static bool t_register_readonly_slot(void)
{
	page_init(&vm, RO_GPA);
	return expect_rejected(&vm.vcpu[VA], RO_GPA, -PVSCALE_EFAULT);
}

/* The six rejections above, each followed by an UNREGISTER -ENOENT. */
static bool t_rejected_counted(void)
{
	long long n;

	if (!read_attr("stats/rejected", &n))
		return false;
	if (n < rejected_before + 6)
		return fail("stats/rejected %lld -> %lld over 6 rejected REGISTERs",
			    rejected_before, n);
	return expect_nr_vcpus(base.nr_vcpus);
}

static bool t_register_last_ram_page(void)
{
	page_init(&vm, LAST_RAM_PAGE);
	return register_roundtrip(&vm, &vm.vcpu[VA], LAST_RAM_PAGE,
				  PVSCALE_ABI_MINOR);
}

/*
 * A page the host has not faulted in: -PVSCALE_EAGAIN ("touch it, retry"),
 * or -PVSCALE_EINVAL from a host that faults it in and finds it zeroed.
 * Writing the header touches it; the retry must then succeed.
 */
static bool t_register_nonresident_then_retry(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	__u64 gpa = SPARE_GPA + PAGE;
	long long ret;

	if (!hypercall(v, PVSCALE_HC_REGISTER, gpa, &ret))
		return false;
	if (ret != -PVSCALE_EAGAIN && ret != -PVSCALE_EINVAL)
		return fail("untouched page: REGISTER = %lld, want %d or %d",
			    ret, -PVSCALE_EAGAIN, -PVSCALE_EINVAL);
	page_init(&vm, gpa);
	if (!do_register(v, gpa, 0))
		return false;
	return do_unregister(v, 0);
}

/* ---- tests: bad headers --------------------------------------------- */

static bool t_hdr_bad_magic(void)
{
	static const __u32 magic[] = { 0, 0x50565343, PVSCALE_MAGIC ^ 1, ~0u };
	unsigned int i;

	unregister_all();
	for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++) {
		if (!expect_bad_hdr(magic[i], PVSCALE_ABI_MAJOR,
				    PVSCALE_ABI_MINOR, PVSCALE_PAGE_SIZE,
				    -PVSCALE_EINVAL))
			return false;
	}
	return true;
}

static bool t_hdr_bad_size(void)
{
	static const __u32 size[] = { 0, 4095, 4097, 8192 };
	unsigned int i;

	for (i = 0; i < sizeof(size) / sizeof(size[0]); i++) {
		if (!expect_bad_hdr(PVSCALE_MAGIC, PVSCALE_ABI_MAJOR,
				    PVSCALE_ABI_MINOR, size[i],
				    -PVSCALE_EINVAL))
			return false;
	}
	return true;
}

static bool t_hdr_next_major_eproto(void)
{
	return expect_bad_hdr(PVSCALE_MAGIC, PVSCALE_ABI_MAJOR + 1,
			      PVSCALE_ABI_MINOR, PVSCALE_PAGE_SIZE,
			      -PVSCALE_EPROTO);
}

static bool t_hdr_major_0_eproto(void)
{
	return expect_bad_hdr(PVSCALE_MAGIC, 0, PVSCALE_ABI_MINOR,
			      PVSCALE_PAGE_SIZE, -PVSCALE_EPROTO);
}

/* pvscale_check_hdr(): a malformed header is EINVAL whatever its major. */
static bool t_hdr_bad_magic_and_major(void)
{
	return expect_bad_hdr(0, PVSCALE_ABI_MAJOR + 1, PVSCALE_ABI_MINOR,
			      PVSCALE_PAGE_SIZE, -PVSCALE_EINVAL);
}

/* A newer minor only adds: accepted, and the host states its own minor. */
static bool t_hdr_future_minor_accepted(void)
{
	static const __u16 minor[] = { 7, 0xffff };
	unsigned int i;

	for (i = 0; i < sizeof(minor) / sizeof(minor[0]); i++) {
		page_init_hdr(&vm, PAGE_C, PVSCALE_MAGIC, PVSCALE_ABI_MAJOR,
			      minor[i], PVSCALE_PAGE_SIZE);
		if (!register_roundtrip(&vm, &vm.vcpu[VA], PAGE_C, minor[i]))
			return false;
	}
	return true;
}

/* ---- tests: hypercall numbers and modes ----------------------------- */

static bool t_unknown_private_numbers(void)
{
	/* The first number pv_abi.h leaves unassigned, a middle one, the last. */
	static const __u64 nr[] = { PVSCALE_HC_BASE + 5, PVSCALE_HC_BASE + 0x80,
				    PVSCALE_HC_LAST };
	unsigned int i;

	for (i = 0; i < sizeof(nr) / sizeof(nr[0]); i++) {
		if (!expect_hc(&vm.vcpu[VA], nr[i], PAGE_A, -PVSCALE_ENOSYS) ||
		    !expect_hc(&vm.vcpu[VLONG], nr[i], PAGE_A, -PVSCALE_ENOSYS))
			return false;
	}
	return true;
}

static bool t_numbers_outside_private_range(void)
{
	static const __u64 nr[] = { PVSCALE_HC_LAST + 1, PVSCALE_HC_BASE - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(nr) / sizeof(nr[0]); i++) {
		if (!expect_hc(&vm.vcpu[VA], nr[i], PAGE_A, -KVM_ENOSYS) ||
		    !expect_hc(&vm.vcpu[VLONG], nr[i], PAGE_A, -KVM_ENOSYS))
			return false;
	}
	return true;
}

static bool t_kvm_unknown_number(void)
{
	return expect_hc(&vm.vcpu[VA], 0x12345, 0, -KVM_ENOSYS) &&
	       expect_hc(&vm.vcpu[VLONG], 0x12345, 0, -KVM_ENOSYS);
}

static bool t_kvm_vapic_poll_irq(void)
{
	return expect_hc(&vm.vcpu[VA], KVM_HC_VAPIC_POLL_IRQ, 0, 0);
}

/* Outside 64-bit mode KVM ignores RAX[63:32]; so must the host. */
static bool t_nr_high_bits_ignored_32bit(void)
{
	return expect_hc(&vm.vcpu[VA], 1ULL << 32 | PVSCALE_HC_PROBE,
			 GUEST_VERSION, features);
}

/* ... while in 64-bit mode they make it another, unknown, number. */
static bool t_nr_high_bits_64bit(void)
{
	struct vcpu *v = &vm.vcpu[VLONG];

	page_init(&vm, PAGE_D);
	return expect_hc(v, 1ULL << 32 | PVSCALE_HC_PROBE, 0,
			 -KVM_ENOSYS) &&
	       expect_hc(v, 1ULL << 32 | PVSCALE_HC_REGISTER, PAGE_D,
			 -KVM_ENOSYS) &&
	       do_unregister(v, -PVSCALE_ENOENT);
}

static bool t_a0_high_bits_ignored_32bit(void)
{
	struct vcpu *v = &vm.vcpu[VA];

	page_init(&vm, PAGE_A);
	if (!do_register(v, 1ULL << 32 | PAGE_A, 0))
		return false;
	if (!check_attached(&vm, PAGE_A, v, PVSCALE_ABI_MINOR)) {
		unregister_quietly(v);
		return false;
	}
	return do_unregister(v, 0);
}

/* KVM refuses hypercalls from CPL 3 (-KVM_EPERM); nothing may change. */
static bool t_cpl3_eperm(void)
{
	struct vcpu *v = &vm.vcpu[VUSER];
	__u8 before[PAGE];

	page_init(&vm, PAGE_C);
	memcpy(before, gpa_ptr(&vm, PAGE_C), PAGE);
	if (!expect_hc(v, PVSCALE_HC_PROBE, GUEST_VERSION,
		       -PVSCALE_EPERM) ||
	    !expect_hc(v, PVSCALE_HC_REGISTER, PAGE_C, -PVSCALE_EPERM) ||
	    !expect_hc(v, PVSCALE_HC_UNREGISTER, 0, -PVSCALE_EPERM))
		return false;
	if (memcmp(before, gpa_ptr(&vm, PAGE_C), PAGE))
		return fail("page written by a CPL 3 REGISTER");
	return expect_nr_vcpus(base.nr_vcpus);
}

/* ---- tests: 64-bit ----------------------------------------------------- */

static bool t_register_64bit(void)
{
	page_init(&vm, PAGE_D);
	return register_roundtrip(&vm, &vm.vcpu[VLONG], PAGE_D,
				  PVSCALE_ABI_MINOR);
}

/* An error reaches a 64-bit caller as a full 64-bit negative number. */
static bool t_result_64bit_sign_extended(void)
{
	struct vcpu *v = &vm.vcpu[VLONG];

	if (!do_unregister(v, -PVSCALE_ENOENT))
		return false;
	if (v->rax != (__u64)-PVSCALE_ENOENT)
		return fail("RAX %#llx", (unsigned long long)v->rax);
	return true;
}

static bool t_register_gpa_bit52(void)
{
	return expect_rejected(&vm.vcpu[VLONG], 1ULL << 52, -PVSCALE_EINVAL);
}

static bool t_register_gpa_at_maxphyaddr(void)
{
	return expect_rejected(&vm.vcpu[VLONG], 1ULL << maxphyaddr,
			       -PVSCALE_EINVAL);
}

static bool t_register_gpa_below_maxphyaddr_unbacked(void)
{
	return expect_rejected(&vm.vcpu[VLONG], (1ULL << maxphyaddr) - PAGE,
			       -PVSCALE_EFAULT);
}

static bool t_register_gpa_4g_unbacked(void)
{
	return expect_rejected(&vm.vcpu[VLONG], UNBACKED_4G, -PVSCALE_EFAULT);
}

static bool t_register_gpa_all_ones(void)
{
	return expect_rejected(&vm.vcpu[VLONG], ~(PAGE - 1),
			       -PVSCALE_EINVAL) &&
	       expect_rejected(&vm.vcpu[VLONG], ~0ULL, -PVSCALE_EINVAL);
}

/* ---- tests: two vCPUs ----------------------------------------------- */

static bool t_other_vcpus_page_ebusy(void)
{
	unregister_all();
	page_init(&vm, PAGE_A);
	if (!do_register(&vm.vcpu[VA], PAGE_A, 0) ||
	    !expect_rejected(&vm.vcpu[VB], PAGE_A, -PVSCALE_EBUSY))
		return false;
	return check_attached(&vm, PAGE_A, &vm.vcpu[VA], PVSCALE_ABI_MINOR);
}

static bool t_other_vcpu_own_page(void)
{
	page_init(&vm, PAGE_B);
	return do_register(&vm.vcpu[VB], PAGE_B, 0) &&
	       check_attached(&vm, PAGE_B, &vm.vcpu[VB], PVSCALE_ABI_MINOR) &&
	       expect_nr_vcpus(base.nr_vcpus + 2);
}

static bool t_unregister_is_per_vcpu(void)
{
	if (!do_unregister(&vm.vcpu[VA], 0))
		return false;
	if (!check_attached(&vm, PAGE_B, &vm.vcpu[VB], PVSCALE_ABI_MINOR))
		return false;
	return do_unregister(&vm.vcpu[VB], 0) &&
	       expect_nr_vcpus(base.nr_vcpus);
}

static bool t_page_reusable_after_unregister(void)
{
	page_init(&vm, PAGE_A);
	return register_roundtrip(&vm, &vm.vcpu[VB], PAGE_A,
				  PVSCALE_ABI_MINOR);
}

/* ---- tests: the guest misbehaves while registered -------------------- */

static bool t_unregister_after_page_trashed(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	long long ret;

	unregister_all();
	page_init(&vm, PAGE_A);
	if (!do_register(v, PAGE_A, 0))
		return false;
	memset(gpa_ptr(&vm, PAGE_A), 0xff, PAGE);
	if (!hypercall(v, PVSCALE_HC_PROBE, GUEST_VERSION, &ret))
		return false;
	return do_unregister(v, 0) && expect_nr_vcpus(base.nr_vcpus);
}

/* Userspace deletes the memslot under a registered page. */
static bool t_unregister_after_memslot_deleted(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	long long ret;

	page_init(&vm, SPARE_GPA);
	if (!do_register(v, SPARE_GPA, 0) ||
	    !set_slot(&vm, SLOT_SPARE, 0, SPARE_GPA, 0, vm.spare))
		return false;
	if (!hypercall(v, PVSCALE_HC_PROBE, GUEST_VERSION, &ret))
		return false;
	return do_unregister(v, 0) &&
	       expect_rejected(v, SPARE_GPA, -PVSCALE_EFAULT) &&
	       expect_nr_vcpus(base.nr_vcpus);
}

/*
 * REGISTER that waits out -PVSCALE_EAGAIN: a host bounds the registrations
 * it is still freeing (register_churn_bounded), and a tight loop reaches
 * the bound. *@waits counts the retries.
 */
static bool register_retrying(struct vcpu *v, __u64 gpa, int *waits)
{
	double deadline = now() + 5;
	long long ret;

	for (;;) {
		if (!hypercall(v, PVSCALE_HC_REGISTER, gpa, &ret))
			return false;
		if (ret != -PVSCALE_EAGAIN || now() > deadline)
			break;
		(*waits)++;
		usleep(1000);
	}
	if (ret)
		return fail("vCPU %d REGISTER(%#llx) = %lld, want 0", v->id,
			    (unsigned long long)gpa, ret);
	return true;
}

static bool t_register_unregister_loop(void)
{
	struct vcpu *v = &vm.vcpu[VA];
	double start = now();
	int i, waits = 0;

	page_init(&vm, PAGE_A);
	for (i = 0; i < 1000; i++) {
		if (!register_retrying(v, PAGE_A, &waits) ||
		    !do_unregister(v, 0))
			return fail_more("iteration %d", i);
		/* Leave time for the rest under emulation (TCG). */
		if (now() - start > 15) {
			diag("loop stopped after %d iterations (15 s)", i + 1);
			break;
		}
	}
	diag("%d REGISTER/UNREGISTER pairs in %.2f s, %d waits for -EAGAIN",
	     i, now() - start, waits);
	if (hdr_at(&vm, PAGE_A)->host_state)
		return fail("page still ATTACHED after the loop");
	return expect_nr_vcpus(base.nr_vcpus);
}

/* ---- tests: PV TLB shootdown ---------------------------------------- */

static const char *const tlb_toggles[] = { "features/tlb",
					    "features/tlb_hostflush" };
static long long tlb_toggles_were[2];

/* The host may have been loaded with features=0: these tests need both. */
static bool t_tlb_features_on(void)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (!read_attr(tlb_toggles[i], &tlb_toggles_were[i]) ||
		    !write_attr(tlb_toggles[i], "1"))
			return false;
	return true;
}

/* ... and the later tests need what the host offered before. */
static bool t_tlb_features_restored(void)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (!write_attr(tlb_toggles[i], tlb_toggles_were[i] ? "1" : "0"))
			return false;
	return true;
}

static struct pvscale_page *page_at(struct vm *m, __u64 gpa)
{
	return (struct pvscale_page *)gpa_ptr(m, gpa);
}

static bool flush_tlb(struct vcpu *v, __u64 first, __u64 nwords,
		      long long want)
{
	long long ret;

	if (!hypercall2(v, PVSCALE_HC_FLUSH_TLB, first, nwords, &ret))
		return false;
	if (ret != want)
		return fail("vCPU %d FLUSH_TLB(%#llx, %#llx) = %lld, want %lld",
			    v->id, (unsigned long long)first,
			    (unsigned long long)nwords, ret, want);
	return true;
}

/* Register VA on PAGE_A and VLONG on PAGE_D, dest sets empty. */
static bool flush_setup(void)
{
	unregister_all();
	page_init(&vm, PAGE_A);
	page_init(&vm, PAGE_D);
	return do_register(&vm.vcpu[VA], PAGE_A, 0) &&
	       do_register(&vm.vcpu[VLONG], PAGE_D, 0);
}

static bool t_flush_tlb_unregistered_enoent(void)
{
	unregister_all();
	return flush_tlb(&vm.vcpu[VA], 0, 1, -PVSCALE_ENOENT) &&
	       flush_tlb(&vm.vcpu[VLONG], 0, 1, -PVSCALE_ENOENT);
}

/*
 * Windows that are empty, too wide or past the host's APIC IDs (KVM's
 * KVM_MAX_VCPU_IDS: 4096 on 6.1, 16384 on 6.12).
 */
static bool t_flush_tlb_bad_windows(void)
{
	int ids = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	const __u64 bad[][2] = {
		{ 0, 0 }, { 0, 65 }, { ids, 1 }, { ids - 63, 1 },
		{ ids - 96, 2 }, { 0xffffffff, 1 }, { 0, 0xffffffff },
	};
	static const __u64 bad64[][2] = {
		{ 0, 1ULL << 32 }, { 1ULL << 32, 1 }, { ~0ULL, 1 }, { 0, ~0ULL },
		{ (1ULL << 32) | 5, 1 },
	};
	unsigned int i;

	if (ids < 64)
		return fail("KVM_CAP_MAX_VCPU_ID = %d", ids);
	if (!flush_setup())
		return false;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!flush_tlb(&vm.vcpu[VA], bad[i][0], bad[i][1], -PVSCALE_EINVAL) ||
		    !flush_tlb(&vm.vcpu[VLONG], bad[i][0], bad[i][1], -PVSCALE_EINVAL))
			return false;
	for (i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++)
		if (!flush_tlb(&vm.vcpu[VLONG], bad64[i][0], bad64[i][1],
			       -PVSCALE_EINVAL))
			return false;
	return true;
}

/* Outside 64-bit mode the host sees 32-bit arguments, as KVM's own do. */
static bool t_flush_tlb_32bit_truncated(void)
{
	return flush_setup() &&
	       flush_tlb(&vm.vcpu[VA], 1ULL << 32, (1ULL << 32) | 1, 0);
}

/*
 * IDs 3, 5, 7, 9 are the main VM's vCPUs (the caller, VA, is 3); 64 and
 * 4095 name none. The caller is never its own target. VUSER (9) sits in
 * the OUT that ends its stub, which the next KVM_RUN completes: in the
 * middle of an instruction, so a set naming it cannot be flushed from the
 * host (-PVSCALE_EAGAIN, hostflush_unsafe); the others stopped after a
 * complete HLT, in userspace.
 */
static bool flush_counts(__u64 first, __u64 nwords, long long targets,
			 long long want)
{
	long long c0, t0, u0, c1, t1, u1;

	if (!read_attr("stats/hostflush_calls", &c0) ||
	    !read_attr("stats/hostflush_targets", &t0) ||
	    !read_attr("stats/hostflush_unsafe", &u0) ||
	    !flush_tlb(&vm.vcpu[VA], first, nwords, want) ||
	    !read_attr("stats/hostflush_calls", &c1) ||
	    !read_attr("stats/hostflush_targets", &t1) ||
	    !read_attr("stats/hostflush_unsafe", &u1))
		return false;
	if (c1 != c0 + 1 || t1 != t0 + targets || u1 != u0 + !!want)
		return fail("hostflush_calls +%lld, hostflush_targets +%lld, hostflush_unsafe +%lld, want +1, +%lld, +%d",
			    c1 - c0, t1 - t0, u1 - u0, targets, !!want);
	return true;
}

static bool t_flush_tlb_targets(void)
{
	struct pvscale_dest *d = &page_at(&vm, PAGE_A)->dest;

	if (!flush_setup())
		return false;
	d->bitmap[0] = 1ULL << 3 | 1ULL << 5 | 1ULL << 7;
	d->bitmap[1] = 1;
	d->bitmap[63] = 1ULL << 63;
	if (!flush_counts(0, 64, 2, 0))
		return false;
	/* From ID 5: bit 0 is VB, bit 2 VLONG; bit 64 is past the word. */
	memset(d->bitmap, 0, sizeof(d->bitmap));
	d->bitmap[0] = 1ULL << 0 | 1ULL << 2;
	d->bitmap[1] = 1;
	if (!flush_counts(5, 1, 2, 0))
		return false;
	memset(d->bitmap, 0xff, sizeof(d->bitmap));
	return flush_counts(4032, 1, 0, 0);
}

/* A target in the middle of an instruction: the guest must flush it. */
static bool t_flush_tlb_target_mid_instruction(void)
{
	struct pvscale_dest *d = &page_at(&vm, PAGE_A)->dest;

	if (!flush_setup())
		return false;
	d->bitmap[0] = 1ULL << 5 | 1ULL << 9;
	if (!flush_counts(0, 1, 2, -PVSCALE_EAGAIN))
		return false;
	memset(d->bitmap, 0xff, sizeof(d->bitmap));
	return flush_counts(0, 64, 3, -PVSCALE_EAGAIN);
}

static bool t_flush_tlb_toggle_off_eopnotsupp(void)
{
	bool ok;

	if (!flush_setup() || !write_attr("features/tlb_hostflush", "0"))
		return false;
	ok = flush_tlb(&vm.vcpu[VA], 0, 1, -PVSCALE_EOPNOTSUPP);
	return write_attr("features/tlb_hostflush", "1") && ok &&
	       flush_tlb(&vm.vcpu[VA], 0, 1, 0);
}

/* flush_on_entry + flush_on_detach: flushes honoured for a FLUSH byte. */
static bool tlb_flushes_done(long long *n)
{
	long long e, d;

	if (!read_attr("stats/flush_on_entry", &e) ||
	    !read_attr("stats/flush_on_detach", &d))
		return false;
	*n = e + d;
	return true;
}

/*
 * Whatever the byte holds when a vCPU is loaded (every vCPU ioctl loads
 * it, KVM_RUN included), it is 0 before guest code runs, and a FLUSH in
 * it is one flush: PREEMPTED|FLUSH as the guest sets it, and garbage.
 */
static bool tlb_byte_on_load(__u8 byte, long long flushes)
{
	__u8 *state = &page_at(&vm, PAGE_A)->tlb.state;
	long long n0, n1, ret;

	*state = byte;
	if (!tlb_flushes_done(&n0) ||
	    !hypercall(&vm.vcpu[VA], PVSCALE_HC_PROBE, GUEST_VERSION, &ret) ||
	    !tlb_flushes_done(&n1))
		return false;
	if (*state)
		return fail("tlb.state %#x stayed %#x across a vCPU load",
			    byte, *state);
	if (n1 - n0 != flushes)
		return fail("tlb.state %#x: %lld flushes, want %lld", byte,
			    n1 - n0, flushes);
	return true;
}

static bool t_tlb_flush_on_load(void)
{
	return flush_setup() &&
	       tlb_byte_on_load(PVSCALE_TLB_PREEMPTED | PVSCALE_TLB_FLUSH, 1) &&
	       tlb_byte_on_load(PVSCALE_TLB_PREEMPTED, 0) &&
	       tlb_byte_on_load(0xff, 1) && tlb_byte_on_load(0, 0);
}

/* The host stops serving the byte (toggle off): the FLUSH in it is done. */
static bool t_tlb_toggle_off_takes_flush(void)
{
	__u8 *state = &page_at(&vm, PAGE_A)->tlb.state;
	long long n0, n1;
	bool ok;

	if (!flush_setup() || !tlb_flushes_done(&n0))
		return false;
	*state = PVSCALE_TLB_PREEMPTED | PVSCALE_TLB_FLUSH;
	ok = write_attr("features/tlb", "0") && tlb_flushes_done(&n1);
	if (!write_attr("features/tlb", "1") || !ok)
		return false;
	if (*state || n1 != n0 + 1)
		return fail("toggle off: tlb.state %#x, %lld flushes, want 0, 1",
			    *state, n1 - n0);
	return true;
}

/* A VM destroyed with a FLUSH pending: done, on a vCPU being torn down. */
static bool t_tlb_vm_destroy_takes_flush(void)
{
	static const int ids[] = { 0 };
	static const enum mode modes[] = { MODE_REAL };
	struct vm m = { .fd = -1 };
	long long n0, n1;

	if (!tlb_flushes_done(&n0) || !vm_create(&m, 1, ids, modes))
		return false;
	page_init(&m, PAGE_A);
	if (!do_register(&m.vcpu[0], PAGE_A, 0)) {
		vm_destroy(&m);
		return false;
	}
	page_at(&m, PAGE_A)->tlb.state = PVSCALE_TLB_PREEMPTED | PVSCALE_TLB_FLUSH;
	vm_destroy(&m);
	if (!wait_counts(base.nr_vcpus + 2, base.nr_vms + 1) ||
	    !tlb_flushes_done(&n1))
		return false;
	if (n1 != n0 + 1)
		return fail("VM destroyed with a FLUSH pending: %lld flushes, want 1",
			    n1 - n0);
	return true;
}

/* ---- tests: VM lifetime --------------------------------------------- */

static struct vm vm2 = { .fd = -1 };
static struct stats before_vm2;

/* GPAs are per VM: another VM may register the same one. */
static bool t_same_gpa_in_other_vm(void)
{
	static const int ids[] = { 0, 1 };
	static const enum mode modes[] = { MODE_REAL, MODE_REAL };

	unregister_all();
	page_init(&vm, PAGE_A);
	if (!do_register(&vm.vcpu[VA], PAGE_A, 0) || !read_stats(&before_vm2))
		return false;
	if (!vm_create(&vm2, 2, ids, modes))
		return false;
	page_init(&vm2, PAGE_A);
	page_init(&vm2, PAGE_B);
	return do_register(&vm2.vcpu[0], PAGE_A, 0) &&
	       check_attached(&vm2, PAGE_A, &vm2.vcpu[0], PVSCALE_ABI_MINOR) &&
	       do_register(&vm2.vcpu[1], PAGE_B, 0) &&
	       expect_nr_vcpus(before_vm2.nr_vcpus + 2);
}

/*
 * Destroy a VM with pages registered, its memory unmapped first: the host
 * must let go of them without any UNREGISTER.
 */
static bool t_destroy_vm_with_pages(void)
{
	if (vm2.ram)
		munmap(vm2.ram, RAM_SIZE);
	vm2.ram = NULL;
	vm_destroy(&vm2);
	return wait_counts(before_vm2.nr_vcpus, before_vm2.nr_vms) &&
	       check_attached(&vm, PAGE_A, &vm.vcpu[VA], PVSCALE_ABI_MINOR);
}

static bool t_vm_destroyed_counted(void)
{
	long long n;

	if (!read_attr("stats/vm_destroyed", &n))
		return false;
	if (n < before_vm2.vm_destroyed + 1)
		return fail("stats/vm_destroyed %lld -> %lld",
			    before_vm2.vm_destroyed, n);
	return true;
}

/* The main VM goes too, vCPU A and the long-mode vCPU still registered. */
static bool t_destroy_main_vm(void)
{
	bool ok;

	page_init(&vm, PAGE_D);
	ok = do_register(&vm.vcpu[VLONG], PAGE_D, 0);
	vm_destroy(&vm);
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

static bool t_fresh_vm_works(void)
{
	static const int ids[] = { 0 };
	static const enum mode modes[] = { MODE_REAL };
	struct vm fresh = { .fd = -1 };
	long long ret;
	bool ok;

	ok = vm_create(&fresh, 1, ids, modes) &&
	     hypercall(&fresh.vcpu[0], PVSCALE_HC_PROBE, GUEST_VERSION, &ret);
	if (ok && ret != features)
		ok = fail("PROBE = %lld, want %u", ret, features);
	if (ok) {
		page_init(&fresh, PAGE_A);
		ok = register_roundtrip(&fresh, &fresh.vcpu[0], PAGE_A,
					PVSCALE_ABI_MINOR);
	}
	vm_destroy(&fresh);
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: PVSCALE_HC_IPI ------------------------------------------ */

/*
 * A VM with in-kernel local APICs (KVM_CREATE_IRQCHIP) and sparse vCPU IDs
 * 0, 1, 2 and 130, all in real mode with interrupts off, so whatever an
 * IPI leaves pending stays in the target's IRR (or its pending NMI), where
 * KVM_GET_LAPIC and KVM_GET_VCPU_EVENTS show it. With an irqchip HLT does
 * not exit to userspace: the hypercall stub ends with OUT instead.
 */
enum { I0, I1, I2, I130, NR_IPI_VCPUS };
static const int ipi_ids[NR_IPI_VCPUS] = { 0, 1, 2, 130 };
static struct vm ipivm = { .fd = -1 };
static long long ipi_calls0, ipi_targets0, ipi_rejected0;

#define APIC_REG_ID	0x20
#define APIC_REG_SVR	0xf0
#define APIC_REG_IRR	0x200
#define APIC_SVR_ENABLE	0x100
#define MSR_APIC_BASE	0x1b
#define APIC_BASE_BSP	(1ULL << 8)
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_EN	(1ULL << 11)
#define IPI_VECTOR	0x40
#define ICR_NMI		0x400

/*
 * A hypercall on an irqchip VM: its HLT would block in the kernel, so the
 * stub ends in an OUT to DONE_PORT instead.
 */
static bool irqchip_hc(struct vcpu *v, __u64 nr, __u64 a0, __u64 a1, __u64 a2,
		       long long *ret)
{
	struct kvm_regs regs = {
		.rax = nr, .rbx = a0, .rcx = a1, .rdx = a2,
		.rip = IPI_STUB_GPA, .rflags = RFLAGS_FIXED,	/* IF = 0 */
	};

	if (v->broken[0])
		return fail("vCPU %d unusable: %s", v->id, v->broken);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) || ioctl(v->fd, KVM_RUN, NULL) ||
	    ioctl(v->fd, KVM_GET_REGS, &regs))
		return fail("vCPU %d %s: %s", v->id, hc_name(nr),
			    strerror(errno));
	if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != DONE_PORT)
		return fail("vCPU %d %s: exit %u at rip %#llx", v->id,
			    hc_name(nr), v->run->exit_reason,
			    (unsigned long long)regs.rip);
	*ret = (__s32)(__u32)regs.rax;	/* real mode: 32-bit result */
	return true;
}

static bool ipi_call(struct vcpu *v, __u64 icr, __u64 first, __u64 nwords,
		     long long *ret)
{
	return irqchip_hc(v, PVSCALE_HC_IPI, icr, first, nwords, ret);
}

/* Set @v's destination set to the IDs in @ids (-1 ends), from @first. */
static void ipi_set_dest(struct vm *m, __u64 page, int first, const int *ids)
{
	struct pvscale_dest *d = &((struct pvscale_page *)gpa_ptr(m, page))->dest;

	memset(d->bitmap, 0, sizeof(d->bitmap));
	for (; *ids >= 0; ids++)
		d->bitmap[(*ids - first) / 64] |= 1ULL << ((*ids - first) % 64);
}

static bool lapic_get(struct vcpu *v, struct kvm_lapic_state *s)
{
	if (ioctl(v->fd, KVM_GET_LAPIC, s))
		return fail("vCPU %d KVM_GET_LAPIC: %s", v->id, strerror(errno));
	return true;
}

static __u32 *lapic_reg(struct kvm_lapic_state *s, unsigned int off)
{
	return (__u32 *)(s->regs + off);
}

/* Clear every IRR bit and software-enable the APIC (fixed IPIs need it). */
static bool lapic_reset_irr(struct vcpu *v)
{
	struct kvm_lapic_state s;
	int i;

	if (!lapic_get(v, &s))
		return false;
	for (i = 0; i < 8; i++)
		*lapic_reg(&s, APIC_REG_IRR + 0x10 * i) = 0;
	*lapic_reg(&s, APIC_REG_SVR) |= APIC_SVR_ENABLE;
	if (ioctl(v->fd, KVM_SET_LAPIC, &s))
		return fail("vCPU %d KVM_SET_LAPIC: %s", v->id, strerror(errno));
	return true;
}

static bool nmi_pending(struct vcpu *v, bool *pending)
{
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev))
		return fail("vCPU %d KVM_GET_VCPU_EVENTS: %s", v->id,
			    strerror(errno));
	*pending = ev.nmi.pending || ev.nmi.injected;
	return true;
}

/*
 * Exactly the vCPUs in @want (a bit per index) got @vector pending (or an
 * NMI, for vector 0); the state is then cleared for the next test.
 */
static bool ipi_expect_delivered(unsigned int want, unsigned int vector)
{
	struct kvm_lapic_state s;
	bool got = false, ok = true;
	int i;

	for (i = 0; i < NR_IPI_VCPUS; i++) {
		struct vcpu *v = &ipivm.vcpu[i];

		if (vector) {
			if (!lapic_get(v, &s))
				return false;
			got = *lapic_reg(&s, APIC_REG_IRR + 0x10 * (vector / 32)) &
			      (1u << (vector % 32));
		} else if (!nmi_pending(v, &got)) {
			return false;
		}
		if (got != !!(want & (1u << i)) && ok)
			ok = fail("vCPU %d: %s %s", v->id,
				  vector ? "vector" : "NMI",
				  got ? "delivered outside the set" : "not delivered");
		/* Leave no pending NMI or IRR bit behind. */
		if (got && !vector) {
			struct kvm_vcpu_events ev = { 0 };

			ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);
			ev.nmi.pending = ev.nmi.injected = 0;
			ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
			ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev);
		}
		if (!lapic_reset_irr(v))
			return false;
	}
	return ok;
}

static bool ipi_counters(long long *calls, long long *targets,
			 long long *rejected)
{
	return read_attr("stats/ipi_calls", calls) &&
	       read_attr("stats/ipi_targets", targets) &&
	       read_attr("stats/ipi_rejected", rejected);
}

static bool t_ipi_vm(void)
{
	static const enum mode modes[NR_IPI_VCPUS] = {
		MODE_REAL, MODE_REAL, MODE_REAL, MODE_REAL,
	};
	int i;

	if (!(features & (1u << PVSCALE_F_IPI)))
		return fail("host does not offer PVSCALE_F_IPI (features %#x)",
			    features);
	if (!vm_create_irqchip(&ipivm, NR_IPI_VCPUS, ipi_ids, modes, true))
		return false;
	for (i = 0; i < NR_IPI_VCPUS; i++)
		if (!lapic_reset_irr(&ipivm.vcpu[i]))
			return false;
	return ipi_counters(&ipi_calls0, &ipi_targets0, &ipi_rejected0);
}

static bool t_ipi_without_page_enoent(void)
{
	long long ret;

	if (!ipi_call(&ipivm.vcpu[I0], IPI_VECTOR, 0, 1, &ret))
		return false;
	if (ret != -PVSCALE_ENOENT)
		return fail("IPI = %lld, want -ENOENT", ret);
	return ipi_expect_delivered(0, IPI_VECTOR);
}

static bool t_ipi_register(void)
{
	long long ret;

	page_init(&ipivm, PAGE_A);
	if (!irqchip_hc(&ipivm.vcpu[I0], PVSCALE_HC_REGISTER, PAGE_A, 0, 0, &ret))
		return false;
	return ret ? fail("REGISTER = %lld, want 0", ret) : true;
}

static bool ipi_expect(unsigned int icr, int first, int nwords,
		       const int *ids, long long want)
{
	long long ret;

	ipi_set_dest(&ipivm, PAGE_A, first, ids);
	if (!ipi_call(&ipivm.vcpu[I0], icr, first, nwords, &ret))
		return false;
	if (ret != want)
		return fail("IPI(icr %#x, first %d, words %d) = %lld, want %lld",
			    icr, first, nwords, ret, want);
	return true;
}

static bool t_ipi_fixed_sparse_set(void)
{
	static const int ids[] = { 1, 130, -1 };

	return ipi_expect(IPI_VECTOR, 0, 3, ids, 2) &&
	       ipi_expect_delivered(1u << I1 | 1u << I130, IPI_VECTOR);
}

static bool t_ipi_window_from_128(void)
{
	static const int ids[] = { 130, -1 };

	return ipi_expect(IPI_VECTOR, 128, 1, ids, 1) &&
	       ipi_expect_delivered(1u << I130, IPI_VECTOR);
}

static bool t_ipi_self_included(void)
{
	static const int ids[] = { 0, 2, -1 };

	return ipi_expect(IPI_VECTOR | 0x4000, 0, 1, ids, 2) &&
	       ipi_expect_delivered(1u << I0 | 1u << I2, IPI_VECTOR);
}

static bool t_ipi_nmi(void)
{
	static const int ids[] = { 2, -1 };

	return ipi_expect(ICR_NMI, 0, 1, ids, 1) &&
	       ipi_expect_delivered(1u << I2, 0);
}

/* IDs without a vCPU count as sent and reach nobody, as a native ICR write. */
static bool t_ipi_absent_ids_dropped(void)
{
	static const int ids[] = { 3, 64, 129, 200, -1 };

	return ipi_expect(IPI_VECTOR, 0, 4, ids, 4) &&
	       ipi_expect_delivered(0, IPI_VECTOR);
}

static bool t_ipi_bad_icr(void)
{
	static const int ids[] = { 1, 2, -1 };
	static const unsigned int icr[] = {
		IPI_VECTOR | 0x1000,	/* BUSY: KVM would WARN */
		IPI_VECTOR | 0x800,	/* logical destination */
		IPI_VECTOR | 0x8000,	/* level-triggered */
		IPI_VECTOR | 0x2000,	/* reserved */
		IPI_VECTOR | 0x40000,	/* shorthand self */
		IPI_VECTOR | 0x80000,	/* shorthand all */
		IPI_VECTOR | 0xc0000,	/* shorthand all but self */
		IPI_VECTOR | 0x100000,	/* reserved */
		IPI_VECTOR | 0x80000000,
		IPI_VECTOR | 0x100,	/* lowest priority */
		IPI_VECTOR | 0x200,	/* SMI */
		0x500,			/* INIT */
		0x600 | 0x10,		/* SIPI */
		0x700,			/* ExtINT */
		0x10,			/* fixed, exception vector */
		0x1f,
		ICR_NMI | 2,		/* NMI with a vector */
	};
	unsigned int i;

	for (i = 0; i < sizeof(icr) / sizeof(icr[0]); i++)
		if (!ipi_expect(icr[i], 0, 1, ids, -PVSCALE_EINVAL))
			return false;
	return ipi_expect_delivered(0, IPI_VECTOR) &&
	       ipi_expect_delivered(0, 0x10) && ipi_expect_delivered(0, 0);
}

static bool t_ipi_bad_range(void)
{
	static const int ids[] = { 1, -1 }, none[] = { -1 };
	/* KVM_MAX_VCPU_IDS: 4096 on Debian's 6.1, 16384 on its 6.12. */
	long long lim = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	const struct { long long first, nwords; } r[] = {
		{ 0, 0 }, { 0, 65 }, { 0, 0x7fffffff }, { 0, 0xffffffff },
		{ lim, 1 }, { lim - 63, 1 }, { lim - 4032, 64 },
		{ 0xffffffc0, 1 }, { 0xffffffff, 1 },
	};
	unsigned int i;

	if (lim < 4096)
		return fail("KVM_CAP_MAX_VCPU_ID = %lld", lim);

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		/* The set must not matter: the window is refused first. */
		if (!ipi_expect(IPI_VECTOR, r[i].first, r[i].nwords,
				r[i].first ? none : ids, -PVSCALE_EINVAL))
			return false;
	}
	return ipi_expect_delivered(0, IPI_VECTOR);
}

/* An xAPIC sender's 0xff is its broadcast address, never an ID. */
static bool t_ipi_xapic_broadcast_id(void)
{
	static const int ids[] = { 1, 255, -1 };

	return ipi_expect(IPI_VECTOR, 192, 1, ids + 1, -PVSCALE_EINVAL) &&
	       ipi_expect(IPI_VECTOR, 0, 4, ids, -PVSCALE_EINVAL) &&
	       ipi_expect_delivered(0, IPI_VECTOR);
}

static bool set_apic_base(struct vcpu *v, __u64 base)
{
	return set_msr(v, MSR_APIC_BASE, base);
}

static bool t_ipi_x2apic_sender(void)
{
	static const int ids[] = { 2, 130, -1 };
	bool ok;

	if (!set_apic_base(&ipivm.vcpu[I0], 0xfee00000 | APIC_BASE_EN |
			   APIC_BASE_BSP | APIC_BASE_X2APIC))
		return false;
	ok = ipi_expect(IPI_VECTOR, 0, 3, ids, 2) &&
	     ipi_expect_delivered(1u << I2 | 1u << I130, IPI_VECTOR);
	/* Back to xAPIC goes through disabled, as the SDM requires. */
	return set_apic_base(&ipivm.vcpu[I0], APIC_BASE_BSP) &&
	       set_apic_base(&ipivm.vcpu[I0], 0xfee00000 | APIC_BASE_EN |
			     APIC_BASE_BSP) && lapic_reset_irr(&ipivm.vcpu[I0]) &&
	       ok;
}

static bool t_ipi_apic_disabled_einval(void)
{
	static const int ids[] = { 1, -1 };
	bool ok;

	if (!set_apic_base(&ipivm.vcpu[I0], APIC_BASE_BSP))
		return false;
	ok = ipi_expect(IPI_VECTOR, 0, 1, ids, -PVSCALE_EINVAL) &&
	     ipi_expect_delivered(0, IPI_VECTOR);
	return set_apic_base(&ipivm.vcpu[I0], 0xfee00000 | APIC_BASE_EN |
			     APIC_BASE_BSP) && lapic_reset_irr(&ipivm.vcpu[I0]) &&
	       ok;
}

static bool write_toggle(const char *val)
{
	int fd = open(SYSFS_DIR "/features/ipi", O_WRONLY);
	bool ok;

	if (fd < 0)
		return fail(SYSFS_DIR "/features/ipi: %s", strerror(errno));
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok || fail("writing %s to features/ipi failed", val);
}

static bool t_ipi_toggled_off_eopnotsupp(void)
{
	static const int ids[] = { 1, -1 };
	bool ok;

	if (!write_toggle("0"))
		return false;
	ok = ipi_expect(IPI_VECTOR, 0, 1, ids, -PVSCALE_EOPNOTSUPP) &&
	     ipi_expect_delivered(0, IPI_VECTOR);
	return write_toggle("1") && ok &&
	       ipi_expect(IPI_VECTOR, 0, 1, ids, 1) &&
	       ipi_expect_delivered(1u << I1, IPI_VECTOR);
}

static bool t_ipi_counted(void)
{
	long long calls, targets, rejected;

	if (!ipi_counters(&calls, &targets, &rejected))
		return false;
	/*
	 * Since ipi_vm: 38 calls; refused: 1 (no page), 17 (ICR), 9 (range),
	 * 2 (xAPIC 0xff), 1 (APIC off), 1 (toggled off); IDs sent to: 2 + 1 +
	 * 2 + 1 + 4 (absent IDs) + 2 (x2APIC) + 1 (toggled back on).
	 */
	if (targets - ipi_targets0 != 13)
		return fail("ipi_targets rose by %lld, want 13",
			    targets - ipi_targets0);
	if (rejected - ipi_rejected0 != 31)
		return fail("ipi_rejected rose by %lld, want 31",
			    rejected - ipi_rejected0);
	if (calls - ipi_calls0 != 38)
		return fail("ipi_calls rose by %lld, want 38", calls - ipi_calls0);
	return true;
}

static bool t_ipi_no_irqchip_eopnotsupp(void)
{
	static const int ids[] = { 0 };
	static const enum mode modes[] = { MODE_REAL };
	struct vm plain = { .fd = -1 };
	long long ret = 0;
	bool ok;

	ok = vm_create(&plain, 1, ids, modes);
	if (ok) {
		page_init(&plain, PAGE_A);
		ok = do_register(&plain.vcpu[0], PAGE_A, 0);
	}
	if (ok) {
		ipi_set_dest(&plain, PAGE_A, 0, (const int[]){ 0, -1 });
		/* HLT exits without an irqchip: the ordinary stub works. */
		ok = hypercall(&plain.vcpu[0], PVSCALE_HC_IPI, IPI_VECTOR, &ret);
		if (ok && ret != -PVSCALE_EOPNOTSUPP)
			ok = fail("IPI = %lld, want -EOPNOTSUPP", ret);
	}
	vm_destroy(&plain);
	return ok;
}

static bool t_ipi_vm_destroyed(void)
{
	vm_destroy(&ipivm);
	return wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: a nested guest is not its parent ------------------------ */

/*
 * A vCPU in guest mode (KVM's is_guest_mode()) runs a nested guest of its
 * own. A VMMCALL there is the nested guest's: it must get KVM's own answer,
 * and pvscale must not act on it as the parent's call (no PROBE answer, no
 * UNREGISTER of the parent's page, no flush, no IPI).
 *
 * KVM hands such a VMMCALL to kvm_emulate_hypercall() for the parent's vCPU
 * in one case (6.12; 6.1 clears the VMMCALL intercept while the nested
 * guest runs, so there it #UDs): a Hyper-V L2 TLB flush hypercall, which L0
 * handles (nested_svm_is_l2_tlb_flush_hcall()). That needs
 *  - HV_X64_NESTED_DIRECT_FLUSH in the parent's CPUID 0x4000000A EAX,
 *  - the parent's VP assist page enabled, with directhypercall = 1,
 *  - nested_flush_hypercall = 1 in the VMCB's Hyper-V enlightenments, which
 *    KVM copies at VMRUN only while Hyper-V hypercalls are on (guest OS ID
 *    MSR non-zero),
 *  - the flush code in RCX (64-bit: HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE).
 * kvm_emulate_hypercall() then takes KVM's own ABI, the number in RAX, as
 * soon as the guest OS ID is 0 again: the nested guest zeroes it itself
 * (a WRMSR its VMCB does not intercept is KVM's to do). Every step is the
 * guest's own.
 *
 * On 6.1 the nested guest's VMMCALL #UDs, but KVM intercepts #UD for
 * itself and, with KVM_X86_QUIRK_FIX_HYPERCALL_INSN (the default), its
 * emulator "patches" the VMMCALL into a VMMCALL and lets it run again:
 * the nested guest livelocks in KVM and the #UD never reaches its parent.
 * The quirk off, KVM injects the #UD, which the parent intercepts.
 *
 * The parent (vCPU 0, 64-bit) registers a page, then VMRUNs a 64-bit
 * nested guest on its own identity page tables (no nested paging) whose
 * VMCB intercepts HLT, SHUTDOWN and every exception, so a #UD comes back
 * to the parent as an exit. The nested guest zeroes the guest OS ID, calls
 * KVM_HC_VAPIC_POLL_IRQ (KVM answers 0: the route is open), PROBE,
 * FLUSH_TLB and UNREGISTER, keeps each answer in a register the parent
 * keeps too (r11, r8, r9, r10: VMRUN and #VMEXIT leave them alone), and
 * HLTs.
 */
#define MSR_VM_HSAVE_PA		0xc0010117U
#define HV_MSR_GUEST_OS_ID	0x40000000U
#define HV_MSR_VP_ASSIST_PAGE	0x40000073U
#define HV_VP_ASSIST_ENABLE	1ULL
#define HV_VP_ASSIST_DIRECT_HC	0x20	/* nested_control.features */
#define HV_CPUID_NESTED		0x4000000aU
#define HV_NESTED_DIRECT_FLUSH	(1u << 17)
#define HV_GUEST_OS_ID		0x8100000000000000ULL	/* "Linux" */
#define HVCALL_FLUSH_VA_SPACE	2
#define EFER_SVME		(1ULL << 12)
#define CPUID_SVM		(1u << 2)	/* 0x80000001 ECX */

/* VMCB offsets (AMD APM vol. 2, appendix B); the save area is at 0x400. */
enum {
	VMCB_INTERCEPT_EXC	= 0x008,
	VMCB_INTERCEPT_MISC1	= 0x00c,
	VMCB_INTERCEPT_MISC2	= 0x010,
	VMCB_ASID		= 0x058,
	VMCB_EXIT_CODE		= 0x070,
	VMCB_EXIT_INFO1		= 0x078,
	VMCB_HV_CONTROL		= 0x3e0,	/* Hyper-V's software area */
	VMCB_ES			= 0x400,
	VMCB_CS			= 0x410,
	VMCB_SS			= 0x420,
	VMCB_DS			= 0x430,
	VMCB_EFER		= 0x4d0,
	VMCB_CR4		= 0x548,
	VMCB_CR3		= 0x550,
	VMCB_CR0		= 0x558,
	VMCB_DR7		= 0x560,
	VMCB_DR6		= 0x568,
	VMCB_RFLAGS		= 0x570,
	VMCB_RIP		= 0x578,
	VMCB_GPAT		= 0x668,
};
#define SVM_INTERCEPT_HLT	(1u << 24)
#define SVM_INTERCEPT_SHUTDOWN	(1u << 31)
#define SVM_INTERCEPT_VMRUN	(1u << 0)
#define SVM_HV_NESTED_FLUSH	(1u << 0)
#define SVM_EXIT_UD		0x46
#define SVM_EXIT_HLT		0x78
#define SVM_ATTR_CODE64		0x29b	/* type 0xb, S, P, L */
#define SVM_ATTR_DATA		0xc93	/* type 0x3, S, P, DB, G */

#define IMM32(x)	(__u8)(x), (__u8)((x) >> 8), (__u8)((x) >> 16), \
			(__u8)((x) >> 24)
#define NESTED_HC(nr)	0xb8, IMM32(nr),		/* mov eax, nr */ \
			0xb9, IMM32(HVCALL_FLUSH_VA_SPACE), /* mov ecx, 2 */ \
			0x0f, 0x01, 0xd9		/* vmmcall */

static const __u8 nested_code[] = {
	0xb9, IMM32(HV_MSR_GUEST_OS_ID),	/* mov ecx, GUEST_OS_ID */
	0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30,	/* wrmsr 0 */
	NESTED_HC(KVM_HC_VAPIC_POLL_IRQ),
	0x49, 0x89, 0xc3,			/* mov r11, rax */
	0xbb, IMM32(GUEST_VERSION),		/* mov ebx, a0 */
	NESTED_HC(PVSCALE_HC_PROBE),
	0x49, 0x89, 0xc0,			/* mov r8, rax */
	0x31, 0xdb,				/* xor ebx, ebx: first ID 0 */
	NESTED_HC(PVSCALE_HC_FLUSH_TLB),	/* ... 2 words */
	0x49, 0x89, 0xc1,			/* mov r9, rax */
	NESTED_HC(PVSCALE_HC_UNREGISTER),
	0x49, 0x89, 0xc2,			/* mov r10, rax */
	0xf4,
};
static const char *const nested_calls[] = {
	"KVM_HC_VAPIC_POLL_IRQ", "PROBE", "FLUSH_TLB", "UNREGISTER",
};

/* Which of nested_calls the VMMCALL at @rip is, or NULL. */
static const char *nested_call_at(__u64 rip)
{
	unsigned int i, n = 0;

	for (i = 0; i + 3 <= sizeof(nested_code); i++) {
		if (memcmp(nested_code + i, "\x0f\x01\xd9", 3))
			continue;
		if (NESTED_CODE_GPA + i == rip)
			return nested_calls[n];
		n++;
	}
	return NULL;
}

/* Whether KVM offers its guests CPUID @function ECX @bit. */
static bool cpuid_ecx_has(__u32 function, __u32 bit)
{
	unsigned int i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == function)
			return cpuid->entries[i].ecx & bit;
	return false;
}

/*
 * This program's CPUID with KVM's Hyper-V leaves in place of KVM's own
 * (both live at 0x40000000), HV_X64_NESTED_DIRECT_FLUSH set. *@advertised:
 * whether KVM offers that bit, i.e. implements the L2 flush route.
 */
static struct kvm_cpuid2 *hv_cpuid(bool *advertised)
{
	struct kvm_cpuid2 *hv = NULL, *c;
	unsigned int i, n;

	for (n = 64; ; n *= 2) {
		hv = calloc(1, sizeof(*hv) + n * sizeof(hv->entries[0]));
		if (!hv) {
			fail("out of memory");
			return NULL;
		}
		hv->nent = n;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_HV_CPUID, hv))
			break;
		free(hv);
		if (errno != E2BIG || n >= 1024) {
			fail("KVM_GET_SUPPORTED_HV_CPUID: %s", strerror(errno));
			return NULL;
		}
	}
	c = calloc(1, sizeof(*c) + (cpuid->nent + hv->nent) *
		   sizeof(c->entries[0]));
	if (!c) {
		free(hv);
		fail("out of memory");
		return NULL;
	}
	*advertised = false;
	for (i = 0; i < cpuid->nent; i++)
		if ((cpuid->entries[i].function & 0xffffff00) != 0x40000000)
			c->entries[c->nent++] = cpuid->entries[i];
	for (i = 0; i < hv->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

		*e = hv->entries[i];
		if (e->function == HV_CPUID_NESTED) {
			*advertised = e->eax & HV_NESTED_DIRECT_FLUSH;
			e->eax |= HV_NESTED_DIRECT_FLUSH;
		}
	}
	free(hv);
	return c;
}

static void vmcb_put(__u8 *vmcb, unsigned int off, __u64 val, unsigned int size)
{
	memcpy(vmcb + off, &val, size);	/* little endian */
}

static __u64 vmcb_get(const __u8 *vmcb, unsigned int off, unsigned int size)
{
	__u64 val = 0;

	memcpy(&val, vmcb + off, size);
	return val;
}

static void vmcb_seg(__u8 *vmcb, unsigned int off, __u16 sel, __u16 attrib)
{
	vmcb_put(vmcb, off, sel, 2);
	vmcb_put(vmcb, off + 2, attrib, 2);
	vmcb_put(vmcb, off + 4, 0xffffffff, 4);	/* limit; base 0 */
}

/* A 64-bit nested guest at NESTED_CODE_GPA on the parent's page tables. */
static void vmcb_init(__u8 *vmcb)
{
	memset(vmcb, 0, PAGE);
	vmcb_put(vmcb, VMCB_INTERCEPT_EXC, 0xffffffff, 4);
	vmcb_put(vmcb, VMCB_INTERCEPT_MISC1,
		 SVM_INTERCEPT_HLT | SVM_INTERCEPT_SHUTDOWN, 4);
	vmcb_put(vmcb, VMCB_INTERCEPT_MISC2, SVM_INTERCEPT_VMRUN, 4);
	vmcb_put(vmcb, VMCB_ASID, 1, 4);
	vmcb_put(vmcb, VMCB_HV_CONTROL, SVM_HV_NESTED_FLUSH, 4);
	vmcb_seg(vmcb, VMCB_CS, 0x08, SVM_ATTR_CODE64);
	vmcb_seg(vmcb, VMCB_DS, 0x10, SVM_ATTR_DATA);
	vmcb_seg(vmcb, VMCB_ES, 0x10, SVM_ATTR_DATA);
	vmcb_seg(vmcb, VMCB_SS, 0x10, SVM_ATTR_DATA);
	vmcb_put(vmcb, VMCB_EFER, EFER_LME | EFER_LMA | EFER_SVME, 8);
	vmcb_put(vmcb, VMCB_CR0, CR0_PE | CR0_NE | CR0_PG, 8);
	vmcb_put(vmcb, VMCB_CR3, PML4_GPA, 8);
	vmcb_put(vmcb, VMCB_CR4, CR4_PAE, 8);
	vmcb_put(vmcb, VMCB_DR6, 0xffff0ff0, 8);
	vmcb_put(vmcb, VMCB_DR7, 0x400, 8);
	vmcb_put(vmcb, VMCB_RFLAGS, RFLAGS_FIXED, 8);
	vmcb_put(vmcb, VMCB_RIP, NESTED_CODE_GPA, 8);
	vmcb_put(vmcb, VMCB_GPAT, 0x0007040600070406ULL, 8);
}

/* A one-vCPU VM whose vCPU can VMRUN: SVM, EFER.SVME, Hyper-V CPUID. */
static bool nested_vm_create(struct vm *m, const struct kvm_cpuid2 *c)
{
	static const int ids[] = { 0 };
	static const enum mode modes[] = { MODE_LONG };
	struct kvm_enable_cap quirk = {
		.cap = KVM_CAP_DISABLE_QUIRKS2,
		.args[0] = KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
	};
	struct kvm_sregs sr;
	struct vcpu *v;
	__u32 direct = 1;

	if (!vm_create(m, 1, ids, modes))
		return false;
	v = &m->vcpu[0];
	if (v->broken[0])
		return fail("long-mode vCPU unusable: %s", v->broken);
	if (ioctl(m->fd, KVM_ENABLE_CAP, &quirk))
		return fail("KVM_X86_QUIRK_FIX_HYPERCALL_INSN off: %s",
			    strerror(errno));
	if (ioctl(v->fd, KVM_SET_CPUID2, c))
		return fail("KVM_SET_CPUID2 with Hyper-V leaves: %s",
			    strerror(errno));
	if (ioctl(v->fd, KVM_GET_SREGS, &sr))
		return fail("KVM_GET_SREGS: %s", strerror(errno));
	sr.efer |= EFER_SVME;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr))
		return fail("EFER.SVME refused: %s", strerror(errno));
	memcpy(m->ram + NESTED_CODE_GPA, nested_code, sizeof(nested_code));
	vmcb_init(m->ram + VMCB_GPA);
	memset(m->ram + VP_ASSIST_GPA, 0, PAGE);
	memcpy(m->ram + VP_ASSIST_GPA + HV_VP_ASSIST_DIRECT_HC, &direct,
	       sizeof(direct));
	return set_msr(v, MSR_VM_HSAVE_PA, HSAVE_GPA) &&
	       set_msr(v, HV_MSR_VP_ASSIST_PAGE,
		       VP_ASSIST_GPA | HV_VP_ASSIST_ENABLE);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/*
 * KVM_RUN that a signal ends after @seconds (KVM_RUN fails with EINTR): a
 * guest that loops inside KVM fails its test, not the whole run.
 */
static int kvm_run_bounded(struct vcpu *v, int seconds)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
	};
	struct itimerspec its = { .it_value.tv_sec = seconds };
	timer_t timer;
	int ret, err;

	if (sigaction(SIGUSR1, &sa, NULL) ||
	    timer_create(CLOCK_MONOTONIC, &sev, &timer))
		return -1;
	if (timer_settime(timer, 0, &its, NULL)) {
		timer_delete(timer);
		return -1;
	}
	ret = ioctl(v->fd, KVM_RUN, NULL);
	err = errno;
	timer_delete(timer);
	errno = err;
	return ret;
}

enum { NESTED_RUN_SECONDS = 10 };

/* The parent VMRUNs; it HLTs once the nested guest has exited. */
static bool nested_run(struct vcpu *v, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rax = VMCB_GPA;
	r->rip = VMRUN_STUB_GPA;
	r->rflags = RFLAGS_FIXED;
	r->r8 = r->r9 = r->r10 = r->r11 = POISON64;
	if (ioctl(v->fd, KVM_SET_REGS, r))
		return fail("parent: KVM_SET_REGS: %s", strerror(errno));
	if (kvm_run_bounded(v, NESTED_RUN_SECONDS))
		return errno == EINTR ?
		       fail("parent's KVM_RUN still running after %d s: the nested guest loops in KVM",
			    NESTED_RUN_SECONDS) :
		       fail("parent's KVM_RUN: %s", strerror(errno));
	if (ioctl(v->fd, KVM_GET_REGS, r))
		return fail("parent: KVM_GET_REGS: %s", strerror(errno));
	if (v->run->exit_reason != KVM_EXIT_HLT || r->rip != VMRUN_STUB_END)
		return fail("parent: exit %u at rip %#llx, want HLT after its VMRUN",
			    v->run->exit_reason, (unsigned long long)r->rip);
	return true;
}

/* Counters a hypercall moves. */
struct hc_stats {
	long long probe, reg, unreg, flushes, ipis, nr_vcpus;
};

static bool read_hc_stats(struct hc_stats *s)
{
	return read_attr("stats/probe", &s->probe) &&
	       read_attr("stats/register", &s->reg) &&
	       read_attr("stats/unregister", &s->unreg) &&
	       read_attr("stats/hostflush_calls", &s->flushes) &&
	       read_attr("stats/ipi_calls", &s->ipis) &&
	       read_attr("nr_vcpus", &s->nr_vcpus);
}

/* The nested guest's exit: HLT after its calls when @route, else #UD. */
static bool nested_exit_ok(const __u8 *vmcb, bool route)
{
	__u64 exit = vmcb_get(vmcb, VMCB_EXIT_CODE, 4);
	__u64 rip = vmcb_get(vmcb, VMCB_RIP, 8);
	const char *call = nested_call_at(rip);

	if (route ? exit == SVM_EXIT_HLT :
		    exit == SVM_EXIT_UD && call == nested_calls[0])
		return true;
	return fail("nested guest: exit %#llx (info %#llx) at rip %#llx%s%s, want %s",
		    (unsigned long long)exit,
		    (unsigned long long)vmcb_get(vmcb, VMCB_EXIT_INFO1, 8),
		    (unsigned long long)rip, call ? ", VMMCALL " : "",
		    call ? call : "",
		    route ? "HLT (KVM advertises HV_X64_NESTED_DIRECT_FLUSH: its L2 flush route must reach kvm_emulate_hypercall)" :
			    "#UD at its first VMMCALL");
}

static bool nested_check(struct vm *m, bool route)
{
	const __u64 enosys = (__u64)-KVM_ENOSYS;
	const __u8 *vmcb = m->ram + VMCB_GPA;
	struct vcpu *v = &m->vcpu[0];
	struct hc_stats s0, s1;
	struct kvm_regs r;
	__u32 state;
	bool ran;

	page_init(m, PAGE_A);
	if (!do_register(v, PAGE_A, 0) || !read_hc_stats(&s0) ||
	    !set_msr(v, HV_MSR_GUEST_OS_ID, HV_GUEST_OS_ID))
		return false;
	ran = nested_run(v, &r);
	/* The parent's own calls below take KVM's ABI, whatever happened. */
	if (!set_msr(v, HV_MSR_GUEST_OS_ID, 0) || !ran || !read_hc_stats(&s1))
		return false;
	state = hdr_at(m, PAGE_A)->host_state;
	diag("nested guest: exit %#llx at rip %#llx; answers: POLL_IRQ %#llx, PROBE %#llx, FLUSH_TLB %#llx, UNREGISTER %#llx",
	     (unsigned long long)vmcb_get(vmcb, VMCB_EXIT_CODE, 4),
	     (unsigned long long)vmcb_get(vmcb, VMCB_RIP, 8),
	     (unsigned long long)r.r11, (unsigned long long)r.r8,
	     (unsigned long long)r.r9, (unsigned long long)r.r10);
	if (!nested_exit_ok(vmcb, route))
		return false;
	if (route && r.r11)
		return fail("nested guest's KVM_HC_VAPIC_POLL_IRQ = %#llx, want 0 (KVM's)",
			    (unsigned long long)r.r11);
	if ((route && (r.r8 != enosys || r.r9 != enosys || r.r10 != enosys)) ||
	    s1.probe != s0.probe || s1.flushes != s0.flushes ||
	    s1.unreg != s0.unreg || s1.reg != s0.reg || s1.ipis != s0.ipis ||
	    s1.nr_vcpus != s0.nr_vcpus || state != PVSCALE_HOST_ATTACHED)
		return fail("nested guest got PROBE %#llx, FLUSH_TLB %lld, UNREGISTER %lld (want KVM's %d); stats probe +%lld, hostflush_calls +%lld, unregister +%lld, register +%lld, ipi_calls +%lld, nr_vcpus %+lld; parent's page host_state %#x",
			    (unsigned long long)r.r8, (long long)r.r9,
			    (long long)r.r10, -KVM_ENOSYS, s1.probe - s0.probe,
			    s1.flushes - s0.flushes, s1.unreg - s0.unreg,
			    s1.reg - s0.reg, s1.ipis - s0.ipis,
			    s1.nr_vcpus - s0.nr_vcpus, state);
	if (!do_unregister(v, 0))
		return fail_more("the parent's own UNREGISTER");
	return true;
}

static bool t_nested_guest_not_parent(void)
{
	struct vm m = { .fd = -1 };
	struct kvm_cpuid2 *c;
	bool route, ok;

	if (!cpuid_ecx_has(0x80000001, CPUID_SVM))
		return skip("KVM offers no SVM to its guests (kvm_amd nested=0)");
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYS_HYPERV_CPUID) <= 0)
		return skip("no KVM_CAP_SYS_HYPERV_CPUID (no Hyper-V emulation)");
	c = hv_cpuid(&route);
	if (!c)
		return false;
	diag("KVM %s HV_X64_NESTED_DIRECT_FLUSH: a nested guest's VMMCALL %s",
	     route ? "advertises" : "does not advertise",
	     route ? "can reach kvm_emulate_hypercall" : "must #UD");
	ok = nested_vm_create(&m, c) && nested_check(&m, route);
	vm_destroy(&m);
	free(c);
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: a host flush of a vCPU inside an instruction ------------- */

/*
 * FLUSH_TLB answers 0 when each target "has flushed or will before it next
 * runs guest code". A target sitting in an exit to userspace whose
 * instruction is not complete (an MMIO write to the read-only slot, which
 * the next KVM_RUN completes) would complete it with the translation it
 * made before the flush, after the caller was told it was gone
 * (CVE-2022-39189 is the steal-time form of it): the host must answer
 * -PVSCALE_EAGAIN (the guest falls back to IPI and wait) and count it in
 * stats/hostflush_unsafe. Never run, or after a complete instruction
 * (KVM_EXIT_HLT, no in-kernel irqchip), a target is at a boundary: 0.
 */

/*
 * stats/hostflush_unsafe into *@n while *@have: a host without the counter
 * fails the case, but only once its answers, the real evidence, are known.
 */
static void read_unsafe_flushes(long long *n, bool *have)
{
	char keep[REASON_MAX];

	if (!*have)
		return;
	memcpy(keep, why, sizeof(keep));
	*have = read_attr("stats/hostflush_unsafe", n);
	if (!*have)
		diag("%s", why);
	memcpy(why, keep, sizeof(why));
}

static bool hostflush_mid_instruction(struct vm *m)
{
	struct vcpu *s = &m->vcpu[0], *t = &m->vcpu[1];
	struct kvm_regs regs = {
		.rax = 0x5a5a5a5a, .rip = MMIO_STUB_GPA, .rflags = RFLAGS_FIXED,
	};
	long long u0 = 0, u1 = 0, u2 = 0, r1, r2;
	bool have = true;

	if (t->broken[0])
		return fail("long-mode vCPU unusable: %s", t->broken);
	page_init(m, PAGE_A);
	page_at(m, PAGE_A)->dest.bitmap[0] = 1ULL << 1 | 1ULL << 2;
	/* vCPUs 1 and 2 never ran: at a boundary. */
	if (!do_register(s, PAGE_A, 0) || !flush_tlb(s, 0, 1, 0))
		return false;
	if (ioctl(t->fd, KVM_SET_REGS, &regs) || ioctl(t->fd, KVM_RUN, NULL))
		return fail("vCPU %d: %s", t->id, strerror(errno));
	if (t->run->exit_reason != KVM_EXIT_MMIO ||
	    t->run->mmio.phys_addr != RO_GPA || !t->run->mmio.is_write)
		return fail("vCPU %d: exit %u, want an MMIO write to %#llx",
			    t->id, t->run->exit_reason, RO_GPA);
	read_unsafe_flushes(&u0, &have);
	if (!hypercall2(s, PVSCALE_HC_FLUSH_TLB, 0, 1, &r1))
		return false;
	read_unsafe_flushes(&u1, &have);
	/* KVM_RUN completes the write; the target HLTs. */
	if (ioctl(t->fd, KVM_RUN, NULL) || ioctl(t->fd, KVM_GET_REGS, &regs))
		return fail("vCPU %d: %s", t->id, strerror(errno));
	if (t->run->exit_reason != KVM_EXIT_HLT || regs.rip != MMIO_STUB_END)
		return fail("vCPU %d: exit %u at rip %#llx, want HLT after the write",
			    t->id, t->run->exit_reason,
			    (unsigned long long)regs.rip);
	if (!hypercall2(s, PVSCALE_HC_FLUSH_TLB, 0, 1, &r2))
		return false;
	read_unsafe_flushes(&u2, &have);
	diag("FLUSH_TLB naming a vCPU in an MMIO exit = %lld, once it completed = %lld",
	     r1, r2);
	if (r1 != -PVSCALE_EAGAIN)
		return fail("FLUSH_TLB naming a vCPU in an unfinished MMIO write = %lld, want %d",
			    r1, -PVSCALE_EAGAIN);
	if (r2)
		return fail("FLUSH_TLB after the write completed = %lld, want 0",
			    r2);
	if (!have)
		return fail("no stats/hostflush_unsafe");
	if (u1 != u0 + 1 || u2 != u1)
		return fail("stats/hostflush_unsafe +%lld, +%lld, want +1, +0",
			    u1 - u0, u2 - u1);
	return do_unregister(s, 0);
}

static bool t_hostflush_mid_instruction_eagain(void)
{
	static const int ids[] = { 0, 1, 2 };
	static const enum mode modes[] = { MODE_REAL, MODE_LONG, MODE_REAL };
	struct vm m = { .fd = -1 };
	long long was;
	bool ok;

	if (!read_attr("features/tlb_hostflush", &was) ||
	    !write_attr("features/tlb_hostflush", "1"))
		return false;
	ok = vm_create(&m, 3, ids, modes) && hostflush_mid_instruction(&m);
	vm_destroy(&m);
	if (!write_attr("features/tlb_hostflush", was ? "1" : "0"))
		return false;
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: REGISTER/UNREGISTER churn is bounded -------------------- */

/*
 * Each UNREGISTER leaves a registration to be freed after an RCU grace
 * period, and each REGISTER allocates (GFP_ATOMIC): a guest cycling them
 * must not pile up what waits for a grace period without bound. The host
 * keeps at most 64 + 2 * the VM's vCPUs of them per VM and answers
 * REGISTER -PVSCALE_EAGAIN beyond that; a grace period later REGISTER
 * works again. vCPU 0 stays registered throughout, so the VM keeps its
 * place in the registry; vCPUs 1 and 2 (64-bit) cycle at once, each in a
 * loop of its own code as a hostile guest would, CHURN_BATCH cycles per
 * KVM_RUN (no userspace round trip between hypercalls), each on a thread
 * of its own (L1 may have two CPUs).
 */
enum {
	NR_CHURNERS = 2, CHURN_CYCLES = 20000, CHURN_BATCH = 500,
	CHURN_SECONDS = 5, CHURN_WAIT_SECONDS = 5,
};
#define CHURN_GPA	0x1200ULL

/* r12 cycles of REGISTER(rbx), UNREGISTER; stops at a non-zero answer. */
static const __u8 churn_code[] = {
	0xb8, IMM32(PVSCALE_HC_REGISTER),	/* 0: mov eax, REGISTER */
	0x0f, 0x01, 0xd9,			/* vmmcall */
	0x48, 0x85, 0xc0, 0x75, 0x13,		/* test rax, rax; jnz 32 */
	0xb8, IMM32(PVSCALE_HC_UNREGISTER),	/* 13: */
	0x0f, 0x01, 0xd9,
	0x48, 0x85, 0xc0, 0x75, 0x07,		/* jnz 33 */
	0x49, 0xff, 0xcc, 0x75, 0xe1,		/* 26: dec r12; jnz 0 */
	0xf4,					/* 31: all done */
	0xf4,					/* 32: REGISTER failed */
	0xf4,					/* 33: UNREGISTER failed */
};
/* RIP at the HLT exit, from CHURN_GPA. */
enum { CHURN_DONE = 32, CHURN_REGISTER_FAILED, CHURN_UNREGISTER_FAILED };

struct churner {
	pthread_t thread;
	struct vcpu *v;
	__u64 page;
	int cycles;		/* completed */
	long long ret;		/* the first non-zero answer, or 0 */
	const char *failed;	/* which call gave it */
	char err[REASON_MAX];	/* why the loop could not run, or "" */
};

static int churn_stop;

/* One KVM_RUN of up to CHURN_BATCH cycles; false if it could not run. */
static bool churn_batch(struct churner *c)
{
	struct vcpu *v = c->v;
	struct kvm_regs r = {
		.rbx = c->page, .rip = CHURN_GPA, .rflags = RFLAGS_FIXED,
		.r12 = CHURN_BATCH,
	};
	__u64 end;

	if (ioctl(v->fd, KVM_SET_REGS, &r) || ioctl(v->fd, KVM_RUN, NULL) ||
	    ioctl(v->fd, KVM_GET_REGS, &r)) {
		snprintf(c->err, sizeof(c->err), "vCPU %d: %s", v->id,
			 strerror(errno));
		return false;
	}
	end = r.rip - CHURN_GPA;
	if (v->run->exit_reason != KVM_EXIT_HLT || end < CHURN_DONE ||
	    end > CHURN_UNREGISTER_FAILED) {
		snprintf(c->err, sizeof(c->err),
			 "vCPU %d: exit %u at rip %#llx in the churn loop",
			 v->id, v->run->exit_reason, (unsigned long long)r.rip);
		return false;
	}
	c->cycles += CHURN_BATCH - r.r12;
	c->ret = end == CHURN_DONE ? 0 : (long long)r.rax;
	c->failed = end == CHURN_UNREGISTER_FAILED ? "UNREGISTER" : "REGISTER";
	return true;
}

static void *churn_thread(void *arg)
{
	struct churner *c = arg;

	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED) &&
	       c->cycles < CHURN_CYCLES / NR_CHURNERS)
		if (!churn_batch(c) || c->ret)
			break;
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* All churners until one gets an answer, or time is up; see above. */
static bool churn_all(struct churner *c, int *cycles, int *registers,
		      bool *eagain)
{
	double t0 = now();
	int i, started;

	__atomic_store_n(&churn_stop, 0, __ATOMIC_RELAXED);
	for (started = 0; started < NR_CHURNERS; started++)
		if (pthread_create(&c[started].thread, NULL, churn_thread,
				   &c[started]))
			break;
	while (started == NR_CHURNERS && now() - t0 < CHURN_SECONDS &&
	       !__atomic_load_n(&churn_stop, __ATOMIC_RELAXED))
		usleep(10000);
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < started; i++)
		pthread_join(c[i].thread, NULL);
	if (started != NR_CHURNERS)
		return fail("pthread_create failed");
	*cycles = *registers = 0;
	*eagain = false;
	for (i = 0; i < NR_CHURNERS; i++) {
		if (c[i].err[0])
			return fail("%s", c[i].err);
		*cycles += c[i].cycles;
		/* Every cycle REGISTERs once, and so does a failed one. */
		*registers += c[i].cycles + (c[i].ret &&
					     !strcmp(c[i].failed, "REGISTER"));
		if (c[i].ret == -PVSCALE_EAGAIN &&
		    !strcmp(c[i].failed, "REGISTER"))
			*eagain = true;
		else if (c[i].ret)
			return fail("vCPU %d, after %d cycles: %s = %lld, want 0 (or %d from REGISTER)",
				    c[i].v->id, c[i].cycles, c[i].failed,
				    c[i].ret, -PVSCALE_EAGAIN);
	}
	diag("churn: %d cycles on %d vCPUs in %.2f s, %.0f us each, %s",
	     *cycles, NR_CHURNERS, now() - t0,
	     (now() - t0) * 1e6 / (*cycles ? *cycles : 1),
	     *eagain ? "then -EAGAIN" : "never -EAGAIN");
	return true;
}

static bool churn_bounded(struct vm *m)
{
	struct churner c[NR_CHURNERS] = { 0 };
	struct vcpu *keep = &m->vcpu[0];
	long long reg0, reg1, ret;
	int cycles = 0, calls = 0, i;
	bool eagain = false;
	double t1;

	memcpy(m->ram + CHURN_GPA, churn_code, sizeof(churn_code));
	page_init(m, PAGE_A);
	for (i = 0; i < NR_CHURNERS; i++) {
		c[i].v = &m->vcpu[1 + i];
		c[i].page = PAGE_B + i * PAGE;
		page_init(m, c[i].page);
	}
	if (!do_register(keep, PAGE_A, 0) ||
	    !read_attr("stats/register", &reg0) ||
	    !churn_all(c, &cycles, &calls, &eagain))
		return false;
	if (!eagain)
		return fail("%d REGISTER/UNREGISTER cycles, never %d (want it beyond %d registrations waiting for a grace period)",
			    cycles, -PVSCALE_EAGAIN, 64 + 2 * m->nr_vcpus);
	t1 = now();
	do {
		usleep(10000);
		if (!hypercall(c[0].v, PVSCALE_HC_REGISTER, c[0].page, &ret))
			return false;
		calls++;
	} while (ret == -PVSCALE_EAGAIN && now() - t1 < CHURN_WAIT_SECONDS);
	diag("churn: REGISTER = %lld after %.3f s", ret, now() - t1);
	if (ret)
		return fail("REGISTER %.1f s after -EAGAIN = %lld, want 0",
			    now() - t1, ret);
	if (!read_attr("stats/register", &reg1))
		return false;
	if (reg1 - reg0 != calls)
		return fail("stats/register +%lld over %d REGISTERs",
			    reg1 - reg0, calls);
	return do_unregister(c[0].v, 0) && do_unregister(keep, 0);
}

static bool t_register_churn_bounded(void)
{
	static const int ids[] = { 0, 1, 2, 3 };
	static const enum mode modes[] = {
		MODE_REAL, MODE_LONG, MODE_LONG, MODE_REAL,
	};
	struct vm m = { .fd = -1 };
	bool ok;

	ok = vm_create(&m, 4, ids, modes) && churn_bounded(&m);
	vm_destroy(&m);
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: concurrent feature toggles ------------------------------ */

/*
 * Each toggle sets or clears its own bit of one mask. One thread per
 * toggle writes it in rounds, 0 then 1, all threads starting each round
 * together; after each round every toggle must read what was written,
 * offered_features must be the mask they make, and every registered page
 * must carry that mask in host_features. A store that computes the new
 * mask before it takes the lock loses a toggle that another store changes
 * in between.
 *
 * A round starts at a set time, TOGGLE_LEAD_S after the main thread
 * announces it and goes to sleep, and the threads spin until then: woken
 * from a futex, or by a thread that still holds a CPU, they would enter
 * their stores tens of microseconds apart, longer than the few a store
 * takes from reading the mask to writing it. With one L1 CPU nothing runs
 * two stores at once (nor preempts one between its read and its lock:
 * voluntary preemption): the test needs two.
 */
enum { NR_TOGGLES = 3, TOGGLE_VCPUS = 64, TOGGLE_ROUNDS = 2000 };
#define TOGGLE_SECONDS	8.0	/* about 1000 rounds; 1 to 2% lose one */
#define TOGGLE_LEAD_S	0.001
#define TOGGLE_PAGES_GPA 0x30000ULL	/* one page per vCPU */

static const struct {
	const char *attr;
	unsigned int bit;
} toggles[NR_TOGGLES] = {
	{ "features/tlb", PVSCALE_F_TLB },
	{ "features/tlb_hostflush", PVSCALE_F_TLB_HOSTFLUSH },
	{ "features/ipi", PVSCALE_F_IPI },
};

struct toggler {
	pthread_t thread;
	int fd;			/* its toggle, open for writing */
	bool failed;
};

static int toggle_round;	/* the round the threads may run; -1: stop */
static double toggle_start;	/* when it starts (now()) */
static int toggle_done;		/* threads done with it */

/* Round @r writes 0 when odd, 1 when even: every round changes them. */
static int toggle_value(int r)
{
	return !(r & 1);
}

static void *toggle_thread(void *arg)
{
	struct toggler *t = arg;
	int next = 1, r;
	char c;

	for (;;) {
		while ((r = __atomic_load_n(&toggle_round,
					    __ATOMIC_ACQUIRE)) >= 0 &&
		       r < next)
			__builtin_ia32_pause();
		if (r < 0)
			return NULL;
		while (now() < toggle_start)
			__builtin_ia32_pause();
		c = '0' + toggle_value(r);
		if (pwrite(t->fd, &c, 1, 0) != 1)
			t->failed = true;
		__atomic_add_fetch(&toggle_done, 1, __ATOMIC_RELEASE);
		next = r + 1;
	}
}

/* After a round that wrote @val: NULL, or what disagrees (why on error). */
static const char *toggles_disagree(struct vm *m, int val, char *buf,
				    size_t len)
{
	unsigned int want = 0, got = 0, i;
	long long on, offered;
	__u64 hf;

	for (i = 0; i < NR_TOGGLES; i++) {
		want |= val ? 1u << toggles[i].bit : 0;
		if (!read_attr(toggles[i].attr, &on))
			return why;
		got |= on ? 1u << toggles[i].bit : 0;
	}
	if (!read_attr("offered_features", &offered))
		return why;
	if (got != want || offered != want) {
		snprintf(buf, len, "all wrote %d: toggles make %#x, offered_features %#llx, want %#x",
			 val, got, offered, want);
		return buf;
	}
	for (i = 0; i < (unsigned int)m->nr_vcpus; i++) {
		hf = page_at(m, TOGGLE_PAGES_GPA + i * PAGE)->hdr.host_features;
		if (hf != (__u64)offered) {
			snprintf(buf, len, "all wrote %d: page of vCPU %d has host_features %#llx, offered_features %#llx",
				 val, m->vcpu[i].id, (unsigned long long)hf,
				 offered);
			return buf;
		}
	}
	return NULL;
}

/* The rounds; the threads are started and stopped here. */
static bool toggle_rounds(struct vm *m, struct toggler *t)
{
	char first[REASON_MAX] = "", buf[REASON_MAX / 2];
	int r, i, lost = 0, started;
	double t0 = now();
	const char *bad;
	bool ok = true;

	__atomic_store_n(&toggle_round, 0, __ATOMIC_RELEASE);
	for (started = 0; started < NR_TOGGLES; started++)
		if (pthread_create(&t[started].thread, NULL, toggle_thread,
				   &t[started]))
			break;
	for (r = 1; started == NR_TOGGLES && r <= TOGGLE_ROUNDS &&
	     now() - t0 < TOGGLE_SECONDS; r++) {
		__atomic_store_n(&toggle_done, 0, __ATOMIC_RELAXED);
		toggle_start = now() + TOGGLE_LEAD_S;
		__atomic_store_n(&toggle_round, r, __ATOMIC_RELEASE);
		while (__atomic_load_n(&toggle_done, __ATOMIC_ACQUIRE) <
		       NR_TOGGLES)
			usleep(200);
		bad = toggles_disagree(m, toggle_value(r), buf, sizeof(buf));
		if (bad == why) {
			ok = false;
			break;
		}
		if (bad && !lost++)
			snprintf(first, sizeof(first), "round %d: %s", r, bad);
	}
	__atomic_store_n(&toggle_round, -1, __ATOMIC_RELEASE);
	for (i = 0; i < started; i++)
		pthread_join(t[i].thread, NULL);
	if (started != NR_TOGGLES)
		return fail("pthread_create failed");
	if (!ok)
		return false;
	diag("toggles: %d of %d rounds lost a concurrent toggle (%.1f s)",
	     lost, r - 1, now() - t0);
	for (i = 0; i < NR_TOGGLES; i++)
		if (t[i].failed)
			return fail("writing %s failed", toggles[i].attr);
	if (lost)
		return fail("%d of %d rounds lost a toggle; first: %s", lost,
			    r - 1, first);
	return true;
}

/* A VM of TOGGLE_VCPUS vCPUs, each with a page registered. */
static bool toggle_vm(struct vm *m)
{
	int ids[TOGGLE_VCPUS], i;
	enum mode modes[TOGGLE_VCPUS];

	for (i = 0; i < TOGGLE_VCPUS; i++) {
		ids[i] = i;
		modes[i] = MODE_REAL;
	}
	if (!vm_create(m, TOGGLE_VCPUS, ids, modes))
		return false;
	for (i = 0; i < TOGGLE_VCPUS; i++) {
		page_init(m, TOGGLE_PAGES_GPA + i * PAGE);
		if (!do_register(&m->vcpu[i], TOGGLE_PAGES_GPA + i * PAGE, 0))
			return false;
	}
	return true;
}

static bool t_feature_toggles_concurrent(void)
{
	struct toggler t[NR_TOGGLES] = { 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long was[NR_TOGGLES];
	struct vm m = { .fd = -1 };
	char path[128];
	bool ok = true;
	int i;

	if (cpus < 2)
		return skip("%ld CPU: no two stores run at once", cpus);
	for (i = 0; i < NR_TOGGLES; i++)
		if (!read_attr(toggles[i].attr, &was[i]))
			return false;
	for (i = 0; i < NR_TOGGLES; i++) {
		snprintf(path, sizeof(path), SYSFS_DIR "/%s", toggles[i].attr);
		t[i].fd = open(path, O_WRONLY);
		if (t[i].fd < 0 && ok)
			ok = fail("%s: %s", path, strerror(errno));
	}
	ok = ok && toggle_vm(&m) && toggle_rounds(&m, t);
	vm_destroy(&m);
	for (i = 0; i < NR_TOGGLES; i++) {
		if (t[i].fd >= 0)
			close(t[i].fd);
		if (!write_attr(toggles[i].attr, was[i] ? "1" : "0"))
			ok = false;
	}
	return ok && wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: IPI and FLUSH_TLB cost with many vCPUs ------------------- */

/*
 * IPI and FLUSH_TLB with a full set (4096 IDs from 0: 64 words) must cost
 * no more in a VM of many vCPUs than in a VM of one, beyond delivering to
 * the vCPUs there are: the host must not search every vCPU for each of the
 * 4096 IDs (kvm_get_vcpu_by_id() does when an ID is not its vCPU's index).
 * VMs of 1 and of COST_VCPUS vCPUs with IDs 0, 16, 32, ..., in-kernel APICs
 * in x2APIC mode (so that KVM's own APIC map serves each delivery); vCPU 0
 * sends. The targets' APICs stay software-disabled, so KVM drops a fixed
 * IPI to them once it has found them: what is measured is finding the
 * targets, not interrupting them (a few microseconds each under TCG, which
 * would make the ratio the VM's size). The median KVM_RUN round trip of
 * each is compared.
 */
enum {
	COST_SAMPLES = 50, COST_MIN_SAMPLES = 3, COST_STRIDE = 16,
	COST_VCPUS = 128, COST_SMALL = 0, COST_MANY = 1,
};
#define COST_SECONDS	4.0	/* per call, once COST_MIN_SAMPLES are in */
#define COST_MAX_RATIO	4.0

static struct vm cost_vms[2] = { { .fd = -1 }, { .fd = -1 } };
static char cost_skipped[REASON_MAX];	/* hc_cost_vms's SKIP reason */

static bool cost_vm_create(struct vm *m, int n)
{
	int *ids = calloc(n, sizeof(*ids)), i;
	enum mode *modes = calloc(n, sizeof(*modes));
	long long ret;
	bool ok;

	if (!ids || !modes) {
		free(ids);
		free(modes);
		return fail("out of memory");
	}
	for (i = 0; i < n; i++) {
		ids[i] = i * COST_STRIDE;
		modes[i] = MODE_REAL;
	}
	ok = vm_create_irqchip(m, n, ids, modes, true);
	free(ids);
	free(modes);
	for (i = 0; ok && i < n; i++)
		ok = set_apic_base(&m->vcpu[i], 0xfee00000 | APIC_BASE_EN |
				   APIC_BASE_X2APIC | (i ? 0 : APIC_BASE_BSP));
	/* The sender's APIC enabled: its own ID is in the set. */
	if (!ok || !lapic_reset_irr(&m->vcpu[0]))
		return false;
	page_init(m, PAGE_A);
	memset(page_at(m, PAGE_A)->dest.bitmap, 0xff,
	       sizeof(page_at(m, PAGE_A)->dest.bitmap));
	if (!irqchip_hc(&m->vcpu[0], PVSCALE_HC_REGISTER, PAGE_A, 0, 0, &ret))
		return false;
	return ret ? fail("REGISTER = %lld, want 0", ret) : true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One timed call of @nr by vCPU 0 of @m, answered @want. */
static bool cost_call(struct vm *m, __u64 nr, const __u64 *a, long long want,
		      double *t)
{
	double t0 = now();
	long long ret;

	if (!irqchip_hc(&m->vcpu[0], nr, a[0], a[1], a[2], &ret))
		return false;
	*t = now() - t0;
	if (ret != want)
		return fail("%s = %lld, want %lld", hc_name(nr), ret, want);
	return true;
}

/*
 * Median round trip of @nr(@a) in each VM, calls alternating between them
 * so that whatever else loads the machine weighs on both alike.
 */
static bool cost_medians(__u64 nr, const __u64 *a, long long want,
			 double *median, int *n)
{
	double t[2][COST_SAMPLES], start, warm;
	int i, k;

	/* Warm up: a vCPU's first run costs more. */
	for (k = COST_SMALL; k <= COST_MANY; k++)
		if (!cost_call(&cost_vms[k], nr, a, want, &warm))
			return false;
	start = now();
	for (i = 0; i < COST_SAMPLES; i++) {
		if (i >= COST_MIN_SAMPLES && now() - start > COST_SECONDS)
			break;
		for (k = COST_SMALL; k <= COST_MANY; k++)
			if (!cost_call(&cost_vms[k], nr, a, want, &t[k][i]))
				return false;
	}
	for (k = COST_SMALL; k <= COST_MANY; k++) {
		qsort(t[k], i, sizeof(t[k][0]), cmp_double);
		median[k] = t[k][i / 2];
	}
	*n = i;
	return true;
}

static bool t_hc_cost_vms(void)
{
	long long max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	long long ids = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);

	if (max < COST_VCPUS || ids <= (COST_VCPUS - 1) * COST_STRIDE) {
		skip("KVM allows %lld vCPUs, IDs below %lld: want %d, %d", max,
		     ids, COST_VCPUS, (COST_VCPUS - 1) * COST_STRIDE + 1);
		memcpy(cost_skipped, skipped, sizeof(cost_skipped));
		return true;
	}
	return cost_vm_create(&cost_vms[COST_SMALL], 1) &&
	       cost_vm_create(&cost_vms[COST_MANY], COST_VCPUS);
}

/* Median of @nr in both VMs; their ratio must stay below COST_MAX_RATIO. */
static bool cost_flat(__u64 nr, __u64 a0, __u64 a1, __u64 a2, long long want)
{
	const __u64 a[] = { a0, a1, a2 };
	double med[2];
	int n;

	if (cost_skipped[0])
		return skip("%s", cost_skipped);
	if (cost_vms[COST_SMALL].fd < 0 || cost_vms[COST_MANY].fd < 0)
		return fail("no VMs: hc_cost_vms failed");
	if (!cost_medians(nr, a, want, med, &n))
		return false;
	diag("%s of 4096 IDs: median %.0f us with 1 vCPU, %.0f us with %d (%d calls each): x%.1f",
	     hc_name(nr), med[0] * 1e6, med[1] * 1e6, COST_VCPUS, n,
	     med[1] / med[0]);
	if (med[1] > COST_MAX_RATIO * med[0])
		return fail("%s of 4096 IDs: median %.0f us with %d vCPUs, %.0f us with 1: x%.1f, want below x%.1f",
			    hc_name(nr), med[1] * 1e6, COST_VCPUS,
			    med[0] * 1e6, med[1] / med[0], COST_MAX_RATIO);
	return true;
}

static bool t_flush_tlb_cost_flat(void)
{
	return cost_flat(PVSCALE_HC_FLUSH_TLB, 0, PVSCALE_DEST_WORDS, 0, 0);
}

static bool t_ipi_cost_flat(void)
{
	return cost_flat(PVSCALE_HC_IPI, IPI_VECTOR, 0, PVSCALE_DEST_WORDS,
			 PVSCALE_DEST_WORDS * 64);
}

static bool t_hc_cost_vms_destroyed(void)
{
	vm_destroy(&cost_vms[COST_SMALL]);
	vm_destroy(&cost_vms[COST_MANY]);
	return wait_counts(base.nr_vcpus, base.nr_vms);
}

/* ---- tests: --expect-absent ----------------------------------------- */

static bool expect_all_enosys(struct vcpu *v)
{
	static const __u64 nr[] = { PVSCALE_HC_PROBE, PVSCALE_HC_REGISTER,
				    PVSCALE_HC_UNREGISTER,
				    PVSCALE_HC_BASE + 3, PVSCALE_HC_LAST };
	__u8 before[PAGE];
	unsigned int i;

	page_init(&vm, PAGE_A);
	memcpy(before, gpa_ptr(&vm, PAGE_A), PAGE);
	for (i = 0; i < sizeof(nr) / sizeof(nr[0]); i++) {
		__u64 a0 = nr[i] == PVSCALE_HC_PROBE ? GUEST_VERSION :
			   PAGE_A;

		if (!expect_hc(v, nr[i], a0, -PVSCALE_ENOSYS))
			return false;
	}
	if (memcmp(before, gpa_ptr(&vm, PAGE_A), PAGE))
		return fail("page written without pvscale_host");
	return true;
}

static bool t_absent_enosys_32bit(void)
{
	return expect_all_enosys(&vm.vcpu[VA]);
}

static bool t_absent_enosys_64bit(void)
{
	return expect_all_enosys(&vm.vcpu[VLONG]);
}

/* ---- runner --------------------------------------------------------- */

struct test {
	const char *name;
	bool (*fn)(void);
	bool fatal;	/* the rest cannot run without it */
};

#define T(fn)		{ #fn, t_##fn, false }
#define FATAL(fn)	{ #fn, t_##fn, true }

static const struct test main_tests[] = {
	FATAL(pvscale_host_loaded),
	FATAL(create_vm),
	T(long_mode_vcpu),
	T(cpl3_vcpu),
	T(probe_32bit),
	T(probe_64bit),
	T(probe_any_guest_version),
	T(probe_not_rejected),
	T(register),
	T(register_header_written),
	T(register_counted),
	T(register_again_eexist),
	T(unregister),
	T(unregister_counted),
	T(unregister_again_enoent),
	T(page_untouched_after_unregister),
	T(register_unaligned_plus_1),
	T(register_unaligned_plus_0x800),
	T(register_unaligned_plus_0xfff),
	T(register_unbacked_1g),
	T(register_unbacked_apic),
	T(register_readonly_slot),
	T(rejected_counted),
	T(register_last_ram_page),
	T(register_nonresident_then_retry),
	T(hdr_bad_magic),
	T(hdr_bad_size),
	T(hdr_next_major_eproto),
	T(hdr_major_0_eproto),
	T(hdr_bad_magic_and_major),
	T(hdr_future_minor_accepted),
	T(unknown_private_numbers),
	T(numbers_outside_private_range),
	T(kvm_unknown_number),
	T(kvm_vapic_poll_irq),
	T(nr_high_bits_ignored_32bit),
	T(nr_high_bits_64bit),
	T(a0_high_bits_ignored_32bit),
	T(cpl3_eperm),
	T(register_64bit),
	T(result_64bit_sign_extended),
	T(register_gpa_bit52),
	T(register_gpa_at_maxphyaddr),
	T(register_gpa_below_maxphyaddr_unbacked),
	T(register_gpa_4g_unbacked),
	T(register_gpa_all_ones),
	T(other_vcpus_page_ebusy),
	T(other_vcpu_own_page),
	T(unregister_is_per_vcpu),
	T(page_reusable_after_unregister),
	T(unregister_after_page_trashed),
	T(unregister_after_memslot_deleted),
	T(register_unregister_loop),
	FATAL(tlb_features_on),
	T(flush_tlb_unregistered_enoent),
	T(flush_tlb_bad_windows),
	T(flush_tlb_32bit_truncated),
	T(flush_tlb_targets),
	T(flush_tlb_target_mid_instruction),
	T(flush_tlb_toggle_off_eopnotsupp),
	T(tlb_flush_on_load),
	T(tlb_toggle_off_takes_flush),
	T(tlb_vm_destroy_takes_flush),
	FATAL(tlb_features_restored),
	T(same_gpa_in_other_vm),
	T(destroy_vm_with_pages),
	T(vm_destroyed_counted),
	T(destroy_main_vm),
	T(fresh_vm_works),
	/* PVSCALE_HC_IPI: one VM with in-kernel APICs; these run in order. */
	FATAL(ipi_vm),
	T(ipi_without_page_enoent),
	FATAL(ipi_register),
	T(ipi_fixed_sparse_set),
	T(ipi_window_from_128),
	T(ipi_self_included),
	T(ipi_nmi),
	T(ipi_absent_ids_dropped),
	T(ipi_bad_icr),
	T(ipi_bad_range),
	T(ipi_xapic_broadcast_id),
	T(ipi_x2apic_sender),
	T(ipi_apic_disabled_einval),
	T(ipi_toggled_off_eopnotsupp),
	T(ipi_counted),
	T(ipi_no_irqchip_eopnotsupp),
	T(ipi_vm_destroyed),
	/* Host defects found by review; each case has VMs of its own. */
	T(nested_guest_not_parent),
	T(hostflush_mid_instruction_eagain),
	T(register_churn_bounded),
	T(feature_toggles_concurrent),
	T(hc_cost_vms),
	T(flush_tlb_cost_flat),
	T(ipi_cost_flat),
	T(hc_cost_vms_destroyed),
};

static const struct test absent_tests[] = {
	FATAL(pvscale_host_absent),
	FATAL(create_vm),
	T(long_mode_vcpu),
	T(kvm_vapic_poll_irq),
	T(absent_enosys_32bit),
	T(absent_enosys_64bit),
};

static int run_tests(const struct test *t, unsigned int n)
{
	unsigned int i, failed = 0;

	printf("KTAP version 1\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		why[0] = skipped[0] = '\0';
		if (t[i].fn()) {
			if (skipped[0])
				printf("ok %u %s # SKIP %s\n", i + 1, t[i].name,
				       skipped);
			else
				printf("ok %u %s\n", i + 1, t[i].name);
			continue;
		}
		printf("not ok %u %s # %s\n", i + 1, t[i].name, why);
		failed++;
		if (t[i].fatal) {
			printf("Bail out! %s\n", why);
			return 1;
		}
	}
	printf("# %u passed, %u failed\n", n - failed, failed);
	return failed ? 1 : 0;
}

/* ---- --vm-churn: a platform probe, no pvscale needed ---------------- */

/*
 * KVM turns static keys on and off as the first VM (preempt notifiers,
 * patched into __schedule), the first vCPU without an in-kernel APIC and
 * the first software-disabled APIC come and go: each is a text_poke of
 * code every CPU runs. Create and destroy such VMs for @seconds while two
 * threads switch tasks on every CPU, to see whether L1 (QEMU's TCG with
 * two CPUs) survives cross-CPU code patching without pvscale.
 */
static volatile bool vm_churn_stop;

/* Sleep and wake all the time: a context switch each way, on any CPU. */
static void *churn_sleeper(void *arg)
{
	const struct timespec ts = { .tv_nsec = 20000 };

	while (!vm_churn_stop)
		nanosleep(&ts, NULL);
	return arg;
}

static int vm_churn(int seconds)
{
	double end = now() + seconds;
	pthread_t sleeper[2];
	long n = 0;
	int vm, vcpu;

	kvm_fd = open("/dev/kvm", O_RDWR);
	if (kvm_fd < 0 ||
	    pthread_create(&sleeper[0], NULL, churn_sleeper, NULL) ||
	    pthread_create(&sleeper[1], NULL, churn_sleeper, NULL)) {
		printf("not ok 1 vm-churn # /dev/kvm or thread: %s\n", strerror(errno));
		return 1;
	}
	while (now() < end) {
		vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
		if (vm < 0)
			break;
		if (n & 1)
			ioctl(vm, KVM_CREATE_IRQCHIP, 0);
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		if (vcpu >= 0)
			close(vcpu);
		close(vm);
		n++;
	}
	vm_churn_stop = true;
	pthread_join(sleeper[0], NULL);
	pthread_join(sleeper[1], NULL);
	printf("%s 1 vm-churn # %ld VMs created and destroyed in %d s\n",
	       now() >= end ? "ok" : "not ok", n, seconds);
	return now() >= end ? 0 : 1;
}

int main(int argc, char **argv)
{
	bool absent = argc == 2 && !strcmp(argv[1], "--expect-absent");

	if (argc == 2 && !strcmp(argv[1], "--hold-keys")) {
		kvm_fd = open("/dev/kvm", O_RDWR);
		if (kvm_fd < 0 || !kvm_keep_static_keys()) {
			fprintf(stderr, "--hold-keys: %s\n",
				kvm_fd < 0 ? strerror(errno) : why);
			return 1;
		}
		pause();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--vm-churn")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return vm_churn(atoi(argv[2]));
	}
	if (argc > 2 || (argc == 2 && !absent)) {
		fprintf(stderr, "usage: %s [--expect-absent | --hold-keys | --vm-churn SECONDS]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(TIME_LIMIT);
	if (absent)
		return run_tests(absent_tests,
				 sizeof(absent_tests) / sizeof(absent_tests[0]));
	return run_tests(main_tests, sizeof(main_tests) / sizeof(main_tests[0]));
}
