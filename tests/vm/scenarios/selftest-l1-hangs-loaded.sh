# selftest-l1-hangs-loaded: harness self-test. An L1 that goes silent after
# pvscale_host was loaded in it is a failure with its evidence (consoles,
# CPU samples), not a retry: run with PVS_VM_SILENCE=30; want one `not ok`
# "L1 died after a pvscale module was loaded" and no "# retry" line.
# needs: host
# manual: harness self-test, run only when named
host_insmod || not_ok host-insmod "pvscale_host did not load"
host_rmmod
ok before-the-hang
kill "$(cat /run/heartbeat.pid)"
sleep 100000
