# ipi-bench: call-function IPIs with wait (smp_call_function_many) from
# CPU 0 of a 4-vCPU L2 to all others (bcast) and to CPUs 1 and 3 (mcast),
# under three configurations in one L1 boot:
#   baseline  x2APIC physical, kvm-pv-ipi=off, no pvscale
#   upstream  x2APIC physical, kvm-pv-ipi=on (KVM's PV IPI), no pvscale
#   pvscale   x2APIC physical, kvm-pv-ipi=off, pvscale_host + pvscale_guest
# Per configuration: REPS runs of ITERS IPIs each; ns per IPI from the L2
# module, IPI-sending exits per IPI (ICR writes and IPI hypercalls, see
# lib.sh: ipi_exits) from L1's tracepoints, less a run with no IPI.
# Prints "RESULT ipi <config>-<bcast|mcast> ns_per_ipi=med/min/max
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

# bench CONFIG KIND: REPS measured runs (lib.sh: ipi_exits).
bench() {
	local i r
	: >/tmp/ns
	: >/tmp/ex
	for i in $(seq "$REPS"); do
		r=$(ipi_exits "$2" "$ITERS")
		echo "${r% *}" >>/tmp/ns
		awk -v x="${r#* }" 'BEGIN { printf "%.2f\n", x / 100 }' >>/tmp/ex
	done
	diag "RESULT ipi $1-$2 ns_per_ipi=$(stats </tmp/ns) exits_per_ipi=$(stats </tmp/ex) iters=$ITERS reps=$REPS"
}

# config NAME CPUFLAGS GUEST: one L2 boot measuring both kinds.
config() {
	l2_start 1 4 -cpu "host,$2"
	if ! l2_cmd 1 'insmod /pvscale_ipitest.ko' >/dev/null; then
		not_ok "ipi-bench-$1" "pvscale_ipitest did not load"
		l2_stop 1
		return
	fi
	if [ "$3" = guest ] && ! l2_cmd 1 'insmod /pvscale_guest.ko' >/dev/null; then
		not_ok "ipi-bench-$1" "pvscale_guest did not load"
		l2_stop 1
		return
	fi
	bench "$1" bcast
	bench "$1" mcast
	ok "ipi-bench-$1"
	l2_stop 1
}

check ipi-exit-counters ipi_exits_on
config baseline kvm-pv-ipi=off none
config upstream kvm-pv-ipi=on none
host_insmod
config pvscale kvm-pv-ipi=off guest
host_rmmod
ipi_exits_off
