/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place kernel API differences live. The PVS_HAVE_* macros come
 * from common/compat.mk, which probes the headers of the kernel being built
 * against. Force-included into both modules.
 */
#ifndef PVSCALE_COMPAT_H
#define PVSCALE_COMPAT_H

/*
 * Syscore callbacks gained a data pointer and registration through a
 * struct syscore (upstream 6.18, backported into Debian's 6.12.1xx).
 */
#ifdef PVS_HAVE_REGISTER_SYSCORE
#define PVS_SYSCORE_ARG			void *data
#define PVS_DEFINE_SYSCORE(name, _ops)	struct syscore name = { .ops = &(_ops) }
#define pvs_register_syscore(s)		register_syscore(s)
#define pvs_unregister_syscore(s)	unregister_syscore(s)
#else
#define PVS_SYSCORE_ARG			void
#define PVS_DEFINE_SYSCORE(name, _ops)	struct syscore_ops *name = &(_ops)
#define pvs_register_syscore(s)		register_syscore_ops(*(s))
#define pvs_unregister_syscore(s)	unregister_syscore_ops(*(s))
#endif

/*
 * Functions kvm.ko exports but declares only in arch/x86/kvm/ headers,
 * which the headers packages do not ship. Each is marked "pvs-btf-check:
 * NAME": tests/prototypes (in `make check`) compiles these declarations
 * next to the prototypes it rebuilds from kvm.ko's BTF for every tested
 * kernel, so a changed signature fails the suite instead of the call.
 *
 * kvm_apic_send_ipi() (arch/x86/kvm/lapic.c, EXPORT_SYMBOL_GPL) WARNs on
 * the ICR BUSY bit: callers validate the ICR first.
 */
#include <linux/types.h>
struct kvm_lapic;
/* pvs-btf-check: kvm_apic_send_ipi */
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);

#endif /* PVSCALE_COMPAT_H */
