# host-load: pvscale_host alone in L1, no guest.
#  - the load/unload triad: its sysfs and debugfs are absent before insmod,
#    present and sane after, absent again after rmmod;
#  - load-time parameters it cannot honour are refused (EINVAL, one dmesg
#    line, nothing left behind);
#  - the hostile-input program /pvscale-kvmtest (a tiny VM issuing
#    hypercalls, KVM-selftest style) when the image has it;
#  - a clean kernel log.
#
# L1 has two CPUs: kvmtest's concurrent feature toggles need two stores
# running at once (it skips that case on one CPU); no L2 runs here.
#
# needs: host
# smp: 2

# ---- before: nothing there
check_fails sysfs-absent-before test -e "$HOST_SYSFS"
check_fails module-absent-before test -e /sys/module/pvscale_host

# ---- parameters it cannot honour
# bad_param NAME VALUE: insmod must fail with EINVAL, say so in exactly one
# dmesg line from the module, and leave nothing loaded.
bad_param() {
	local m out rc lines
	m=$(kmsg_mark)
	out=$(host_insmod "features=$2" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && echo "$out" | grep -q 'Invalid argument'; then
		ok "reject-$1"
	else
		not_ok "reject-$1" "insmod features=$2: status $rc, '$out' (want EINVAL)"
	fi
	lines=$(module_says "$m" pvscale_host)
	check_eq "reject-$1-one-dmesg-line" 1 "$(printf '%s' "$lines" | grep -c .)"
	[ -z "$lines" ] || diag "dmesg: $lines"
	check_fails "reject-$1-not-loaded" test -e /sys/module/pvscale_host
	check_fails "reject-$1-no-sysfs" test -e "$HOST_SYSFS"
}
# Bit 6 is not even defined by the ABI (bits 0..5 are).
bad_param undefined-bit6 0x40
bad_param not-a-number zzz

# ---- load
m=$(kmsg_mark)
check insmod host_insmod
check sysfs-present test -d "$HOST_SYSFS"
check_eq abi-version 1.0 "$(host_attr abi_version)"
check_match offered-features-hex '^0x[0-9a-f]+$' "$(host_attr offered_features)"
# By default every implemented feature: PVSCALE_F_TLB, _TLB_HOSTFLUSH and
# _IPI (bits 0, 1, 2).
check_hex_eq offered-features-implemented 0x7 "$(host_attr offered_features)"
check_eq nr-vms-zero 0 "$(host_attr nr_vms)"
check_eq nr-vcpus-zero 0 "$(host_attr nr_vcpus)"
for s in probe register unregister rejected vcpu_destroyed vm_destroyed; do
	check_match "stats-$s-decimal" '^[0-9]+$' "$(host_attr "stats/$s")"
done
check registrations-present test -f "$HOST_DEBUGFS/registrations"
check_eq registrations-empty "" "$(registrations)"
check_match load-dmesg 'pvscale_host: ' "$(dmesg_since "$m")"
check rmmod host_rmmod

# ---- after: nothing left
check_fails sysfs-absent-after test -e "$HOST_SYSFS"
check_fails debugfs-absent-after test -e "$HOST_DEBUGFS"
check_fails module-absent-after test -e /sys/module/pvscale_host

# An explicit features=0 is a valid request for nothing.
check insmod-features-0 host_insmod features=0
check_hex_eq features-0-offered 0x0 "$(host_attr offered_features)"
# kvmtest exercises every feature's hypercalls: offer them all.
check rmmod-features-0 host_rmmod
check insmod-default host_insmod

# ---- hostile inputs, from a VM without a guest kernel
if [ -x /pvscale-kvmtest ]; then
	# Forward its KTAP results as ours; a crash or a missing plan fails.
	/pvscale-kvmtest >/tmp/kvmtest.out 2>&1
	rc=$?
	grep -E '^(not )?ok [0-9]+ ' /tmp/kvmtest.out |
	while IFS= read -r l; do
		case $l in
		"not ok "*)
			l=${l#not ok }; l=${l#* }
			name=${l%% # *}; reason=${l#"$name"}; reason=${reason# # }
			not_ok "kvmtest/$(echo "$name" | tr ' ' '-')" "${reason:-failed}" ;;
		*)
			l=${l#ok }; l=${l#* }
			verdict "ok kvmtest/$(echo "${l%% # *}" | tr ' ' '-')$(case $l in *" # "*) echo " # ${l#* # }" ;; esac)" ;;
		esac
	done
	# Its measurements (loop rates, timings) are comments: keep them.
	grep '^# ' /tmp/kvmtest.out | sed 's/^# //' | diag_lines "kvmtest: "
	check_eq kvmtest-exit-status 0 "$rc"
	plan=$(grep -m1 -E '^1\.\.[0-9]+' /tmp/kvmtest.out)
	if [ -z "$plan" ]; then
		not_ok kvmtest-plan "no KTAP plan in its output"
		tail -n 20 /tmp/kvmtest.out | diag_lines "kvmtest: "
	else
		check_eq kvmtest-plan-complete "${plan#1..}" \
			"$(grep -cE '^(not )?ok [0-9]+ ' /tmp/kvmtest.out)"
	fi
	[ "$rc" -eq 0 ] || tail -n 20 /tmp/kvmtest.out | diag_lines "kvmtest: "
else
	skip kvmtest "/pvscale-kvmtest not built (make kvmtest)"
fi
check rmmod-again host_rmmod

dmesg_clean dmesg-clean-l1
