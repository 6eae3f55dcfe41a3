# probe-vm-churn-held: probe-vm-churn with KVM's static keys held on from
# boot (init-l1's holder, as for every scenario without "keys: free").
# manual: a platform probe, run by name
# needs: kvmtest
# smp: 2

PVS_CHURN_HELD=1
. /vm/scenarios/probe-vm-churn.sh
