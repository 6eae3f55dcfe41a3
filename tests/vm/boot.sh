# tests/vm/boot.sh: host-side helpers shared by tests/vm/run and
# tests/vm/demo (sourced; needs TOP, VM and SMP set). One L1 boot, and the
# reading of what it left behind.

HARD_TIMEOUT=${PVS_VM_TIMEOUT:-1200}	# one L1 boot, seconds
SILENCE=${PVS_VM_SILENCE:-60}		# no output at all from L1, seconds

# ---- one L1 boot -----------------------------------------------------

# timeout(1) puts itself in a process group of its own, so a Ctrl-C of the
# runner would not reach L1: end it explicitly.
L1_PID=
l1_cleanup() {
	[ -z "$L1_PID" ] || kill "$L1_PID" 2>/dev/null
}
trap 'l1_cleanup' EXIT
trap 'l1_cleanup; exit 130' INT TERM

# The stock kernels' own debug options that cost little, on every L1 (the
# L2s get the same through L2_APPEND, tests/vm/lib.sh):
#  - slub_debug=FZPU: SLUB consistency checks, red zones, poisoning, owner
#    tracking (6.1 and 6.12 both have CONFIG_SLUB_DEBUG=y, off unless asked);
#  - init_on_free=1: freed pages and objects zeroed (both kernels);
#  - kfence.sample_interval=10: a KFENCE-guarded allocation every 10 ms
#    (6.12: CONFIG_KFENCE=y with interval 0, i.e. off; 6.1 has no KFENCE
#    and ignores the parameter, as the debug kernel does).
# A report from any of them fails the scenario (dmesg-bugs); KFENCE's, like
# KASAN's on the debug kernel, also panics L1 under panic_on_warn.
L1_DEBUG_OPTS="slub_debug=FZPU init_on_free=1 kfence.sample_interval=10"

# boot_l1 KVER SCENARIO DIR ATTEMPT: run L1 to its end; DIR/stop says why it ended
# when it did not end by itself.
boot_l1() {
	local kver=$1 scen=$2 dir=$3 attempt=$4 img=$TOP/build/vm/$1
	local qpid last=-1 idle=0 size rc t0=$SECONDS
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/console.log"
	: >"$dir/verdict.log"
	: >"$dir/l2console.log"
	: >"$dir/heartbeat.log"
	mkfifo "$dir/monitor.in" "$dir/monitor.out"
	timeout --kill-after=10 "$HARD_TIMEOUT" \
		qemu-system-x86_64 -accel tcg -machine q35 -cpu max \
		-smp "$SMP" -m 2048 -display none -nodefaults \
		-no-reboot -action shutdown=pause \
		-serial "file:$dir/console.log" \
		-serial "file:$dir/verdict.log" \
		-serial "file:$dir/l2console.log" \
		-serial "file:$dir/heartbeat.log" \
		-chardev "pipe,id=mon,path=$dir/monitor" -mon chardev=mon,mode=readline \
		-d cpu_reset,guest_errors -D "$dir/cpu.log" \
		-kernel "$img/vmlinux" -initrd "$img/l1.cpio" \
		-append "console=ttyS0 panic=-1 panic_on_warn=1 oops=panic quiet nokaslr $L1_DEBUG_OPTS pvscale.scenario=$scen pvscale.attempt=$attempt" \
		</dev/null >"$dir/qemu.log" 2>&1 &
	qpid=$!
	L1_PID=$qpid
	# Silence watchdog: L1's hang never ends by itself (shared/README).
	# L1 beats on ttyS3 every 10 s (init-l1), so a live L1 is never
	# silent, however long its scenario is quiet.
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		size=$(cat "$dir"/console.log "$dir"/verdict.log "$dir"/l2console.log "$dir"/heartbeat.log | wc -c)
		# Where the time goes: seconds since boot and verdict lines so far.
		echo "$((SECONDS - t0)) $(wc -l <"$dir/verdict.log" 2>/dev/null)" >>"$dir/timeline"
		if [ "$size" -ne "$last" ]; then
			last=$size
			idle=0
		else
			idle=$((idle + 5))
		fi
		# A power-off, reset or triple fault pauses QEMU (-action
		# shutdown=pause with -no-reboot), every CPU's state kept
		# for the samples. After init's power-off, end it.
		if grep -q 'pvscale-l1: powering off' "$dir/console.log"; then
			sleep 1
			l1_quit "$dir" "$qpid"
			break
		fi
		if grep -q '^Triple fault' "$dir/cpu.log" 2>/dev/null; then
			hang_samples "$dir" "$SMP"
			echo "L1 triple-faulted" >"$dir/stop"
			l1_quit "$dir" "$qpid"
			break
		fi
		if [ "$idle" -ge "$SILENCE" ]; then
			hang_samples "$dir" "$SMP"
			echo "L1 silent for ${SILENCE}s, killed" >"$dir/stop"
			kill "$qpid" 2>/dev/null
			break
		fi
	done
	wait "$qpid"
	rc=$?
	L1_PID=
	rm -f "$dir/monitor.in" "$dir/monitor.out"
	echo "$rc" >"$dir/qemu-status"
	if [ "$rc" -eq 124 ] && [ ! -e "$dir/stop" ]; then
		echo "L1 still running after ${HARD_TIMEOUT}s, killed" >"$dir/stop"
	fi
}

# l1_quit DIR QPID: end a paused (or running) L1: QEMU's monitor quit,
# else a signal.
l1_quit() {
	timeout 2 sh -c 'echo quit >"$1"' sh "$1/monitor.in" 2>/dev/null
	sleep 1
	kill "$2" 2>/dev/null
}

# hang_samples DIR SMP: where the emulated CPUs are, sampled through
# QEMU's monitor before a silent L1 is killed: every CPU's registers eight
# times, then the top of every CPU's stack (kernel text addresses there
# are the poor man's backtrace: the interrupted code of an exception
# loop, the callers of a spin). The raw dumps go to DIR/monitor.log, the
# RIPs to DIR/hang-rips-CPU, the stack words to DIR/hang-stack-CPU
# (hang_where names both; DIR/hang-rips has every CPU's RIPs).
hang_samples() {
	local dir=$1 smp=$2 i
	timeout 20 cat "$dir/monitor.out" >"$dir/monitor.log" 2>/dev/null &
	local catpid=$!
	for i in 1 2 3 4 5 6 7 8; do
		timeout 2 sh -c 'echo "info registers -a" >"$1"' sh "$dir/monitor.in" || break
		sleep 1
	done
	for i in $(seq 0 $((smp - 1))); do
		timeout 2 sh -c 'printf "cpu %s\n@stack\nx/48gx \$esp\n" "$2" >"$1"' \
			sh "$dir/monitor.in" "$i" || break
		sleep 1
	done
	wait "$catpid"
	tr -d '\r' <"$dir/monitor.log" | awk -v d="$dir" '
		/^CPU#[0-9]/ { c = substr($1, 5) }
		match($0, /RIP=[0-9a-f]+/) {
			print substr($0, RSTART + 4, RLENGTH - 4) > (d "/hang-rips-" c)
			print substr($0, RSTART + 4, RLENGTH - 4) > (d "/hang-rips")
		}
		# The monitor answers the marker command "@stack" with an
		# error line: the stack of the next CPU follows it.
		/unknown command: .@stack/ { f = d "/hang-stack-" cpu++; next }
		f != "" && /^[0-9a-f]+: / { for (i = 2; i <= NF; i++) print substr($i, 3) > f }'
}

# kallsyms KVER: the path of the kernel's text symbols, made once by a
# boot of the kallsyms scenario (Debian's System.map is a placeholder;
# L1 and L2 boot with nokaslr, so the addresses hold for every boot).
kallsyms() {
	local kver=$1 f=$TOP/build/vm/$1/kallsyms dir=$TOP/build/vm/logs/$1/kallsyms
	if [ ! -s "$f" ]; then
		boot_l1 "$kver" kallsyms "$dir" 1
		tr -d '\r' <"$dir/l2console.log" | awk 'NF >= 3 && $2 ~ /^[tT]$/' | LC_ALL=C sort >"$f.tmp"
		if [ "$(wc -l <"$f.tmp")" -gt 10000 ]; then mv "$f.tmp" "$f"; else rm -f "$f.tmp"; fi
	fi
	echo "$f"
}

# symbolize SYMBOLS [text]: the addresses on stdin, one per line, as
# "name+0xoffset" from SYMBOLS (sorted "ADDRESS NAME" lines). With
# "text", only kernel text addresses are kept (0xffffffff8... and module
# text 0xffffffffc...), for picking return addresses out of stack words.
symbolize() {
	awk -v textonly="${2:-}" '
		function hex(s,   i, n) { n = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return n }
		# Kernel addresses lose their top 16 bits (all ones) so that
		# they stay exact in a double.
		function low(s) { return hex(substr(s, length(s) - 11)) }
		FNR == NR { a[++n] = low($1); name[n] = $2; next }
		{
			if (textonly && $1 !~ /^ffffffff[8c]/) next
			if (substr($1, 1, 4) != "ffff") { print "user"; next }
			w = low($1); best = ""; lo = 1; hi = n
			while (lo <= hi) { mid = int((lo + hi) / 2)
				if (a[mid] <= w) { best = name[mid]; bo = w - a[mid]; lo = mid + 1 } else hi = mid - 1 }
			if (textonly && (best == "" || bo > 65536)) next
			print (best == "" ? "?" $1 : sprintf("%s+0x%x", best, bo))
		}' "$1" -
}

# hang_where DIR KVER: the sampled RIPs as symbols, most frequent first,
# then the text addresses on each CPU's stack, innermost first.
# pvscale module text is named from the "pvscale-text" lines lib.sh and
# init-l2 put on the consoles. A CPU looping in pvscale code, or in L1
# code, points at a bug; in an idle loop or in L2 at the platform. QEMU's
# register dump does not say whether the CPU was in L1 or (nested) in L2,
# and both run the same kernel at the same addresses.
hang_where() {
	local dir=$1 syms f sep=
	[ -s "$dir/hang-rips" ] || { echo "no CPU samples"; return; }
	syms=$(kallsyms "$2")
	{
		# One table of "ADDRESS NAME", sorted: kernel and stock
		# module symbols, then the pvscale module bases.
		[ -s "$syms" ] && awk '{ print $1, $3 $4 }' "$syms"
		tr -d '\r' <"$dir/console.log" | cat - "$dir/l2console.log" | tr -d '\r' |
			sed -n 's/.*pvscale-text \(pvscale_[a-z]*\) 0x\([0-9a-f]*\).*/\2 [\1]/p'
	} | LC_ALL=C sort -u >"$dir/hang-symbols"
	for f in "$dir"/hang-rips-*; do
		[ -s "$f" ] || continue
		printf '%sCPU %s: ' "$sep" "${f##*-}"
		symbolize "$dir/hang-symbols" <"$f" | sort | uniq -c | sort -rn |
			awk '{ printf "%s%s (x%d)", sep, $2, $1; sep = ", " }'
		f=$dir/hang-stack-${f##*-}
		[ ! -s "$f" ] ||
			printf ', stack %s' "$(symbolize "$dir/hang-symbols" text <"$f" | head -n 12 | paste -sd' ')"
		sep='; '
	done
	echo
}

# ---- judging a boot ---------------------------------------------------

# The nested platform's own ways of killing L1 (shared/README.md), seen
# without pvscale. They excuse a death only before any pvscale module was
# loaded: after that, a soft lockup or a stall may be pvscale's own (an L1
# CPU soft-locked 80 s after an unload of pvscale_host in an earlier run).
PLATFORM_SIGNATURES='corrupted stack end|scheduling while atomic|soft lockup|rcu_(sched|preempt) (self-)?detected stall|Kernel panic - not syncing: (Attempted to kill the idle task|Fatal exception in interrupt)|double fault'

# pvscale_ran DIR: whether a pvscale module was loaded in L1 or in an L2 of
# this boot: its messages in L1's console ("pvscale_host: ...", and
# "pvscale_guest: ..." for the refused load in L1), or the module address
# lines that lib.sh (L1) and init-l2 (every L2 with pvscale_guest) print.
pvscale_ran() {
	tr -d '\r' <"$1/console.log" | cat - "$1/l2console.log" |
		grep -qE 'pvscale_(host|guest): |pvscale-text pvscale_(host|guest) '
}

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
		if ! echo "$bugs" | grep -Eq "$PLATFORM_SIGNATURES" || pvscale_ran "$dir"; then
			CLASS=bug
			REASON="L1 kernel bug: $(echo "$bugs" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')"
			return
		fi
		REASON="L1 died of a known platform bug: $(echo "$bugs" | grep -Em1 "$PLATFORM_SIGNATURES" | sed 's/^\[ *[0-9.]*\] //')"
		return
	fi
	if grep -q '^@@pvscale platform-died' "$dir/verdict.txt"; then
		# lib.sh says so only for an L2 that died before pvscale could
		# touch it, or of a known platform signature.
		REASON=$(grep -m1 '^@@pvscale platform-died' "$dir/verdict.txt" | sed 's/^@@pvscale platform-died //')
		return
	elif [ -e "$dir/stop" ]; then
		REASON=$(cat "$dir/stop")
		[ ! -e "$dir/hang-rips" ] || REASON="$REASON; CPU samples: $(hang_where "$dir" "$kver")"
	elif [ -z "$begin" ]; then
		REASON="L1 never reached the scenario (QEMU status $(cat "$dir/qemu-status")): $(tr -d '\r' <"$dir/console.log" | grep -v '^$' | tail -n 1)"
	else
		REASON="L1 ended without an end marker (QEMU status $(cat "$dir/qemu-status")): $(tr -d '\r' <"$dir/console.log" | grep -v '^$' | tail -n 1)"
	fi
	# A death after a pvscale module was loaded is pvscale's until its
	# evidence (the consoles, the CPU samples above) shows otherwise.
	if pvscale_ran "$dir"; then
		CLASS=bug
		REASON="L1 died after a pvscale module was loaded: $REASON"
	fi
}

