# probe-busy-l2: a platform probe, no pvscale. A 2-vCPU L2 whose vCPUs
# wake every 20 ms (the load host-unload runs under) answers a command a
# second for about two minutes. If this hangs L1 too, the hangs seen in
# host-unload belong to the platform.
# manual: platform probe, run only when named
l2_start b 2
l2_cmd b 'for c in 0 1; do
	taskset -c $c sh -c "while :; do sleep 0.02; done" >/dev/null 2>&1 &
done' >/dev/null
i=0
while [ "$i" -lt 100 ]; do
	check_eq "ping-$i" ok "$(l2_cmd b echo ok)" >/dev/null
	i=$((i + 1))
done
ok pings-answered
dmesg_clean dmesg-clean-l2 b
l2_stop b
dmesg_clean dmesg-clean-l1
