# probe-l2-boots-host: probe-l2-boots with pvscale_host loaded in L1.
# manual: a platform probe, run by name
# smp: 2

PVS_PROBE_HOST=1
. /vm/scenarios/probe-l2-boots.sh
