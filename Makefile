# SPDX-License-Identifier: GPL-2.0
#
# The human interface. Kbuild files only list objects and flags.
#
#   make                 build both modules for KVER (default: running kernel)
#   make KVER=6.1.0-56-amd64
#   make modules-all     build for every installed Debian 6.1/6.12 headers tree
#   make testmods KVER=  the L2 test modules in tests/guest/ for KVER
#   make check           whole suite: unit + build + dkms + nested VMs
#   make demo            host VM + guest VM with both modules
#   make bench           benchmarks (RESULT lines)
#   make clean

KVER	?= $(shell uname -r)
KDIR	?= /lib/modules/$(KVER)/build
TOP	:= $(abspath .)
OUT	:= $(TOP)/build/$(KVER)
SRCS	:= Kbuild $(wildcard common/*.h common/*.mk host-mod/*.[ch] host-mod/Kbuild \
	   guest-mod/*.[ch] guest-mod/Kbuild)

.PHONY: all modules modules-all unit check demo bench setup clean kvmtest \
	install dkms-install dkms-remove testmods guestprogs

DKMS_VER := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

all: modules

# Each kernel gets its own copy of the tree so builds for 6.1 and 6.12 never
# share objects.
modules: $(SRCS)
	@test -d $(KDIR) || { echo "no kernel build dir $(KDIR): install linux-headers-$(KVER) (scripts/setup)" >&2; exit 1; }
	@mkdir -p $(OUT)
	@cp -a --parents $(SRCS) $(OUT)/
	$(MAKE) -C $(KDIR) M=$(OUT) W=$(W) modules
	@echo "built $(OUT)/host-mod/pvscale_host.ko $(OUT)/guest-mod/pvscale_guest.ko"

# L2 test modules (tests/guest/*/Kbuild), each kernel its own copy too.
TESTMODS := $(patsubst %/Kbuild,%,$(wildcard tests/guest/*/Kbuild))
testmods:
	@for d in $(TESTMODS); do mkdir -p $(OUT)/$$d && cp -a $$d/. $(OUT)/$$d/ && \
		$(MAKE) -C $(KDIR) M=$(OUT)/$$d W=$(W) modules || exit 1; done

modules-all:
	@for k in $$(scripts/kernels); do $(MAKE) --no-print-directory modules KVER=$$k W=1 || exit 1; done

install: modules
	$(MAKE) -C $(KDIR) M=$(OUT) modules_install
	depmod -a $(KVER)

# What a user runs on a host or a guest: builds now and on every new kernel.
dkms-install:
	mkdir -p /usr/src/pvscale-$(DKMS_VER)
	cp -a --parents Makefile Kbuild dkms.conf common host-mod guest-mod \
		scripts /usr/src/pvscale-$(DKMS_VER)/
	rm -rf /usr/src/pvscale-$(DKMS_VER)/build
	dkms status -m pvscale -v $(DKMS_VER) | grep -q . || \
		dkms add -m pvscale -v $(DKMS_VER)
	dkms install -m pvscale -v $(DKMS_VER) -k $(KVER)

dkms-remove:
	dkms remove -m pvscale -v $(DKMS_VER) --all
	rm -rf /usr/src/pvscale-$(DKMS_VER)

kvmtest:
	$(MAKE) -C tests/kvm

guestprogs:
	$(MAKE) -C tests/guest

unit:
	$(MAKE) -C tests/unit run

setup:
	@scripts/setup >/dev/null

check:
	@scripts/setup >/dev/null
	@tests/run-all

demo:
	@scripts/setup >/dev/null
	@tests/vm/demo

bench:
	@scripts/setup >/dev/null
	@tests/bench/run

clean:
	rm -rf build
	$(MAKE) -C tests/unit clean
	$(MAKE) -C tests/kvm clean
	$(MAKE) -C tests/guest clean
