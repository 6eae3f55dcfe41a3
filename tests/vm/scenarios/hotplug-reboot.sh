# hotplug-reboot: a 4-vCPU L2 with pvscale_guest. Taking CPUs offline must
# unregister exactly their pages, bringing them back must register them
# again, and a reboot of the guest (in place, same QEMU process and KVM
# VM) must leave no stale registration in the host. A reset that skips
# the guest's reboot notifier (sysrq-b) must not leave the host writing
# into the next boot's memory: each AP's page is forgotten when the new
# firmware INITs it (the BSP gets no INIT: README, Limits).
#
# needs: host guest

check insmod-host host_insmod || exit 0
l2_start --reboot h 4
pid=$(l2_pid h)
check insmod-guest l2_cmd h insmod /pvscale_guest.ko
check_eq up/registered-cpus 0-3 "$(guest_attr h registered_cpus)"
check_eq up/host-nr-vcpus 4 "$(host_attr nr_vcpus)"

# vcpus: the vCPU ids the host has pages for, space separated.
vcpus() {
	registrations "$pid" | sed -n 's/.* vcpu=\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# set_online CPU 0|1
set_online() {
	l2_cmd h "echo $2 >/sys/devices/system/cpu/cpu$1/online"
}

check offline3/offline set_online 3 0
check_eq offline3/host-nr-vcpus 3 "$(host_attr nr_vcpus)"
check_eq offline3/registered-cpus 0-2 "$(guest_attr h registered_cpus)"
check_eq offline3/attached-cpus 0-2 "$(guest_attr h attached_cpus)"
check_eq offline3/host-vcpus "0 1 2" "$(vcpus)"

check offline1/offline set_online 1 0
check_eq offline1/host-nr-vcpus 2 "$(host_attr nr_vcpus)"
check_eq offline1/registered-cpus 0,2 "$(guest_attr h registered_cpus)"
check_eq offline1/host-vcpus "0 2" "$(vcpus)"

check online/online1 set_online 1 1
check online/online3 set_online 3 1
check_eq online/host-nr-vcpus 4 "$(host_attr nr_vcpus)"
check_eq online/registered-cpus 0-3 "$(guest_attr h registered_cpus)"
check_eq online/attached-cpus 0-3 "$(guest_attr h attached_cpus)"
check_eq online/host-vcpus "0 1 2 3" "$(vcpus)"
check_eq online/distinct-gpas 4 "$(registrations "$pid" | sed -n 's/.* gpa=//p' | sort -u | grep -c .)"
dmesg_clean before-reboot/dmesg-clean-l2 h

# ---- reboot in place: the guest must unregister on its way down
l2_reboot h
check_eq reboot/same-qemu "$pid" "$(l2_pid h)"
check_eq reboot/guest-module-not-loaded "" "$(l2_cmd h 'ls -d /sys/module/pvscale_guest 2>/dev/null')"
check_eq reboot/host-nr-vcpus 0 "$(host_attr nr_vcpus)"
check_eq reboot/no-stale-registration "" "$(registrations "$pid")"

check reload/insmod-guest l2_cmd h insmod /pvscale_guest.ko
check_eq reload/host-nr-vcpus 4 "$(host_attr nr_vcpus)"
check_eq reload/registered-cpus 0-3 "$(guest_attr h registered_cpus)"
check_eq reload/attached-cpus 0-3 "$(guest_attr h attached_cpus)"

dmesg_clean after-reboot/dmesg-clean-l2 h

# ---- reset without unregistering
r0=$(num "$(host_attr stats/vcpu_reset)")
l2_reboot h 'echo b >/proc/sysrq-trigger'
check_match reset/aps-forgotten '^[3-9]$' $(($(num "$(host_attr stats/vcpu_reset)") - r0))
check_match reset/no-ap-registration '^0?$' "$(vcpus)"
l2_stop h
check_eq stop/host-nr-vcpus 0 "$(host_attr nr_vcpus)"
check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
