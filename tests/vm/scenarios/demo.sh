# demo: what a user looks at, for `make demo` (tests/vm/demo prints the
# verdict channel as it comes). pvscale_host in L1, one 2-vCPU L2 with
# pvscale_guest.
# manual: run by tests/vm/demo
# needs: host guest

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

section "L2 (a 2-vCPU guest) boots on L1's KVM"
l2_start d 2
l2_show "uname -r; nproc"
gm=$(kmsg_mark d)
l2_show "insmod /pvscale_guest.ko"
l2_show "$(attrs_cmd /sys/kernel/pvscale_guest)"

section "host side with the guest running"
show "$(attrs_cmd /sys/kernel/pvscale_host)"
show "cat /sys/kernel/debug/pvscale_host/registrations"

section "kernel messages"
say "L1 dmesg (pvscale):"
dmesg_since "$m" | grep -E 'pvscale|kvm' | grep -vE 'pvscale-test-mark|pvscale-text' | while IFS= read -r l; do say "  $l"; done
say "L2 dmesg (pvscale):"
dmesg_since "$gm" d | grep pvscale | grep -vE 'pvscale-test-mark|pvscale-text' | while IFS= read -r l; do say "  $l"; done

section "guest powers off; the host forgets it"
l2_stop d
show "cat /sys/kernel/pvscale_host/nr_vms /sys/kernel/pvscale_host/nr_vcpus"
show "rmmod pvscale_host; ls /sys/kernel/pvscale_host 2>&1"
