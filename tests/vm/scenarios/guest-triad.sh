# guest-triad: pvscale_guest must refuse to load where it cannot work, and
# load, show itself and go away cleanly where it can.
#  - in L1 itself (a TCG guest: no KVM paravirt underneath): ENODEV;
#  - in an L2 on plain KVM (no pvscale_host in L1): ENODEV and one
#    "no pvscale host" line;
#  - with pvscale_host loaded, in the same L2: sysfs absent before insmod,
#    present after, absent after rmmod; the host's vCPU count follows
#    (0 after the guest rmmod, back after the re-insmod).
#
# needs: host guest

SMP=2

# guest_insmod_refused NAME WHERE (L2 id, or empty for L1) WANT-DMESG
guest_insmod_refused() {
	local t=$1 id=$2 want=$3 m out rc lines
	m=$(kmsg_mark $id)
	if [ -n "$id" ]; then
		out=$(l2_cmd "$id" insmod /pvscale_guest.ko)
	else
		out=$(insmod "$GUEST_KO" 2>&1)
	fi
	rc=$?
	if [ "$rc" -ne 0 ] && echo "$out" | grep -q 'No such device'; then
		ok "$t/refused-enodev"
	else
		not_ok "$t/refused-enodev" "insmod: status $rc, '$out' (want ENODEV)"
	fi
	lines=$(module_says "$m" pvscale_guest $id)
	check_eq "$t/one-dmesg-line" 1 "$(printf '%s' "$lines" | grep -c .)"
	check_match "$t/dmesg-says-why" "pvscale_guest: .*$want" "$lines"
	if [ -n "$id" ]; then
		check_eq "$t/no-sysfs" "" "$(l2_cmd "$id" "ls -d $GUEST_SYSFS 2>/dev/null")"
		check_eq "$t/not-loaded" "" "$(l2_cmd "$id" "ls -d /sys/module/pvscale_guest 2>/dev/null")"
	else
		check_fails "$t/no-sysfs" test -e "$GUEST_SYSFS"
		check_fails "$t/not-loaded" test -e /sys/module/pvscale_guest
	fi
}

# ---- L1: not on KVM at all
guest_insmod_refused in-l1 "" "not running on KVM"

# ---- L2 on plain KVM
l2_start g "$SMP"
guest_insmod_refused plain-kvm g "no pvscale host"

# ---- the same L2 once pvscale_host is in L1: the triad
check insmod-host host_insmod || exit 0
check_eq before/sysfs-absent "" "$(l2_cmd g "ls -d $GUEST_SYSFS 2>/dev/null")"
check_eq before/host-nr-vcpus 0 "$(host_attr nr_vcpus)"

check load/insmod l2_cmd g insmod /pvscale_guest.ko
check load/sysfs-present l2_cmd g test -d "$GUEST_SYSFS"
check_eq load/abi-version 1.0 "$(guest_attr g abi_version)"
check_eq load/registered-cpus "0-$((SMP - 1))" "$(guest_attr g registered_cpus)"
check_eq load/host-nr-vcpus "$SMP" "$(host_attr nr_vcpus)"

unreg0=$(num "$(host_attr stats/unregister)")
check unload/rmmod l2_cmd g rmmod pvscale_guest
check_eq unload/sysfs-absent "" "$(l2_cmd g "ls -d $GUEST_SYSFS 2>/dev/null")"
check_eq unload/host-nr-vcpus 0 "$(host_attr nr_vcpus)"
check_eq unload/host-unregister-count "$SMP" $(($(num "$(host_attr stats/unregister)") - unreg0))
check_eq unload/registrations-empty "" "$(registrations)"

check reload/insmod l2_cmd g insmod /pvscale_guest.ko
check_eq reload/registered-cpus "0-$((SMP - 1))" "$(guest_attr g registered_cpus)"
check_eq reload/host-nr-vcpus "$SMP" "$(host_attr nr_vcpus)"
check_eq reload/attached-cpus "0-$((SMP - 1))" "$(guest_attr g attached_cpus)"
check reload/rmmod l2_cmd g rmmod pvscale_guest
check_eq reload/host-nr-vcpus-after-rmmod 0 "$(host_attr nr_vcpus)"

dmesg_clean dmesg-clean-l2 g
l2_stop g
check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
