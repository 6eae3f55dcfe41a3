# handshake: pvscale_host in L1, a 2-vCPU and then, alongside it, a
# 4-vCPU L2 each loading pvscale_guest. Both sides must agree on the ABI
# and features, every vCPU must have exactly one registered page, and the
# host's counters must follow the VMs as they come and go.
#
# needs: host guest

check insmod-host host_insmod || exit 0
host_abi=$(host_attr abi_version)
host_feat=$(host_attr offered_features)
check_eq host-abi-version 1.0 "$host_abi"

# cpulist N: the cpulist "0-(N-1)" of N CPUs.
cpulist() {
	if [ "$1" -eq 1 ]; then echo 0; else echo "0-$(($1 - 1))"; fi
}

# guest_up ID SMP VCPUS_BEFORE: boot L2 ID, load the guest module, check the
# handshake from both sides. VCPUS_BEFORE: host nr_vcpus of the other VMs.
guest_up() {
	local id=$1 smp=$2 before=$3 t=$1 reg0 regs pid
	reg0=$(num "$(host_attr stats/register)")
	l2_start "$id" "$smp"
	pid=$(l2_pid "$id")
	check_eq "$t/guest-absent-before" "" "$(l2_cmd "$id" "ls $GUEST_SYSFS 2>/dev/null")"
	check "$t/insmod-guest" l2_cmd "$id" insmod /pvscale_guest.ko
	check_eq "$t/abi-version" "$host_abi" "$(guest_attr "$id" abi_version)"
	check_eq "$t/host-abi-version" "$host_abi" "$(guest_attr "$id" host_abi_version)"
	check_hex_eq "$t/host-features" "$host_feat" "$(guest_attr "$id" host_features)"
	local en
	en=$(guest_attr "$id" enabled_features)
	if hex_eq "$en" "$en" && hex_eq "$host_feat" "$host_feat" &&
		[ $((en & ~host_feat)) -eq 0 ]; then
		ok "$t/enabled-within-offered"
	else
		not_ok "$t/enabled-within-offered" "enabled '$en', offered $host_feat"
	fi
	check_eq "$t/registered-cpus" "$(cpulist "$smp")" "$(guest_attr "$id" registered_cpus)"
	check_eq "$t/attached-cpus" "$(cpulist "$smp")" "$(guest_attr "$id" attached_cpus)"
	check_eq "$t/host-nr-vcpus" $((before + smp)) "$(host_attr nr_vcpus)"
	check_eq "$t/host-register-count" "$smp" $(($(num "$(host_attr stats/register)") - reg0))
	regs=$(registrations "$pid")
	check_eq "$t/registrations-lines" "$smp" "$(printf '%s' "$regs" | grep -c .)"
	check_eq "$t/registrations-distinct-gpa" "$smp" \
		"$(printf '%s\n' "$regs" | sed -n 's/.* gpa=//p' | sort -u | grep -c .)"
	check_eq "$t/registrations-vcpus" "$(seq 0 $((smp - 1)) | tr '\n' ' ')" \
		"$(printf '%s\n' "$regs" | sed -n 's/.* vcpu=\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ')"
	if printf '%s\n' "$regs" | sed -n 's/.* gpa=//p' | grep -qv '000$'; then
		not_ok "$t/registrations-page-aligned" "$(echo $regs)"
	else
		ok "$t/registrations-page-aligned"
	fi
	[ -z "$regs" ] || printf '%s\n' "$regs" | diag_lines "host: "
}

guest_up smp2 2 0
check_eq smp2/host-nr-vms 1 "$(host_attr nr_vms)"
# A second VM next to the first: the registry keeps them apart.
guest_up smp4 4 2
check_eq smp4/host-nr-vms 2 "$(host_attr nr_vms)"
check_eq smp4/smp2-untouched 2 "$(registrations "$(l2_pid smp2)" | grep -c .)"

dmesg_clean smp2/dmesg-clean-l2 smp2
dmesg_clean smp4/dmesg-clean-l2 smp4

# A VM killed outright (no guest cooperation, pages still registered):
# the host's destruction hook must forget it.
vd0=$(num "$(host_attr stats/vm_destroyed)")
pid4=$(l2_pid smp4)
l2_kill smp4
check_eq kill-smp4/host-nr-vcpus 2 "$(host_attr nr_vcpus)"
check_eq kill-smp4/host-nr-vms 1 "$(host_attr nr_vms)"
check_eq kill-smp4/registrations-gone 0 "$(registrations "$pid4" | grep -c .)"
check_eq kill-smp4/vm-destroyed-count 1 $(($(num "$(host_attr stats/vm_destroyed)") - vd0))
check_eq kill-smp4/smp2-untouched 2 "$(registrations "$(l2_pid smp2)" | grep -c .)"
check_eq kill-smp4/smp2-still-attached 0-1 "$(guest_attr smp2 attached_cpus)"
# A VM powered off: nothing of it stays behind either.
l2_stop smp2
check_eq stop-all/host-nr-vcpus 0 "$(host_attr nr_vcpus)"
check_eq stop-all/host-nr-vms 0 "$(host_attr nr_vms)"
check_eq stop-all/registrations-empty "" "$(registrations)"

check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
