# host-unload: pvscale_host is removed from L1 while an L2 with
# pvscale_guest runs and keeps working. The guest must survive and see the
# host go (no attached CPUs, no features); once the host module is back, a
# reload of the guest module registers every vCPU again.
#
# needs: host guest

SMP=2
ALL="0-$((SMP - 1))"

check insmod-host host_insmod || exit 0
l2_start u "$SMP"
check insmod-guest l2_cmd u insmod /pvscale_guest.ko
check_eq before/attached-cpus "$ALL" "$(guest_attr u attached_cpus)"
check_eq before/host-nr-vcpus "$SMP" "$(host_attr nr_vcpus)"

# Keep every vCPU busy going in and out of the host (timer wakeups, halts)
# while the module goes away under it.
l2_cmd u 'for c in $(seq 0 $(($(nproc) - 1))); do
	taskset -c $c sh -c "while :; do sleep 0.02; done" >/dev/null 2>&1 &
	echo $! >>/tmp/load.pids
done' >/dev/null

check rmmod-host-under-guest host_rmmod
check_fails host-sysfs-gone test -e "$HOST_SYSFS"
check_eq guest-still-answers alive "$(l2_cmd u echo alive)"
check_eq after/attached-cpus "" "$(guest_attr u attached_cpus)"
check_hex_eq after/host-features-gone 0x0 "$(guest_attr u host_features)"
check_hex_eq after/enabled-features-gone 0x0 "$(guest_attr u enabled_features)"
# The guest still runs things on every CPU.
check_eq after/guest-works "$SMP" "$(l2_cmd u 'n=0; for c in $(seq 0 $(($(nproc) - 1))); do taskset -c $c true && n=$((n + 1)); done; echo $n')"

check reinsmod-host host_insmod
# The new host instance knows nothing of the old registrations.
check_eq reinsmod/host-nr-vcpus 0 "$(host_attr nr_vcpus)"
check reload/rmmod-guest l2_cmd u rmmod pvscale_guest
check reload/insmod-guest l2_cmd u insmod /pvscale_guest.ko
check_eq reload/host-nr-vcpus "$SMP" "$(host_attr nr_vcpus)"
check_eq reload/attached-cpus "$ALL" "$(guest_attr u attached_cpus)"
check_eq reload/registered-cpus "$ALL" "$(guest_attr u registered_cpus)"
check_hex_eq reload/host-features "$(host_attr offered_features)" "$(guest_attr u host_features)"

check stop-load l2_cmd u 'kill $(cat /tmp/load.pids)'
dmesg_clean dmesg-clean-l2 u
l2_stop u
check_eq host-nr-vcpus-after-stop 0 "$(host_attr nr_vcpus)"
check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
