# probe-vm-churn-host: probe-vm-churn with pvscale_host loaded.
# manual: a platform probe, run by name
# needs: host kvmtest
# keys: free
# smp: 2

PVS_PROBE_HOST=1
. /vm/scenarios/probe-vm-churn.sh
