# probe-cmd: a platform probe, no pvscale. What one l2_cmd round trip
# costs, and its parts, in milliseconds: under nested TCG every fork and
# exec in L2 costs tens of milliseconds, which is why init-l2 runs a
# command in a subshell rather than sh -c, and reads base64 only for
# commands that span lines. Measured (6.1): l2_cmd true 322 ms (949 with
# sh -c and base64 always), sh -c true 111 ms, (eval true) 63 ms.
# manual: platform probe, run only when named

# ms: L1's uptime in milliseconds (busybox date has no %N).
ms() {
	local u
	read -r u _ </proc/uptime
	echo $((${u%.*}${u#*.} * 10))
}

# l1_each WHAT COMMAND...: the mean of 10 runs of COMMAND in L1.
l1_each() {
	local what=$1 t i
	shift
	t=$(ms)
	for i in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null; done
	diag "$what: $((($(ms) - t) / 10)) ms"
}

# l2_each WHAT COMMAND: the mean of 10 runs of COMMAND timed inside L2.
l2_each() {
	diag "in L2, $1: $(l2_cmd p 'read -r u _ </proc/uptime; t=${u%.*}${u#*.}
		for i in 1 2 3 4 5 6 7 8 9 10; do '"$2"'; done
		read -r u _ </proc/uptime; echo $((${u%.*}${u#*.} - t)) ms')"
}

l2_start p 4
l1_each "l2_cmd true" l2_cmd p true
l1_each "l2_cmd cat" l2_cmd p 'cat /proc/loadavg'
l2_each "sh -c true" 'sh -c true'
l2_each "(eval true)" '( eval true )'
l2_each "base64 -d" 'x=$(printf %s dHJ1ZQ== | base64 -d)'
l1_each "in L1, _l2_readies" _l2_readies p
l1_each "in L1, _l2_alive" _l2_alive p
ok probe
l2_stop p
