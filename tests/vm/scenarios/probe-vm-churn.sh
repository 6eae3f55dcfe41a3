# probe-vm-churn: does L1 (TCG, two CPUs) survive KVM's static-key
# patching of __schedule and friends, VM after VM, with no pvscale module
# loaded? Two L1s died in host-load looping on an int3 at the
# preempt-notifier key's site in __schedule while pvscale-kvmtest created
# and destroyed VMs; this is that churn alone. A hang here is the
# platform's. Variants: probe-vm-churn-host (pvscale_host loaded,
# PVS_PROBE_HOST=1), probe-vm-churn-held (KVM's static keys held on from
# boot, as init-l1 does for every other scenario).
# manual: a platform probe, run by name
# needs: kvmtest
# keys: free
# smp: 2

# The variant tells whether init-l1's static-key holder must be running.
check_eq key-holder "${PVS_CHURN_HELD:-0}" "$(ps | grep -c '[h]old-keys')"
[ -z "$PVS_PROBE_HOST" ] || { host_insmod || not_ok host-insmod "pvscale_host did not load"; }
/pvscale-kvmtest --vm-churn "${PVS_CHURN_SECONDS:-120}" >/tmp/churn.out 2>&1
diag_lines "churn: " </tmp/churn.out
check_eq vm-churn-done 1 "$(grep -c '^ok 1 vm-churn' /tmp/churn.out)"
dmesg_clean dmesg-clean-l1
