# ipi-l2: PV multicast IPIs in a 4-vCPU L2. Every CPU receives every kind
# of IPI (call-function with wait, NMI backtrace, reschedule), counted; one
# multicast is one exit of the sender with pvscale and one per destination
# without it (before load, guest toggle off, host toggle off, after
# unload); unloading either module while IPIs fly loses none. Sparse
# APIC IDs: ipi-sparse.
#
# L2 runs x2APIC physical mode (x2apic_phys): one ICR write per
# destination, what QEMU's firmware asks for once APIC IDs pass 255. In
# cluster mode (the default for small VMs) a multicast inside one cluster
# of 16 is one ICR write already.
#
# needs: host guest

D=/sys/kernel/debug/pvscale_ipitest
G=$GUEST_SYSFS
L2_APPEND="$L2_APPEND x2apic_phys"

# mcast_exits ITERS: IPI-sending exits per multicast IPI from CPU 0 to
# CPUs 1 and 3, in hundredths (lib.sh: ipi_exits).
mcast_exits() {
	local r
	r=$(ipi_exits mcast "$1")
	echo "${r#* }"
}

# exits_near NAME WANT GOT: GOT (hundredths of IPI-sending exits per
# multicast IPI) in the band of WANT: 200, the native path (one ICR write
# per destination), accepts 1.4 to 2.3; 100, pvscale (one hypercall),
# accepts 0.6 to 1.3. Both fall short of the ideal when a target already
# has work queued and gets no IPI (smp_call_function_many_cond): measured
# 1.69 to 2.00 native and 0.88 to 1.00 with pvscale on 6.1 and 6.12; the
# idle L2's own IPIs add a little. The bands do not overlap.
exits_near() {
	local lo hi
	diag "$1: $3/100 IPI-sending exits per IPI"
	if [ "$2" -eq 200 ]; then lo=140 hi=230; else lo=60 hi=130; fi
	if [ "$3" -ge "$lo" ] && [ "$3" -le "$hi" ]; then
		ok "$1"
	else
		not_ok "$1" "$3/100 exits per IPI, want $lo/100 to $hi/100"
	fi
}

# irq_row NAME: the /proc/interrupts counts of row NAME (NMI, RES, CAL).
irq_row() {
	l2_cmd 1 "grep '^ *$1:' /proc/interrupts" | awk '{ print $2, $3, $4, $5 }'
}

# all_rose NAME BEFORE AFTER MIN: every CPU's count rose by at least MIN
# (CPU 0 is left out when MIN is negative: it sent them).
all_rose() {
	local i b a min=$4 from=1
	[ "$min" -lt 0 ] && { min=$((-min)); from=2; }
	for i in 1 2 3 4; do
		[ "$i" -lt "$from" ] && continue
		b=$(echo "$2" | cut -d' ' -f$i)
		a=$(echo "$3" | cut -d' ' -f$i)
		if [ $((a - b)) -lt "$min" ]; then
			not_ok "$1" "CPU $((i - 1)): $b -> $a, want +$min"
			return
		fi
	done
	ok "$1"
}

gstat() {
	guest_attr 1 "stats/$1"
}

check ipi-exit-counters ipi_exits_on
host_insmod
# kvm-pv-ipi=off: natively, one ICR write per destination (KVM's PV IPI
# would send the set in one hypercall already).
l2_start 1 4 -cpu host,kvm-pv-ipi=off
l2_cmd 1 'insmod /pvscale_ipitest.ko' || not_ok ipitest-insmod "$(l2_cmd 1 dmesg | tail -n 3)"
check_match l2-x2apic-physical 'physical x2apic' "$(l2_cmd 1 'dmesg | grep -i -m1 "apic routing"')"

# Before pvscale_guest: the kernel's own path, one exit per destination.
e=$(mcast_exits 300)
exits_near before-load-2-exits-per-mcast 200 "$e"

check ipi-guest-insmod l2_cmd 1 "insmod /pvscale_guest.ko"
check_eq guest-ipi-on 1 "$(guest_attr 1 features/ipi)"
calls0=$(host_attr stats/ipi_calls)
sends0=$(gstat pv_ipi_sends)
fb0=$(gstat ipi_fallbacks)

# Call-function with wait, broadcast and multicast, from every CPU, 50
# rounds of each (mcast_exits leaves its own count in iters).
P=/sys/module/pvscale_ipitest/parameters
l2_cmd 1 "echo 50 >$P/iters"
cf=$(l2_cmd 1 "cat $D/callfunc")
echo "$cf" | diag_lines "callfunc: "
check_match callfunc-every-cpu-counted '^callfunc ok$' "$(echo "$cf" | tail -n 1)"
sends1=$(gstat pv_ipi_sends)
calls1=$(host_attr stats/ipi_calls)
# 4 senders x 50 broadcasts + multicasts to 2 (multicasts to one CPU are
# single IPIs, which stay native).
check_match callfunc-through-pvscale '^([2-9][0-9][0-9]|[0-9]{4,})$' "$((sends1 - sends0))"
check_match callfunc-host-calls '^([2-9][0-9][0-9]|[0-9]{4,})$' "$((calls1 - calls0))"
check_eq callfunc-no-fallbacks "$fb0" "$(gstat ipi_fallbacks)"

e=$(mcast_exits 300)
exits_near pvscale-1-exit-per-mcast 100 "$e"

# NMI backtrace: apic->send_IPI_mask(NMI_VECTOR) from sysrq. Its
# backtraces are Call Traces that dmesg_clean would flag: check the log
# before, expect one backtrace per other CPU, then clear it.
dmesg_clean dmesg-clean-l2-before-nmi 1
b=$(irq_row NMI)
s0=$(gstat pv_ipi_sends)
# From CPU 0: the CPU that triggers it backtraces itself without an NMI.
l2_cmd 1 'echo 1 >/proc/sys/kernel/printk; taskset 1 sh -c "echo l >/proc/sysrq-trigger"; sleep 1; echo 5 >/proc/sys/kernel/printk'
a=$(irq_row NMI)
all_rose nmi-backtrace-every-cpu "$b" "$a" -1
check_match nmi-through-pvscale '^[1-9]' "$(( $(gstat pv_ipi_sends) - s0 ))"
check_eq nmi-backtrace-printed 3 "$(l2_cmd 1 'dmesg -c |
	grep -oE "NMI backtrace for cpu [1-3]" | sort -u | wc -l')"

# Reschedule vector to CPUs 1-3 at once (back-to-back sends may merge in
# a target's IRR, as on hardware: each CPU must get at least one).
b=$(irq_row RES)
s0=$(gstat pv_ipi_sends)
check_match resched-sent 'resched sent' "$(l2_cmd 1 "cat $D/resched")"
a=$(irq_row RES)
all_rose resched-every-cpu "$b" "$a" -1
check_match resched-through-pvscale '^[1-9][0-9][0-9]' "$(( $(gstat pv_ipi_sends) - s0 ))"

# Toggle triad: guest off -> native exits; on -> one exit; host off -> native.
l2_cmd 1 "echo 0 >$G/features/ipi"
s0=$(gstat pv_ipi_sends)
e=$(mcast_exits 300)
exits_near guest-toggle-off-native 200 "$e"
check_eq guest-toggle-off-no-sends "$s0" "$(gstat pv_ipi_sends)"
l2_cmd 1 "echo 1 >$G/features/ipi"
e=$(mcast_exits 300)
exits_near guest-toggle-on-1-exit 100 "$e"
echo 0 >"$HOST_SYSFS/features/ipi"
fb0=$(gstat ipi_fallbacks)
e=$(mcast_exits 300)
exits_near host-toggle-off-native 200 "$e"
check_match host-toggle-off-fallbacks '^[1-9]' "$(( $(gstat ipi_fallbacks) - fb0 ))"
echo 1 >"$HOST_SYSFS/features/ipi"
l2_cmd 1 "echo 20 >$P/iters"
check_match host-toggle-on-callfunc '^callfunc ok$' "$(l2_cmd 1 "cat $D/callfunc" | tail -n 1)"

# Unload the guest module while IPIs fly; none may be lost (callfunc waits
# for every handler, a lost IPI hangs it and the L2 command times out).
l2_cmd 1 "(for i in 1 2 3 4 5 6 7 8; do cat $D/callfunc; done >/tmp/cf.log) &
	sleep 1; rmmod pvscale_guest; wait"
check_eq guest-unload-in-flight 0 "$(l2_cmd 1 'grep -c FAIL /tmp/cf.log')"
check_eq guest-unloaded-callfunc 8 "$(l2_cmd 1 'grep -c "callfunc ok" /tmp/cf.log')"
e=$(mcast_exits 300)
exits_near after-unload-native 200 "$e"

# Unload the host module under a loaded, IPI-sending guest.
l2_cmd 1 "insmod /pvscale_guest.ko; echo 20 >$P/iters" >/dev/null
l2_cmd 1 "(for i in 1 2 3 4 5 6 7 8; do cat $D/callfunc; done >/tmp/cf2.log) &
	sleep 1" >/dev/null
host_rmmod
check_eq host-unload-in-flight 8 "$(l2_cmd 1 'for i in $(seq 120); do
	[ $(grep -c "callfunc ok" /tmp/cf2.log) -ge 8 ] && break; sleep 1; done
	grep -c "callfunc ok" /tmp/cf2.log')"
check_match host-unloaded-callfunc '^callfunc ok$' "$(l2_cmd 1 "cat $D/callfunc" | tail -n 1)"
l2_cmd 1 'rmmod pvscale_guest'
dmesg_clean dmesg-clean-l2 1
l2_stop 1
ipi_exits_off
dmesg_clean dmesg-clean-l1
