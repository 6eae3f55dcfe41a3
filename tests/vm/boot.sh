# tests/vm/boot.sh: host-side helpers shared by tests/vm/run and
# tests/vm/demo (sourced; needs TOP, VM and SMP set). One L1 boot, and the
# reading of what it left behind.

HARD_TIMEOUT=${PVS_VM_TIMEOUT:-1200}	# one L1 boot, seconds
SILENCE=${PVS_VM_SILENCE:-150}		# no console/verdict output, seconds

# ---- one L1 boot -----------------------------------------------------

# boot_l1 KVER SCENARIO DIR ATTEMPT: run L1 to its end; DIR/stop says why it ended
# when it did not end by itself.
boot_l1() {
	local kver=$1 scen=$2 dir=$3 attempt=$4 img=$TOP/build/vm/$1
	local qpid last=-1 idle=0 size rc
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/console.log"
	: >"$dir/verdict.log"
	: >"$dir/l2console.log"
	timeout --kill-after=10 "$HARD_TIMEOUT" \
		qemu-system-x86_64 -accel tcg -machine q35 -cpu max \
		-smp "$SMP" -m 2048 -display none -nodefaults -no-reboot \
		-serial "file:$dir/console.log" \
		-serial "file:$dir/verdict.log" \
		-serial "file:$dir/l2console.log" \
		-kernel "$img/vmlinux" -initrd "$img/l1.cpio" \
		-append "console=ttyS0 panic=-1 panic_on_warn=1 oops=panic quiet pvscale.scenario=$scen pvscale.attempt=$attempt" \
		</dev/null >"$dir/qemu.log" 2>&1 &
	qpid=$!
	# Silence watchdog: L1's hang never ends by itself (shared/README).
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		size=$(cat "$dir"/console.log "$dir"/verdict.log "$dir"/l2console.log | wc -c)
		if [ "$size" -ne "$last" ]; then
			last=$size
			idle=0
		else
			idle=$((idle + 5))
		fi
		if [ "$idle" -ge "$SILENCE" ]; then
			echo "L1 silent for ${SILENCE}s, killed" >"$dir/stop"
			kill "$qpid" 2>/dev/null
			break
		fi
	done
	wait "$qpid"
	rc=$?
	echo "$rc" >"$dir/qemu-status"
	if [ "$rc" -eq 124 ] && [ ! -e "$dir/stop" ]; then
		echo "L1 still running after ${HARD_TIMEOUT}s, killed" >"$dir/stop"
	fi
}

# ---- judging a boot ---------------------------------------------------

# The nested platform's own ways of killing L1 (shared/README.md). A panic
# showing one of these and no pvscale frame is not held against the code.
PLATFORM_SIGNATURES='corrupted stack end|scheduling while atomic|soft lockup|rcu_(sched|preempt) (self-)?detected stall|Kernel panic - not syncing: (Attempted to kill the idle task|Fatal exception in interrupt)|double fault'

# classify DIR KVER SCENARIO: set CLASS (verdict | bug | none) and REASON.
classify() {
	local dir=$1 kver=$2 scen=$3 v=$1/verdict.log bugs begin
	CLASS=none
	REASON=
	tr -d '\r' <"$v" >"$dir/verdict.txt"
	begin=$(grep -m1 '^@@pvscale begin ' "$dir/verdict.txt")
	if grep -q '^@@pvscale end$' "$dir/verdict.txt"; then
		if [ "$begin" = "@@pvscale begin $scen $kver" ]; then
			CLASS=verdict
			return
		fi
		CLASS=bug
		REASON="verdict channel is for '${begin#@@pvscale begin }', expected '$scen $kver'"
		return
	fi
	bugs=$(tr -d '\r' <"$dir/console.log" | "$VM/dmesg-bugs")
	if [ -n "$bugs" ]; then
		if echo "$bugs" | grep -q '\[pvscale_\(host\|guest\)\]'; then
			CLASS=bug
			REASON="L1 kernel bug in pvscale: $(echo "$bugs" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
			return
		fi
		if ! echo "$bugs" | grep -Eq "$PLATFORM_SIGNATURES"; then
			CLASS=bug
			REASON="L1 kernel bug: $(echo "$bugs" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
			return
		fi
		REASON="L1 died of a known platform bug: $(echo "$bugs" | grep -Em1 "$PLATFORM_SIGNATURES" | sed 's/^\[ *[0-9.]*\] //')"
		return
	fi
	if grep -q '^@@pvscale platform-died' "$dir/verdict.txt"; then
		REASON=$(grep -m1 '^@@pvscale platform-died' "$dir/verdict.txt" | sed 's/^@@pvscale platform-died //')
	elif [ -e "$dir/stop" ]; then
		REASON=$(cat "$dir/stop")
	elif [ -z "$begin" ]; then
		REASON="L1 never reached the scenario (QEMU status $(cat "$dir/qemu-status")): $(tr -d '\r' <"$dir/console.log" | grep -v '^$' | tail -n 1)"
	else
		REASON="L1 ended without an end marker (QEMU status $(cat "$dir/qemu-status")): $(tr -d '\r' <"$dir/console.log" | grep -v '^$' | tail -n 1)"
	fi
}

