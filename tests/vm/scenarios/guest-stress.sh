# guest-stress: pvscale_guest reloads and CPU hotplug under TLB and IPI
# traffic, in one 4-vCPU L2 booted as tlb-pv boots it (the kernel's own
# KVM PV TLB flush on, so that pvscale may take flushes over; every
# feature on). The stale-TLB detector runs on every vCPU and a
# call-function storm (pvscale_ipitest callstorm, rounds of IPIs with wait
# to the other online CPUs) runs from whichever CPU its loop lands on,
# while L1 takes CPUs offline and online and reloads pvscale_guest, also
# with CPUs offline (pages registered at load, at online, and not for the
# CPUs that are offline). After each step the CPUs with a registered page
# must be the online ones, in the guest and in the host. At the end the
# detector must have seen nothing stale, every call-function round must
# have reached every target (callstorm missed=0, and callfunc, exact, once
# all CPUs are back), and L1 and L2 must have logged no kernel bug. Also
# written for the debug-kernel tier (KASAN, lockdep), which runs it as is.
#
# needs: host guest guestprog:tlbstale

D=/sys/kernel/debug/pvscale_ipitest
ROUNDS=3	# ~35 s each on 6.1

# online CPU 0|1: take an L2 CPU offline or bring it back.
online() {
	check "$STEP/cpu$1-online-$2" \
		l2_cmd s "echo $2 >/sys/devices/system/cpu/cpu$1/online"
}

# registered_online: the CPUs with a registered page are the online ones,
# as the guest lists them and as the host counts them.
registered_online() {
	local on n
	on=$(l2_cmd s 'cat /sys/devices/system/cpu/online')
	check_eq "$STEP/registered-$on" "$on" "$(guest_attr s registered_cpus)"
	n=$(l2_cmd s 'grep -c ^processor /proc/cpuinfo')
	check_eq "$STEP/host-vcpus-$on" "$n" "$(host_attr nr_vcpus)"
}

guest_reload() {
	check "$STEP/guest-rmmod" l2_cmd s 'rmmod pvscale_guest'
	check_eq "$STEP/host-vcpus-unloaded" 0 "$(host_attr nr_vcpus)"
	check "$STEP/guest-insmod" l2_cmd s 'insmod /pvscale_guest.ko'
}

check insmod-host host_insmod || exit 0
l2_start s 4
check ipitest-insmod l2_cmd s 'insmod /pvscale_ipitest.ko iters=30'
check guest-insmod l2_cmd s 'insmod /pvscale_guest.ko'
check_hex_eq guest-all-features 0x7 "$(guest_attr s enabled_features)"

l2_cmd s "rm -f /tmp/st.*
	(tlbstale -t 900 -f /tmp/st.stop >/tmp/st.tlb 2>&1; echo \$? >/tmp/st.tlbrc) &
	(while [ ! -e /tmp/st.stop ]; do cat $D/callstorm || echo callstorm failed; done >/tmp/st.cs 2>&1; touch /tmp/st.csdone) &" >/dev/null

for r in $(seq "$ROUNDS"); do
	STEP=round$r
	online 3 0
	online 1 0
	registered_online
	guest_reload
	registered_online
	online 1 1
	online 3 1
	registered_online
	online 2 0
	check "$STEP/guest-rmmod-cpu2-offline" l2_cmd s 'rmmod pvscale_guest'
	online 2 1
	check "$STEP/guest-insmod-all-online" l2_cmd s 'insmod /pvscale_guest.ko'
	registered_online
done
STEP=end

g=$(l2_cmd s "cd $GUEST_SYSFS/stats && grep . *")
diag "guest counters since the last load: $(echo $g)"
check_match end/flushes-through-pvscale '^tlb_calls:[1-9]' "$(echo "$g" | grep ^tlb_calls)"
check_match end/ipis-through-pvscale '^pv_ipi_sends:[1-9]' "$(echo "$g" | grep ^pv_ipi_sends)"

out=$(l2_cmd s 'touch /tmp/st.stop; while [ ! -e /tmp/st.tlbrc ] || [ ! -e /tmp/st.csdone ]; do sleep 1; done
	cat /tmp/st.tlb; exit $(cat /tmp/st.tlbrc)')
rc=$?
diag "$(printf '%s\n' "$out" | tail -n 1)"
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q ' stale=0 spurious=0$'; then
	ok end/no-stale-tlb
else
	not_ok end/no-stale-tlb "tlbstale (status $rc): $out"
fi
cs=$(l2_cmd s 'cat /tmp/st.cs')
diag "callstorm: $(echo "$cs" | grep -c .) reads, last: $(echo "$cs" | tail -n 1)"
check_match end/callstorm-ran '^callstorm rounds=30 ' "$cs"
check_eq end/callstorm-every-target "" \
	"$(echo "$cs" | grep -v '^callstorm rounds=30 calls=[0-9]* missed=0$')"
check_match end/callfunc-every-cpu '^callfunc ok$' \
	"$(l2_cmd s "cat $D/callfunc" | tail -n 1)"
registered_online
check end/guest-rmmod l2_cmd s 'rmmod pvscale_guest'
dmesg_clean dmesg-clean-l2 s
l2_stop s
check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
