# demo: what a user looks at, for `make demo` (tests/vm/demo prints the
# verdict channel as it comes). pvscale_host in L1, one 4-vCPU L2 with
# pvscale_guest; a TLB-flush storm and call-function IPIs in it move the
# counters on both sides.
# manual: run by tests/vm/demo
# needs: host guest guestprog:tlbstorm

say() {
	verdict "$*"
}

section() {
	say ""
	say "==== $* ===="
}

# show CMD: the command, then its output (indented).
show() {
	say "\$ $*"
	sh -c "$*" 2>&1 | while IFS= read -r l; do say "  $l"; done
}

# l2_show CMD: the same, run in the guest.
l2_show() {
	say "guest\$ $*"
	l2_cmd d "$*" | while IFS= read -r l; do say "  $l"; done
}

# attrs DIR: every attribute of a sysfs directory as "name:value".
attrs_cmd() {
	echo "cd $1 && grep -r . . | sed 's|^./||' | sort"
}

section "L1 (the KVM host): kernel $(uname -r), stock kvm_amd, npt=$(cat /sys/module/kvm_amd/parameters/npt)"
m=$(kmsg_mark)
show "insmod /pvscale_host.ko"
show "$(attrs_cmd /sys/kernel/pvscale_host)"

section "L2 (a 4-vCPU guest) boots on L1's KVM"
l2_start d 4
l2_show "uname -r; nproc"
gm=$(kmsg_mark d)
l2_show "insmod /pvscale_guest.ko"
l2_show "$(attrs_cmd /sys/kernel/pvscale_guest)"

section "host side with the guest running"
show "$(attrs_cmd /sys/kernel/pvscale_host)"
show "cat /sys/kernel/debug/pvscale_host/registrations"

section "the features at work: a TLB-flush storm, with two CPU hogs in L1 so that vCPUs get preempted"
hogs_start 2
l2_show "tlbstorm -t 4"
hogs_stop
say "(flushes_deferred: IPIs not sent to preempted vCPUs, flushed by the host on entry;"
say " hostflush_*: remote flushes done by one hypercall instead of IPIs)"
l2_show "$(attrs_cmd $GUEST_SYSFS/stats)"
show "$(attrs_cmd /sys/kernel/pvscale_host/stats)"

section "call-function IPIs from every CPU to the others (test module pvscale_ipitest)"
l2_show "insmod /pvscale_ipitest.ko iters=20; cat /sys/kernel/debug/pvscale_ipitest/callfunc"
say "(pv_ipi_sends: multicast IPIs sent with one hypercall each)"
l2_show "cat $GUEST_SYSFS/stats/pv_ipi_sends $GUEST_SYSFS/stats/ipi_fallbacks"
show "cat /sys/kernel/pvscale_host/stats/ipi_calls /sys/kernel/pvscale_host/stats/ipi_targets"

section "kernel messages"
say "L1 dmesg (pvscale):"
dmesg_since "$m" | grep -E 'pvscale|kvm' | grep -vE 'pvscale-test-mark|pvscale-text' | while IFS= read -r l; do say "  $l"; done
say "L2 dmesg (pvscale):"
dmesg_since "$gm" d | grep pvscale | grep -vE 'pvscale-test-mark|pvscale-text' | while IFS= read -r l; do say "  $l"; done

section "guest powers off; the host forgets it"
l2_stop d
show "cat /sys/kernel/pvscale_host/nr_vms /sys/kernel/pvscale_host/nr_vcpus"
show "rmmod pvscale_host; ls /sys/kernel/pvscale_host 2>&1"
