# redirect-abandon: the ftrace takeover (guest-mod/redirect.c) when ftrace
# refuses to give a function back, which it does only after shutting
# itself down: its handler may still run, so the redirect must stay a
# no-op for good and the module pinned. pvscale_redirtest (tests/guest/
# redirect) builds redirect.c into itself with an unregister that fails
# on demand and takes over a function of its own, with a replacement
# that counts its runs and calls the original. Each read of `calls` has
# every CPU call the target; "calls=N target=T replacement=R":
#  - before, and after a normal give-back: T = N, R = 0;
#  - taken over: T = N and R = N (every call reached the replacement);
#  - abandoned (the unregister failed): T = N, R = 0 (before the fix the
#    handler read per-CPU offset 0 for its bypass flag, found 0 there and
#    sent every call to the replacement again), the module pinned
#    (refcnt 1, rmmod refused), a new takeover refused (EBUSY: ftrace
#    still holds the redirect), and no kernel bug.
# No pvscale module is involved: L1 needs no pvscale_host.

R=/sys/kernel/debug/pvscale_redirtest
M=/sys/module/pvscale_redirtest

# calls NAME REPLACED: one read of `calls`; every call must have run the
# original, and the replacement as well when REPLACED is 1.
calls() {
	local out n t r
	out=$(l2_cmd a "cat $R/calls")
	set -- "$1" "$2" $(echo "$out" | sed -n 's/^calls=\([0-9]*\) target=\([0-9]*\) replacement=\([0-9]*\)$/\1 \2 \3/p')
	n=$(num "$3") t=$(num "$4") r=$(num "$5")
	if [ "$n" -gt 0 ] && [ "$t" -eq "$n" ] && [ "$r" -eq $(($2 * n)) ]; then
		ok "$1"
	else
		not_ok "$1" "'$out': want target = calls, replacement = $2 x calls"
	fi
}

redirect() {
	l2_cmd a "echo $1 >$R/redirect"
}

l2_start a 2
check insmod l2_cmd a 'insmod /pvscale_redirtest.ko iters=5000'
calls before/original-only 0

check on/redirect redirect 1
calls on/every-call-replaced 1

check off/give-back redirect 0
calls off/original-only 0
check_eq off/not-pinned 0 "$(l2_cmd a "cat $M/refcnt")"

check again/redirect redirect 1
calls again/every-call-replaced 1

m=$(kmsg_mark a)
check abandon/fail-unregister l2_cmd a "echo 1 >$M/parameters/fail_unregister"
check abandon/give-back redirect 0
check_match abandon/says-so 'cannot restore redirtest_target .*\(-19\): ftrace is down' \
	"$(module_says "$m" pvscale_redirtest a)"
calls abandon/original-only 0
calls abandon/still-original-only 0
check_eq abandon/pinned 1 "$(l2_cmd a "cat $M/refcnt")"
check_fails abandon/rmmod-refused l2_cmd a 'rmmod pvscale_redirtest'
check abandon/give-back-again redirect 0
check_fails abandon/no-new-takeover redirect 1
calls abandon/original-only-at-last 0
dmesg_clean dmesg-clean-l2 a
l2_stop a
dmesg_clean dmesg-clean-l1
