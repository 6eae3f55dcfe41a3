# tests/vm/lib.sh: sourced by the scenarios inside L1 (busybox sh, root).
#
# Two kinds of bad news must never be confused:
#  - a test ran and got a wrong answer: `not_ok`, a verdict, never retried;
#  - the nested platform died under us (an L2 stopped answering without a
#    kernel bug on its console): `platform_died`, no verdict, tests/vm/run
#    retries the whole scenario.
#
# Results go to the verdict channel (L1's ttyS1, a file on the host) as
# "ok NAME", "not ok NAME # reason", "ok NAME # SKIP reason" and "# ..."
# comments; tests/vm/run numbers them and prefixes KVER/SCENARIO/.

PVS_VERDICT=${PVS_VERDICT:-/dev/ttyS1}
PVS_RUN=/run/pvscale
L2_IMAGE=/l2/vmlinux
L2_INITRD=/l2/initrd.cpio
# Bounded waits. Timing on the emulated platform swings widely, so these
# are generous; nothing asserts on how long anything took.
L2_BOOT_TIMEOUT=${L2_BOOT_TIMEOUT:-240}
L2_CMD_TIMEOUT=${L2_CMD_TIMEOUT:-180}
L2_STOP_TIMEOUT=${L2_STOP_TIMEOUT:-60}
# Boot with few console messages (each byte is a nested exit; pci=off
# alone makes ACPI print ~100 error lines); init-l2 raises the level once
# up so warnings show, and a panic always prints.
# noxsave: QEMU 7.2 TCG does not intercept XSETBV for SVM guests, so an L2
# using XSAVE WARNs "XSAVE consistency problem" in fpu__init_system_xstate
# and then runs with XSAVE off anyway; on Debian 6.1 that WARN comes after
# panic_on_warn is parsed and kills every L2 at boot. Starting with XSAVE
# off is the same end state without the WARN. nokaslr: addresses sampled
# from a hung run (tests/vm/boot.sh) resolve with System.map.
# rcu_cpu_stall_timeout=60: up to six L2 vCPUs and CPU hogs share L1's one
# emulated CPU, and a vCPU can get none of it for the default 21 s while
# its clock runs (seen: handshake's 2-vCPU L2 while the 4-vCPU one booted,
# "rcu_preempt kthread starved", all quiescent states seen). A real hang
# still fails: an L2 that does not answer within L2_CMD_TIMEOUT (l2_hung).
# slub_debug=FZPU init_on_free=1 kfence.sample_interval=10: the stock
# kernels' cheap debug options, as for L1 (tests/vm/boot.sh says which
# kernel has what); dmesg_clean fails on their reports.
L2_APPEND=${L2_APPEND:-"pci=off noxsave nokaslr loglevel=3 console=ttyS0 panic=-1 panic_on_warn=1 oops=panic rcupdate.rcu_cpu_stall_timeout=60 slub_debug=FZPU init_on_free=1 kfence.sample_interval=10"}

mkdir -p "$PVS_RUN"

# ---- verdict channel -------------------------------------------------

verdict() {
	printf '%s\n' "$*" >>"$PVS_VERDICT"
}

diag() {
	verdict "# $*"
}

# diag_lines PREFIX < text: every line as a comment, at most 40.
diag_lines() {
	head -n 40 | while IFS= read -r l; do verdict "# $1$l"; done
}

ok() {
	verdict "ok $1"
}

# not_ok NAME REASON
not_ok() {
	echo 1 >"$PVS_RUN/failed"
	verdict "not ok $1 # $(printf '%s' "$2" | tr '\n#' ' _' | head -c 300)"
}

# skip NAME REASON
skip() {
	verdict "ok $1 # SKIP $2"
}

# The check_* helpers print one result and return 0 when it passed, so a
# scenario can stop early: `check insmod host_insmod || exit 0`.

# check NAME CMD...: ok when CMD exits 0; its output becomes the reason.
check() {
	local _n=$1 _o _rc
	shift
	_o=$("$@" 2>&1)
	_rc=$?
	if [ "$_rc" -eq 0 ]; then
		ok "$_n"
	else
		not_ok "$_n" "'$*' failed (status $_rc): $_o"
		return 1
	fi
}

# check_fails NAME CMD...: ok when CMD exits non-zero.
check_fails() {
	local _n=$1 _o
	shift
	if _o=$("$@" 2>&1); then
		not_ok "$_n" "'$*' succeeded but must fail: $_o"
		return 1
	fi
	ok "$_n"
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected '$2', got '$3'"
		return 1
	fi
}

# check_match NAME ERE TEXT: ok when TEXT matches the extended regex.
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1" "'$3' does not match /$2/"
		return 1
	fi
}

# num TEXT: TEXT when it is a decimal number, else -1 (so arithmetic on a
# garbled sysfs read fails a check instead of killing the shell).
num() {
	case $1 in
	''|*[!0-9]*) echo -1 ;;
	*) echo "$1" ;;
	esac
}

# ---- ending a scenario early -----------------------------------------

# Stop the scenario shell (PVS_MAIN, set by init-l1) even from inside a
# command substitution, where `exit` would only leave the subshell.
abort_scenario() {
	kill -TERM "$PVS_MAIN" 2>/dev/null
	exit 1
}

# platform_died REASON: no verdict; tests/vm/run retries the scenario.
platform_died() {
	printf '%s\n' "$*" >"$PVS_RUN/platform-died"
	diag "platform died: $*"
	abort_scenario
}

# ---- L2 guests --------------------------------------------------------

_NL='
'

# An L2's files in L1: $L2_RUN$ID (_l2dir ID prints it; the hot paths
# expand it themselves, a command substitution is a fork).
L2_RUN=/run/l2-

_l2dir() {
	echo "$L2_RUN$1"
}

# _l2_next_seq DIR: set _seq to the next command number of the L2 whose
# files are in DIR, and record it.
_l2_next_seq() {
	read -r _seq <"$1/seq"
	_seq=$((_seq + 1))
	echo "$_seq" >"$1/seq"
}

_l2_alive() {
	local _p
	_p=$(cat "$(_l2dir "$1")/pid" 2>/dev/null) && [ -n "$_p" ] &&
		kill -0 "$_p" 2>/dev/null &&
		# A zombie still answers kill -0 until reaped.
		! grep -q '^State:.*Z' "/proc/$_p/status" 2>/dev/null
}

_l2_readies() {
	grep -c '^@@READY ' "$(_l2dir "$1")/ctl.log" 2>/dev/null
}

# L2_PLATFORM_BUGS: kernel bugs an L2 shows at boot without any pvscale in
# it or in L1 (seen: a spurious #DB WARN in exc_debug_kernel at 2 s of a
# 6.12 L2 boot, before pvscale_guest could run in it).
L2_PLATFORM_BUGS='exc_debug_kernel'

# _pvscale_near ID: whether pvscale ran near L2 ID: pvscale_host was loaded
# in L1 at some point (its messages) or pvscale_guest in this L2 (init-l2
# prints its address once it is loaded).
_pvscale_near() {
	dmesg | grep -q 'pvscale_host: ' ||
		grep -q 'pvscale-text pvscale_guest ' "$(_l2dir "$1")/console" 2>/dev/null
}

# l2_dead ID WHAT: an L2 stopped answering. After pvscale ran in it or in
# L1, that is a failure with its evidence (a verdict, no retry), unless it
# is a first boot that died of a known platform bug. Before, and with no
# kernel bug on its console, it is the platform's: no verdict, retried.
l2_dead() {
	local _d _bugs
	_d=$(_l2dir "$1")
	_bugs=$(dmesg-bugs "$_d/console" 2>/dev/null)
	diag "L2 $1 $2; last console lines:"
	tail -n 40 "$_d/console" 2>/dev/null | diag_lines "l2-$1: "
	# QEMU's own words tell a failed KVM_RUN from a guest that reset;
	# the registers of its last CPU reset (a triple fault ends so) say
	# where it was.
	tail -n 20 "$_d/qemu.log" 2>/dev/null | diag_lines "l2-$1 qemu: "
	grep -E '^CPU Reset|^R[AI]X=|^RIP=|^EIP=|^CR0=' "$_d/resets.log" 2>/dev/null |
		tail -n 16 | diag_lines "l2-$1 resets: "
	[ -z "$_bugs" ] || echo "$_bugs" | diag_lines "l2-$1 bug: "
	if [ -n "$_bugs" ] && [ "$(_l2_readies "$1")" = 0 ] &&
	   echo "$_bugs" | grep -Eq "$L2_PLATFORM_BUGS"; then
		platform_died "L2 $1 $2 after a known platform bug at its first boot"
	fi
	if [ -n "$_bugs" ]; then
		not_ok "l2-$1-alive" "L2 $1 $2 after a kernel bug: $(echo "$_bugs" | head -n 1)"
	elif _pvscale_near "$1"; then
		not_ok "l2-$1-alive" "L2 $1 $2 with pvscale loaded in it or in L1"
	fi
	if [ -n "$_bugs" ] || _pvscale_near "$1"; then
		echo "L2 $1 died" >"$PVS_RUN/aborted"
		abort_scenario
	fi
	platform_died "L2 $1 $2"
}

# l2_hung ID WHAT: an L2 that is alive, and whose L1 is alive (this runs
# in L1), stopped answering a command: a guest hang, which pvscale can
# cause (a lost IPI or flush leaves a CPU waiting forever). A failure,
# never retried; a silent L1 is the platform's and the watchdog's.
l2_hung() {
	local _d
	_d=$(_l2dir "$1")
	not_ok "l2-$1-answers" "L2 $1 $2"
	tail -n 40 "$_d/console" 2>/dev/null | diag_lines "l2-$1: "
	echo "L2 $1 hung" >"$PVS_RUN/aborted"
	abort_scenario
}

# l2_start [--reboot] ID SMP [extra qemu args...]
# Boot an L2 and wait until its command loop answers. With --reboot, a
# reboot inside the guest restarts it in the same QEMU process (no
# -no-reboot); l2_reboot waits for it to come back.
l2_start() {
	local _noreboot=-no-reboot _id _smp _d
	if [ "$1" = --reboot ]; then
		_noreboot=
		shift
	fi
	_id=$1 _smp=$2
	shift 2
	_d=$(_l2dir "$_id")
	rm -rf "$_d"
	mkdir -p "$_d"
	mkfifo "$_d/ctl.in" "$_d/ctl.out"
	: >"$_d/ctl.log"
	: >"$_d/console"
	echo 0 >"$_d/seq"
	# Collect every answer in one log; QEMU holds the FIFO open
	# read-write, so this cat ends only when QEMU exits.
	cat "$_d/ctl.out" >>"$_d/ctl.log" &
	diag "starting L2 $_id: $_smp vCPUs $*"
	# The console goes live to L1's ttyS2 (a file on the host, kept with
	# the logs) and to a local copy that l2_dead inspects.
	qemu-system-x86_64 -enable-kvm -cpu host -machine q35 \
		-smp "$_smp" -m 256 -nodefaults -display none $_noreboot \
		-chardev "file,id=con,path=/dev/ttyS2,logfile=$_d/console,logappend=on" \
		-serial chardev:con \
		-chardev "pipe,id=ctl,path=$_d/ctl" -serial chardev:ctl \
		-kernel "$L2_IMAGE" -initrd "$L2_INITRD" \
		-append "$L2_APPEND" -d cpu_reset -D "$_d/resets.log" "$@" \
		</dev/null >"$_d/qemu.log" 2>&1 &
	echo $! >"$_d/pid"
	_l2_wait_ready "$_id" 1 "boot"
}

# l2_start_sparse ID N [extra qemu args...]: an L2 of N vCPUs whose APIC
# IDs are 0, 1, 128, 129, ...: two sockets of 128 cores; QEMU numbers
# vCPUs core by core, so -smp 2 fills socket 0's first two cores, and the
# others are socket 1's cores. possible_cpus=N spares the 256M L2 the
# per-CPU memory of 252 absent CPUs; it does not change APIC IDs. Checks
# the IDs (sparse-apic-ids).
l2_start_sparse() {
	local _id=$1 _n=$2 _i _devs= _want="0 1" _append=$L2_APPEND
	shift 2
	for _i in $(seq 0 $((_n - 3))); do
		_devs="$_devs -device host-x86_64-cpu,socket-id=1,die-id=0,core-id=$_i,thread-id=0"
		_want="$_want $((128 + _i))"
	done
	L2_APPEND="$L2_APPEND possible_cpus=$_n"
	# shellcheck disable=SC2086 # one word per -device option
	l2_start "$_id" 2,sockets=2,cores=128,maxcpus=256 "$@" $_devs
	L2_APPEND=$_append
	check_eq sparse-apic-ids "$_want" \
		"$(l2_cmd "$_id" "grep '^apicid' /proc/cpuinfo" |
			awk '{ printf "%s%s", s, $3; s = " " }')"
}

# _l2_wait_ready ID N WHAT: wait until ID announced its Nth boot.
_l2_wait_ready() {
	local _t0 _now _beat
	_t0=$(date +%s)
	_beat=$_t0
	while [ "$(_l2_readies "$1")" -lt "$2" ]; do
		if ! _l2_alive "$1"; then
			sed 's/^/qemu: /' "$(_l2dir "$1")/qemu.log" | diag_lines "l2-$1 "
			l2_dead "$1" "exited during $3"
		fi
		_now=$(date +%s)
		[ $((_now - _t0)) -lt "$L2_BOOT_TIMEOUT" ] ||
			l2_dead "$1" "did not answer within ${L2_BOOT_TIMEOUT}s of $3"
		# A heartbeat, so that tests/vm/run's silence watchdog
		# (meant for a hung L1) leaves a slow but live run alone.
		if [ $((_now - _beat)) -ge 60 ]; then
			diag "still waiting for L2 $1 ($3), $((_now - _t0))s"
			_beat=$_now
		fi
		sleep 0.5
	done
	diag "L2 $1 up ($3, after ~$(($(date +%s) - _t0))s)"
}

# _l2_send ID SEQ COMMAND: hand COMMAND to the L2's control port as one
# line, "SEQ r COMMAND", or "SEQ b BASE64(COMMAND)" when it spans lines
# (base64 costs L1 and L2 a fork each, a tenth of a second under TCG).
_l2_send() {
	local _line="$2 r $3"
	case $3 in
	*"$_NL"*) _line="$2 b $(printf '%s' "$3" | base64 -w 0)" ;;
	esac
	# The open blocks if QEMU went away; bound it.
	timeout 20 sh -c 'printf "%s\n" "$1" >"$2"' sh "$_line" "$L2_RUN$1/ctl.in" ||
		l2_dead "$1" "stopped reading its control port"
}

# l2_cmd ID COMMAND...: run COMMAND in L2 with sh; print its output (stdout
# and stderr) and return its exit status. An L2 that does not answer
# within L2_CMD_TIMEOUT fails the scenario (l2_hung).
l2_cmd() {
	local _id=$1 _d _seq _boots _t0 _now _beat _n
	shift
	_d=$L2_RUN$_id
	_l2_next_seq "$_d"
	_boots=$(_l2_readies "$_id")
	_l2_send "$_id" "$_seq" "$*"
	# Poll fast at first (most answers take well under a second), then
	# gently: every poll costs L1, and L1's one CPU also runs the L2 that
	# works on the answer. A fork under TCG is costly: the checks, five
	# of them, run once a second, the fast polls are one grep each.
	_t0=$(date +%s)
	_beat=$_t0
	_n=0
	while ! grep -q "@@END $_seq " "$_d/ctl.log"; do
		if [ "$_n" -lt 20 ]; then sleep 0.05; else sleep 0.5; fi
		_n=$((_n + 1))
		[ "$_n" -ge 20 ] && [ $((_n % 2)) -eq 0 ] || continue
		_l2_alive "$_id" || l2_dead "$_id" "exited while running '$*'"
		[ "$(_l2_readies "$_id")" -eq "$_boots" ] ||
			l2_dead "$_id" "rebooted while running '$*'"
		_now=$(date +%s)
		[ $((_now - _t0)) -lt "$L2_CMD_TIMEOUT" ] ||
			l2_hung "$_id" "did not answer '$*' within ${L2_CMD_TIMEOUT}s"
		if [ $((_now - _beat)) -ge 60 ]; then
			diag "still waiting for L2 $_id to answer '$*', $((_now - _t0))s"
			_beat=$_now
		fi
	done
	awk -v s="$_seq" '
		$0 == "@@BEGIN " s { on = 1; next }
		on && (i = index($0, "@@END " s " ")) {
			if (i > 1) out[++n] = substr($0, 1, i - 1)
			rc = substr($0, i + length("@@END " s " ")) + 0
			while (n > 0 && out[n] == "") n--
			for (j = 1; j <= n; j++) print out[j]
			exit rc
		}
		on { out[++n] = $0 }
	' "$_d/ctl.log"
}

# l2_reboot ID [COMMAND]: reboot the guest in place with COMMAND (default
# reboot -f; it must have been started with l2_start --reboot) and wait
# for its command loop to come back.
l2_reboot() {
	local _d _boots _seq _how=${2:-reboot -f}
	_d=$(_l2dir "$1")
	_boots=$(_l2_readies "$1")
	_l2_next_seq "$_d"
	diag "rebooting L2 $1"
	# reboot -f: straight to reboot(2) (reboot notifiers, device
	# shutdown), as `reboot` would ask init, and our init is a loop.
	_l2_send "$1" "$_seq" "$_how"
	_l2_wait_ready "$1" $((_boots + 1)) "reboot"
}

# l2_stop ID: power the guest off and reap its QEMU.
l2_stop() {
	local _d _p _seq _t
	_d=$(_l2dir "$1")
	_p=$(cat "$_d/pid" 2>/dev/null) || return 0
	if _l2_alive "$1"; then
		_l2_next_seq "$_d"
		timeout 20 sh -c 'printf "%s r poweroff -f\n" "$1" >"$2"' sh "$_seq" "$_d/ctl.in"
	fi
	_t=0
	while _l2_alive "$1" && [ "$_t" -lt $((L2_STOP_TIMEOUT * 2)) ]; do
		sleep 0.5
		_t=$((_t + 1))
	done
	if _l2_alive "$1"; then
		diag "L2 $1 ignored poweroff; killing it"
		kill -9 "$_p" 2>/dev/null
	fi
	wait "$_p" 2>/dev/null
	rm -f "$_d/pid"
	diag "L2 $1 stopped"
}

# l2_kill ID: kill the guest's QEMU outright (the VM dies with whatever
# it had registered) and reap it.
l2_kill() {
	local _d _p
	_d=$(_l2dir "$1")
	_p=$(cat "$_d/pid" 2>/dev/null) || return 0
	kill -9 "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	rm -f "$_d/pid"
	diag "L2 $1 killed"
}

# l2_stop_all: used by init-l1 once the scenario has ended, however.
l2_stop_all() {
	local _f _p
	for _f in "$L2_RUN"*/pid; do
		[ -e "$_f" ] || continue
		_p=$(cat "$_f")
		kill -9 "$_p" 2>/dev/null
		rm -f "$_f"
	done
}

# ---- kernel logs ------------------------------------------------------

# dmesg_clean NAME [ID]: ok when the kernel log of L1 (or of L2 ID) has
# no WARNING/BUG/Oops/... (see dmesg-bugs); on a kernel with kmemleak (the
# debug kernel), also NAME-kmemleak (kmemleak_clean). Every scenario ends
# with it, for L1 and each L2 still running.
dmesg_clean() {
	local _bugs
	if [ -n "$2" ]; then
		_bugs=$(l2_cmd "$2" 'dmesg | dmesg-bugs')
	else
		_bugs=$(dmesg | dmesg-bugs)
	fi
	if [ -z "$_bugs" ]; then
		ok "$1"
	else
		not_ok "$1" "$(echo "$_bugs" | head -n 1)"
		echo "$_bugs" | diag_lines "  "
	fi
	kmemleak_clean "$1-kmemleak" "$2"
}

# The command, for L1's or an L2's shell, that has kmemleak scan memory
# twice (an object is reported once it was found unreferenced, and not
# younger than 5 s) and prints "@@kmemleak scanned" and the leaks it
# knows of; "@@kmemleak failed ..." when it cannot scan (it turns itself
# off on an internal error, and a scan that cannot run must not pass);
# nothing on a kernel without kmemleak.
KMEMLEAK_SCAN='f=/sys/kernel/debug/kmemleak
if [ -e $f ]; then
	if echo scan 2>/dev/null >$f && echo scan 2>/dev/null >$f; then
		echo "@@kmemleak scanned"
		cat $f
	else
		echo "@@kmemleak failed to scan: $(dmesg | grep kmemleak: | tail -n 1)"
	fi
fi'

# kmemleak_clean NAME [ID]: on a kernel with kmemleak, ok when a scan of
# L1 (or of L2 ID) finds no leak; the leaks' reports go to the verdict
# channel as comments. Results nothing on other kernels.
kmemleak_clean() {
	local _out
	if [ -n "$2" ]; then
		_out=$(l2_cmd "$2" "$KMEMLEAK_SCAN")
	else
		_out=$(eval "$KMEMLEAK_SCAN")
	fi
	case $_out in
	'') ;;
	"@@kmemleak scanned")
		ok "$1"
		;;
	"@@kmemleak scanned$_NL"*)
		not_ok "$1" "$(printf '%s\n' "$_out" | grep -c '^unreferenced object') leak(s): $(printf '%s\n' "$_out" | sed -n 2p)"
		printf '%s\n' "$_out" | sed 1d | diag_lines "  "
		;;
	*)
		not_ok "$1" "${_out#@@kmemleak }"
		;;
	esac
}

# ---- modules ----------------------------------------------------------

HOST_KO=/pvscale_host.ko
GUEST_KO=/pvscale_guest.ko
HOST_SYSFS=/sys/kernel/pvscale_host
HOST_DEBUGFS=/sys/kernel/debug/pvscale_host

# need_file NAME PATH: a scenario that cannot run without PATH reports one
# failure and ends (with a verdict: retrying would not make it appear).
need_file() {
	if [ ! -e "$2" ]; then
		not_ok "$1" "$2 is not in the image (did 'make modules'/'make kvmtest' fail?)"
		exit 0
	fi
}

# host_insmod [PARAMS]: load pvscale_host; its text address goes on the
# console, for naming the code a hung run was spinning in (boot.sh).
host_insmod() {
	insmod "$HOST_KO" "$@" || return
	echo "pvscale-text pvscale_host $(cat /sys/module/pvscale_host/sections/.text)" >/dev/kmsg
}

host_rmmod() {
	rmmod pvscale_host
}

# host_attr NAME: one host sysfs attribute (stats/... allowed).
host_attr() {
	cat "$HOST_SYSFS/$1" 2>&1
}

# kmsg_mark [ID]: put a unique marker into the kernel log of L1 (or of L2
# ID) and print it; dmesg_since MARK [ID] prints what came after it.
kmsg_mark() {
	local _m
	_m="pvscale-test-mark-$(cat /proc/sys/kernel/random/uuid | cut -c1-8)"
	if [ -n "$1" ]; then
		l2_cmd "$1" "echo $_m >/dev/kmsg" >/dev/null
	else
		echo "$_m" >/dev/kmsg
	fi
	echo "$_m"
}

dmesg_since() {
	if [ -n "$2" ]; then
		l2_cmd "$2" "dmesg | sed -n '/$1\$/,\$p' | sed 1d"
	else
		dmesg | sed -n "/$1\$/,\$p" | sed 1d
	fi
}

# hex_eq A B: the same number, however each side spells its hex.
hex_eq() {
	case $1 in *[!0-9a-fA-Fx]*|'') return 1 ;; esac
	case $2 in *[!0-9a-fA-Fx]*|'') return 1 ;; esac
	[ $(($1)) -eq $(($2)) ]
}

# check_hex_eq NAME EXPECTED ACTUAL
check_hex_eq() {
	if hex_eq "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "expected $2, got '$3'"
		return 1
	fi
}

# l2_pid ID: the L2's QEMU pid, which the host module reports as pid=.
l2_pid() {
	cat "$(_l2dir "$1")/pid"
}

# registrations [PID]: the host's registration table, only PID's lines.
registrations() {
	if [ -n "$1" ]; then
		grep "^pid=$1 " "$HOST_DEBUGFS/registrations"
	else
		cat "$HOST_DEBUGFS/registrations"
	fi
}

GUEST_SYSFS=/sys/kernel/pvscale_guest

# guest_attr ID NAME: one guest sysfs attribute of L2 ID.
guest_attr() {
	l2_cmd "$1" "cat $GUEST_SYSFS/$2"
}

# module_says MARK MODULE [ID]: the distinct lines MODULE itself logged
# since MARK in L1 (or L2 ID). Left out: the module loader's notes (taint,
# signature, "invalid for parameter"), and repeats, because busybox insmod
# retries a failed finit_module(2) with init_module(2), so a refused
# module's init runs, and logs, twice per insmod.
module_says() {
	dmesg_since "$1" $3 | grep "$2: " |
		grep -vE 'taints kernel|tainting kernel|verification failed|invalid for parameter' |
		sed 's/^\[[^]]*\] //' | awk '!seen[$0]++'
}

# ---- IPI-sending exits (L1's kvm_msr and kvm_hypercall tracepoints) -----

TRACEFS=/sys/kernel/tracing
[ -d "$TRACEFS/events" ] || TRACEFS=/sys/kernel/debug/tracing
# The exits that send call-function IPIs (CALL_FUNCTION_VECTOR, 0xfc):
# x2APIC ICR writes (MSR 0x830) and IPI hypercalls (PVSCALE_HC_IPI
# 0x50565303 with the ICR in a0, KVM_HC_SEND_IPI 10 with it in a3),
# counted exactly in hist triggers keyed by the ICR. The hypercall hist
# keeps PVSCALE_HC_FLUSH_TLB (0x50565304) too, for flush_send_exits. All exits of the
# sending vCPU are no measure here: under nested TCG one IPI lasts long
# enough for timer ticks and L1 interrupts to add 0.5 to 2.5 exits to it,
# varying run to run; and the ticks' own IPIs (idle load-balance kicks,
# wake-ups) add 0.1 to 0.7 ICR writes (both measured on 6.1).
IPI_MSR_HIST='hist:keys=data.hex:vals=hitcount if write == 1 && ecx == 0x830'
IPI_HC_HIST='hist:keys=nr,a0.hex,a3.hex:vals=hitcount if nr == 0x50565303 || nr == 0x50565304 || nr == 10'

ipi_exits_on() {
	echo "$IPI_MSR_HIST" >"$TRACEFS/events/kvm/kvm_msr/trigger" &&
		echo "$IPI_HC_HIST" >"$TRACEFS/events/kvm/kvm_hypercall/trigger"
}

ipi_exits_off() {
	echo "!$IPI_MSR_HIST" >"$TRACEFS/events/kvm/kvm_msr/trigger"
	echo "!$IPI_HC_HIST" >"$TRACEFS/events/kvm/kvm_hypercall/trigger"
} 2>/dev/null

# ipi_send_exits: call-function IPI-sending exits of every L2 so far (hist
# lines: "{ data: 1000000fc } hitcount: N", "{ nr: 10, a0: 5, a3: fc }").
ipi_send_exits() {
	cat "$TRACEFS/events/kvm/kvm_msr/hist" \
		"$TRACEFS/events/kvm/kvm_hypercall/hist" |
		awk '/data: [0-9a-f]*fc }/ ||
		     (/nr: *1347834627,/ && /a0: [0-9a-f]*fc,/) ||
		     (/nr: *10,/ && /a3: [0-9a-f]*fc }/) { n += $NF }
		     END { print n + 0 }'
}

# flush_send_exits: the exits of every L2 so far that send a remote TLB
# flush: call-function IPIs, to many (0xfc) or one (0xfb) CPU, as counted
# by ipi_send_exits, and PVSCALE_HC_FLUSH_TLB hypercalls. Other
# call-function IPIs count too; in a flush storm they are few.
flush_send_exits() {
	cat "$TRACEFS/events/kvm/kvm_msr/hist" \
		"$TRACEFS/events/kvm/kvm_hypercall/hist" |
		awk '/data: [0-9a-f]*f[bc] }/ ||
		     (/nr: *1347834627,/ && /a0: [0-9a-f]*f[bc],/) ||
		     (/nr: *10,/ && /a3: [0-9a-f]*f[bc] }/) ||
		     /nr: *1347834628,/ { n += $NF }
		     END { print n + 0 }'
}

# ipi_exits KIND ITERS: "NS EXITS" for ITERS call-function IPIs of KIND
# (bcast or mcast, tests/guest/ipi/pvscale_ipitest.c) sent by CPU 0 of L2
# 1: ns per IPI, and IPI-sending exits per IPI in hundredths, less those
# of the same command with no IPI (the command's own wake-ups).
ipi_exits() {
	local _d=/sys/kernel/debug/pvscale_ipitest _a _b _c _e _ns
	local _p=/sys/module/pvscale_ipitest/parameters
	l2_cmd 1 "echo 0 >$_p/iters"
	_a=$(ipi_send_exits)
	l2_cmd 1 "cat $_d/$1" >/dev/null
	_b=$(ipi_send_exits)
	l2_cmd 1 "echo $2 >$_p/iters"
	_c=$(ipi_send_exits)
	_ns=$(num "$(l2_cmd 1 "cat $_d/$1" | sed -n 's/.*ns_per_ipi=\([0-9]*\).*/\1/p')")
	_e=$(ipi_send_exits)
	echo "$_ns $(( ((_e - _c) - (_b - _a)) * 100 / $2 ))"
}

# ---- VM-exit counts by reason (L1's kvm:kvm_exit tracepoint) ----------

# SVM exit code of PAUSE. QEMU's TCG does not emulate SVM pause filtering,
# so here every PAUSE of a spin-wait exits (on hardware the filter lets
# short spins run); exit counts of an operation leave them out.
SVM_EXIT_PAUSE=119

# exits_hist_on: count every kvm_exit in L1 by (vCPU id, exit reason), in
# a hist trigger: exact, and nothing goes through the trace buffer.
exits_hist_on() {
	echo 'hist:keys=vcpu_id,exit_reason:vals=hitcount:size=4096' \
		>"$TRACEFS/events/kvm/kvm_exit/trigger"
}

exits_hist_off() {
	echo '!hist:keys=vcpu_id,exit_reason:vals=hitcount:size=4096' \
		>"$TRACEFS/events/kvm/kvm_exit/trigger" 2>/dev/null
}

# ---- load in L1 -------------------------------------------------------

# hogs_start N: N CPU-bound loops in L1 competing with the vCPU threads,
# so that vCPUs really get preempted; hogs_stop ends them all.
hogs_start() {
	local _i
	for _i in $(seq "$1"); do
		sh -c 'while :; do :; done' &
		echo $! >>"$PVS_RUN/hogs"
	done
}

hogs_stop() {
	[ -f "$PVS_RUN/hogs" ] || return 0
	kill $(cat "$PVS_RUN/hogs") 2>/dev/null
	rm -f "$PVS_RUN/hogs"
}

# ---- PV TLB shootdown ------------------------------------------------

TLB_HOST_STATS="preempt_marks flush_on_entry flush_on_detach hostflush_calls hostflush_targets hostflush_timeouts hostflush_unsafe"

# tlb_counters ID: every TLB counter, "host.NAME=N" and "guest.NAME=N"
# (guest ones only while L2 ID has pvscale_guest loaded).
tlb_counters() {
	local _f
	for _f in $TLB_HOST_STATS; do
		echo "host.$_f=$(num "$(host_attr "stats/$_f")")"
	done
	l2_cmd "$1" "cd $GUEST_SYSFS/stats 2>/dev/null && for f in *; do echo guest.\$f=\$(cat \$f); done"
}

# tlb_delta BEFORE AFTER NAME: how much counter NAME grew in between.
tlb_delta() {
	local _a _b
	_a=$(num "$(printf '%s\n' "$1" | sed -n "s/^$3=//p")")
	_b=$(num "$(printf '%s\n' "$2" | sed -n "s/^$3=//p")")
	echo $((_b - _a))
}

# tlb_phase NAME ID SECONDS: the stale-TLB detector for SECONDS in L2 ID
# (tlb_detect), with the TLB counters before and after it in c0 and c1
# for the scenario's checks and every counter that moved as a comment.
tlb_phase() {
	c0=$(tlb_counters "$2")
	tlb_detect "$1" "$2" "$3"
	c1=$(tlb_counters "$2")
	tlb_diag "$1" "$c0" "$c1"
}

# tlb_diag NAME BEFORE AFTER: every TLB counter that moved, as a comment.
tlb_diag() {
	local _l _d
	_l=$(printf '%s\n' "$3" | sed 's/=.*//' | while read -r _c; do
		_d=$(tlb_delta "$2" "$3" "$_c")
		[ "$_d" -eq 0 ] || printf ' %s+%s' "$_c" "$_d"
	done)
	diag "$1 counters:${_l:- none moved}"
}

# check_grew NAME BEFORE AFTER COUNTER: ok when COUNTER went up.
check_grew() {
	local _d
	_d=$(tlb_delta "$2" "$3" "$4")
	if [ "$_d" -gt 0 ]; then
		ok "$1"
	else
		not_ok "$1" "$4 did not grow (by $_d)"
		return 1
	fi
}

# check_still NAME BEFORE AFTER COUNTER: ok when COUNTER did not move.
check_still() {
	check_eq "$1" 0 "$(tlb_delta "$2" "$3" "$4")"
}

# tlb_detect NAME ID SECONDS: the stale-TLB detector on every vCPU of L2
# ID for SECONDS, with two CPU hogs in L1; it must see nothing stale.
tlb_detect() {
	local _out _rc
	hogs_start 2
	_out=$(l2_cmd "$2" "tlbstale -t $3")
	_rc=$?
	hogs_stop
	diag "$1: $(printf '%s\n' "$_out" | tail -n 1)"
	if [ "$_rc" -eq 0 ] && printf '%s\n' "$_out" | grep -q ' stale=0 spurious=0$'; then
		ok "$1/no-stale-tlb"
	else
		not_ok "$1/no-stale-tlb" "tlbstale (status $_rc): $_out"
	fi
}

# tlb_guest_set ID FEATURE 0|1: a guest TLB toggle; fails as the write does.
tlb_guest_set() {
	l2_cmd "$1" "echo $3 >$GUEST_SYSFS/features/$2"
}

# guest_tlb_bits ID: the TLB mode bits (0 tlb, 1 tlb_hostflush) of L2
# ID's enabled features, or the quoted value when it is not a number.
guest_tlb_bits() {
	local _en
	_en=$(guest_attr "$1" enabled_features)
	hex_eq "$_en" "$_en" && echo $((_en & 0x3)) || echo "'$_en'"
}

# tlb_churn NAME ID: toggle both modes on both sides and reload both
# modules while the detector runs in L2 ID (the guest module loaded with
# both modes on); then the detector must have seen nothing stale, every
# step must have worked, and L2 must still answer.
tlb_churn() {
	local _n=$1 _id=$2 _out _rc
	l2_cmd "$_id" "rm -f /tmp/churn.*; (tlbstale -t 150 -f /tmp/churn.stop >/tmp/churn.out 2>&1; echo \$? >/tmp/churn.rc) &" >/dev/null
	hogs_start 2
	check "$_n/guest-tlb-off" tlb_guest_set "$_id" tlb 0
	check "$_n/guest-hostflush-off" tlb_guest_set "$_id" tlb_hostflush 0
	check "$_n/guest-tlb-on" tlb_guest_set "$_id" tlb 1
	check "$_n/host-tlb-off" sh -c "echo 0 >$HOST_SYSFS/features/tlb"
	check "$_n/guest-hostflush-on" tlb_guest_set "$_id" tlb_hostflush 1
	check "$_n/host-hostflush-off" sh -c "echo 0 >$HOST_SYSFS/features/tlb_hostflush"
	check "$_n/host-tlb-on" sh -c "echo 1 >$HOST_SYSFS/features/tlb"
	check "$_n/host-hostflush-on" sh -c "echo 1 >$HOST_SYSFS/features/tlb_hostflush"
	check "$_n/guest-rmmod" l2_cmd "$_id" rmmod pvscale_guest
	check "$_n/guest-insmod" l2_cmd "$_id" insmod /pvscale_guest.ko
	check "$_n/host-rmmod" host_rmmod
	check_eq "$_n/guest-answers-without-host" alive "$(l2_cmd "$_id" echo alive)"
	check "$_n/host-insmod" host_insmod
	check "$_n/guest-rmmod-again" l2_cmd "$_id" rmmod pvscale_guest
	check "$_n/guest-insmod-again" l2_cmd "$_id" insmod /pvscale_guest.ko
	hogs_stop
	_out=$(l2_cmd "$_id" 'touch /tmp/churn.stop; while [ ! -e /tmp/churn.rc ]; do sleep 1; done; cat /tmp/churn.out; exit $(cat /tmp/churn.rc)')
	_rc=$?
	diag "$_n: $(printf '%s\n' "$_out" | tail -n 1)"
	if [ "$_rc" -eq 0 ] && printf '%s\n' "$_out" | grep -q ' stale=0 spurious=0$'; then
		ok "$_n/no-stale-tlb"
	else
		not_ok "$_n/no-stale-tlb" "tlbstale (status $_rc): $_out"
	fi
}
