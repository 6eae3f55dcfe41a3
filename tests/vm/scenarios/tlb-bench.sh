# tlb-bench: the map/touch/unmap storm (tlbstorm, one thread per vCPU) in
# an overcommitted 4-vCPU L2, with two CPU hogs in L1, under four
# configurations in one L1 boot:
#   baseline        no PV flush: kvm-pv-tlb-flush=off, kvm-pv-ipi=off
#   upstream        the kernel's own KVM PV flush (and PV IPI), no pvscale
#   skip-preempted  the same L2 with pvscale_host + pvscale_guest tlb
#   host-flush      the same L2 with pvscale_guest tlb_hostflush
#   combined        both pvscale modes, the guest's default: preempted
#                   targets deferred, the others flushed by the host
# (pvscale needs the kernel's PV flush set up underneath: that is what
# makes the kernel free page tables through RCU; pvscale's path then
# replaces the kernel's.) The last four alternate run by run in one L2.
# tlbstorm zaps its chunk with MADV_DONTNEED (its -m munmap mode mostly
# measures the mmap lock: threads wait, CPUs go idle, no flush IPIs).
# Per run: operations per second from tlbstorm; L1's kvm_exit count of
# the L2's vCPUs (PAUSE exits left out, see lib.sh), the exits that sent
# a flush (lib.sh: flush_send_exits; exact, unlike all exits, which under
# nested TCG grow with time) and the TLB-shootdown IPIs the L2's CPUs
# received (/proc/interrupts), per 1000 operations.
# Prints "RESULT tlb <config> ops_per_s=med/min/max exits_per_kop=...
# flush_exits_per_kop=... ipis_per_kop=... pause_per_kop=... reps=N" as
# diagnostics.
# manual: run by tests/bench/tlb
# needs: host guest guestprog:tlbstorm
# smp: 2

REPS=5
SECS=8
NCPU=4
B=$PVS_RUN/tlb-bench
mkdir -p "$B"

# l2_exits: "EXITS PAUSES" of every vCPU of the L2 alive now, from one
# read of the kvm_exit histogram: exits but PAUSE ones, and PAUSE ones.
l2_exits() {
	awk -v n="$NCPU" -v p="$SVM_EXIT_PAUSE" '
		/^\{ vcpu_id:/ {
			gsub(/[{},:]/, " ")
			if ($2 < n) { if ($4 == p) q += $6; else e += $6 }
		}
		END { print e + 0, q + 0 }' "$TRACEFS/events/kvm/kvm_exit/hist"
}

# storm ID CONFIG: one run; appends "OPS_PER_S EXITS IPIS PAUSE FLUSHEXITS"
# (the last four per 1000 operations) to $B/CONFIG.
storm() {
	local e0 e1 f0 f1 out ops ops_s i0 i1
	hogs_start 2
	f0=$(flush_send_exits)
	e0=$(l2_exits)
	out=$(l2_cmd "$1" "tlb_ipis() { awk '/^ *TLB:/ { for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+\$/) s += \$i; print \"tlb_ipis=\" s }' /proc/interrupts; }
		tlb_ipis; tlbstorm -t $SECS; tlb_ipis")
	e1=$(l2_exits)
	f1=$(flush_send_exits)
	hogs_stop
	ops=$(printf '%s\n' "$out" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
	ops_s=$(printf '%s\n' "$out" | sed -n 's/.* ops_per_s=\([0-9]*\).*/\1/p')
	i0=$(printf '%s\n' "$out" | sed -n 's/^tlb_ipis=//p' | head -n 1)
	i1=$(printf '%s\n' "$out" | sed -n 's/^tlb_ipis=//p' | tail -n 1)
	if [ -z "$ops" ] || [ "$ops" -eq 0 ] || [ -z "$i0" ]; then
		not_ok "$2-run" "tlbstorm: $out"
		return 1
	fi
	echo "$ops_s $((${e1% *} - ${e0% *})) $((i1 - i0)) $((${e1#* } - ${e0#* })) $((f1 - f0))" | awk -v o="$ops" '{
		printf "%d %.1f %.1f %.1f %.1f\n", $1, $2 * 1000 / o, $3 * 1000 / o, $4 * 1000 / o, $5 * 1000 / o }' >>"$B/$2"
	diag "run $2: $(tail -n 1 "$B/$2") (ops/s exits ipis pause flush-exits per kop)"
}

# stats COLUMN <FILE: med/min/max of one column.
stats() {
	awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END {
		printf "%s/%s/%s", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

result() {
	[ -s "$B/$1" ] || return
	diag "RESULT tlb $1 ops_per_s=$(stats 1 <"$B/$1") exits_per_kop=$(stats 2 <"$B/$1") flush_exits_per_kop=$(stats 5 <"$B/$1") ipis_per_kop=$(stats 3 <"$B/$1") pause_per_kop=$(stats 4 <"$B/$1") reps=$(grep -c . "$B/$1")"
}

# pvscale_on ID FEATURES: both modules, the guest with FEATURES.
pvscale_on() {
	host_insmod && l2_cmd "$1" insmod /pvscale_guest.ko "features=$2" >/dev/null
}

pvscale_off() {
	l2_cmd "$1" rmmod pvscale_guest >/dev/null
	host_rmmod
}

exits_hist_on
check flush-exit-counters ipi_exits_on

l2_start b $NCPU -cpu host,kvm-pv-tlb-flush=off,kvm-pv-ipi=off
for r in $(seq "$REPS"); do
	storm b baseline
done
l2_stop b

l2_start u $NCPU
check_match upstream-pv-flush-on "pv remote TLB flush" \
	"$(l2_cmd u 'dmesg | grep -i "tlb flush"')"
for r in $(seq "$REPS"); do
	storm u upstream
	check "skip-preempted-$r/load" pvscale_on u 0x1 || break
	c0=$(tlb_counters u)
	storm u skip-preempted
	c1=$(tlb_counters u)
	diag "skip-preempted: deferred $(tlb_delta "$c0" "$c1" guest.flushes_deferred), flush on entry $(tlb_delta "$c0" "$c1" host.flush_on_entry), preempt marks $(tlb_delta "$c0" "$c1" host.preempt_marks)"
	check "host-flush-$r/switch" l2_cmd u "echo 0 >$GUEST_SYSFS/features/tlb && echo 1 >$GUEST_SYSFS/features/tlb_hostflush"
	storm u host-flush
	c2=$(tlb_counters u)
	diag "host-flush: calls $(tlb_delta "$c1" "$c2" guest.hostflush_calls), targets $(tlb_delta "$c1" "$c2" guest.hostflush_targets), fallbacks $(tlb_delta "$c1" "$c2" guest.tlb_fallbacks), host timeouts $(tlb_delta "$c1" "$c2" host.hostflush_timeouts)"
	check "combined-$r/switch" l2_cmd u "echo 1 >$GUEST_SYSFS/features/tlb"
	storm u combined
	c3=$(tlb_counters u)
	diag "combined: deferred $(tlb_delta "$c2" "$c3" guest.flushes_deferred), host-flush calls $(tlb_delta "$c2" "$c3" guest.hostflush_calls), targets $(tlb_delta "$c2" "$c3" guest.hostflush_targets)"
	check "host-flush-$r/unload" pvscale_off u
done
l2_stop u
ipi_exits_off
exits_hist_off

for c in baseline upstream skip-preempted host-flush combined; do
	result "$c"
done
ok tlb-bench
