# SPDX-License-Identifier: GPL-2.0
#
# Kernel-version differences, probed from the target tree (not from version
# numbers: Debian backports API changes into stable kernels). Each probe
# defines PVS_HAVE_*; common/compat.h, force-included into every object,
# turns them into one spelling the code uses.

pvs_probe = $(shell grep -qsE '$(2)' $(srctree)/include/$(1) && echo -D$(3))

ccflags-y += $(call pvs_probe,linux/syscore_ops.h,register_syscore[^_],PVS_HAVE_REGISTER_SYSCORE)
ccflags-y += -include $(src)/../common/compat.h
