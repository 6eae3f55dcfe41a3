# tlb-overcommit: PV TLB shootdown correctness with really concurrent
# vCPUs: a 4-vCPU L2 on L1's two CPUs, with two CPU hogs in L1, the
# stale-TLB detector reading on every vCPU while a writer remaps, unmaps
# and mprotects. Nothing stale may be seen with the feature off, in
# skip-preempted mode and in host-flush mode, nor while L1 turns the host's
# skip-preempted toggle off and on in a tight loop (each turn-off takes
# back every deferred flush: they must all be done before the vCPUs run
# again), and no WARN on either side.
# (Toggles and reloads under load are tlb-pv's: this platform loses about
# one L2 in four at -smp 2, so this scenario stays short.)
#
# needs: host guest guestprog:tlbstale
# smp: 2

check insmod-host host_insmod || exit 0
l2_start o 4

tlb_detect off o 6

check skip/insmod-guest l2_cmd o insmod /pvscale_guest.ko features=0x1
tlb_phase skip o 6
check_grew skip/guest-deferred "$c0" "$c1" guest.flushes_deferred
check_grew skip/host-flush-on-entry "$c0" "$c1" host.flush_on_entry

check hostflush/tlb-off tlb_guest_set o tlb 0
check hostflush/on tlb_guest_set o tlb_hostflush 1
tlb_phase hostflush o 6
check_grew hostflush/guest-calls "$c0" "$c1" guest.hostflush_calls
check_grew hostflush/host-targets "$c0" "$c1" host.hostflush_targets
diag "hostflush: fallbacks $(tlb_delta "$c0" "$c1" guest.tlb_fallbacks), host timeouts $(tlb_delta "$c0" "$c1" host.hostflush_timeouts)"

# ---- the host toggles skip-preempted in a tight loop under the detector
check storm/hostflush-off tlb_guest_set o tlb_hostflush 0
check storm/tlb-on tlb_guest_set o tlb 1
rm -f /tmp/storm.stop /tmp/storm.n
# Each toggle logs a line: keep them off the serial console meanwhile.
echo 4 >/proc/sys/kernel/printk
(n=0; while [ ! -e /tmp/storm.stop ]; do
	echo 0 >"$HOST_SYSFS/features/tlb"; echo 1 >"$HOST_SYSFS/features/tlb"
	n=$((n + 1))
done; echo "$n" >/tmp/storm.n) &
storm=$!
tlb_phase storm o 8
touch /tmp/storm.stop
wait "$storm"
echo 8 >/proc/sys/kernel/printk
diag "storm: $(cat /tmp/storm.n) off/on turns of the host toggle"
check_grew storm/flushes-taken-back "$c0" "$c1" host.flush_on_detach
check_eq storm/host-tlb-on 1 "$(host_attr features/tlb)"
check_eq storm/guest-answers alive "$(l2_cmd o echo alive)"

dmesg_clean dmesg-clean-l2 o
l2_stop o
check rmmod-host host_rmmod
dmesg_clean dmesg-clean-l1
