# selftest-l1-hangs: harness self-test. An L1 that goes silent is killed
# by the watchdog (run with PVS_VM_SILENCE=30) and retried; with no
# verdict after the last attempt it is a failure.
# manual: harness self-test, run only when named
ok before-the-hang
# A hung L1 schedules nothing: its heartbeat stops too.
kill "$(cat /run/heartbeat.pid)"
sleep 100000
