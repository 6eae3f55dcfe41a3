# ipi-bench: call-function IPIs with wait (smp_call_function_many) from
# CPU 0 of an L2 in x2APIC physical mode to all others (bcast) and to the
# odd-numbered CPUs (mcast), in one L1 boot:
#   baseline  kvm-pv-ipi=off, no pvscale (one ICR write per destination;
#             a broadcast uses the all-but-self shorthand: one write)
#   upstream  kvm-pv-ipi=on: the kernel's KVM PV IPI (one hypercall per
#             128-ID window), pvscale_guest loaded with its IPI toggle off
#   pvscale   the same L2 with the toggle on
# upstream and pvscale alternate run by run in one L2, so that the
# platform's drift falls on both. Then the same pair in an L2 whose vCPUs
# have APIC IDs 0, 1, 128 and 129 (lib.sh: l2_start_sparse), multicasts
# from CPU 0 to CPUs 1 and 3, APIC IDs 1 and 129, which no 128-ID window
# holds both of: upstream-sparse needs two
# hypercalls, pvscale-sparse one. (Broadcasts use the all-but-self
# shorthand, one ICR write, in every configuration.)
# msend times the multicast's send alone (the test module's median of
# ITERS sends): the sender's cost, which its exits make, without the
# targets' wake-ups that dominate a call with wait under nested TCG.
# Per configuration: REPS runs of ITERS IPIs each; ns per IPI from the L2
# module, IPI-sending exits per IPI (ICR writes and IPI hypercalls, see
# lib.sh: ipi_exits) from L1's tracepoints, less a run with no IPI.
# Prints "RESULT ipi <config>-<bcast|mcast|msend> ns_per_ipi=med/min/max
# exits_per_ipi=med/min/max" as diagnostics.
# manual: run by tests/bench/ipi
# needs: host guest

ITERS=${IPI_BENCH_ITERS:-500}
REPS=${IPI_BENCH_REPS:-5}
L2_APPEND="$L2_APPEND x2apic_phys"

# stats: med/min/max of the numbers on stdin.
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		printf "%s/%s/%s", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# run CONFIG KIND: one measured run (lib.sh: ipi_exits), appended to
# /tmp/CONFIG-KIND.ns and .ex.
run() {
	local r
	r=$(ipi_exits "$2" "$ITERS")
	echo "${r% *}" >>"/tmp/$1-$2.ns"
	awk -v x="${r#* }" 'BEGIN { printf "%.2f\n", x / 100 }' >>"/tmp/$1-$2.ex"
	diag "run $1-$2: ns_per_ipi=${r% *} exits_per_ipi=$(tail -n 1 "/tmp/$1-$2.ex")"
}

result() {
	[ -s "/tmp/$1.ns" ] || return
	diag "RESULT ipi $1 ns_per_ipi=$(stats <"/tmp/$1.ns") exits_per_ipi=$(stats <"/tmp/$1.ex") iters=$ITERS reps=$REPS"
}

# boot ID SMP ARGS...: an L2 with the IPI test module.
boot() {
	local id=$1
	l2_start "$@"
	check "$id-ipitest" l2_cmd "$id" 'insmod /pvscale_ipitest.ko'
}

# pair SUFFIX KIND...: REPS rounds of upstream then pvscale in L2 1,
# pvscale_guest loaded with only its IPI feature, toggled per run.
pair() {
	local sfx=$1 i k
	shift
	check "pair$sfx-guest" l2_cmd 1 'insmod /pvscale_guest.ko features=0x4' || return
	for i in $(seq "$REPS"); do
		l2_cmd 1 "echo 0 >$GUEST_SYSFS/features/ipi"
		for k in "$@"; do run "upstream$sfx" "$k"; done
		l2_cmd 1 "echo 1 >$GUEST_SYSFS/features/ipi"
		for k in "$@"; do run "pvscale$sfx" "$k"; done
	done
	check "pair$sfx-pv-sends" test "$(num "$(guest_attr 1 stats/pv_ipi_sends)")" -gt 0
}

rm -f /tmp/*.ns /tmp/*.ex
check ipi-exit-counters ipi_exits_on

boot 1 4 -cpu host,kvm-pv-ipi=off
for i in $(seq "$REPS"); do
	run baseline bcast
	run baseline mcast
	run baseline msend
done
l2_stop 1

host_insmod
boot 1 4 -cpu host,kvm-pv-ipi=on
pair "" bcast mcast msend
l2_stop 1

l2_start_sparse 1 4 -cpu host,kvm-pv-ipi=on
check sparse-ipitest l2_cmd 1 'insmod /pvscale_ipitest.ko'
pair -sparse mcast msend
l2_stop 1
host_rmmod
ipi_exits_off

for c in baseline upstream pvscale; do
	result "$c-bcast"
	result "$c-mcast"
	result "$c-msend"
done
for c in upstream pvscale; do
	result "$c-sparse-mcast"
	result "$c-sparse-msend"
done
ok ipi-bench
