# selftest-l2-dies-loaded: harness self-test. An L2 that dies (here its
# QEMU is killed, as the platform did to L2s before) after pvscale_host was
# loaded in L1 is a failure of the scenario, `not ok l2-1-alive`, never a
# retry: nothing tells it from a death pvscale caused.
# needs: host
# manual: harness self-test, run only when named
host_insmod || not_ok host-insmod "pvscale_host did not load"
l2_start 1 1
check_eq l2-answers ok "$(l2_cmd 1 echo ok)"
kill -9 "$(cat /run/l2-1/pid)"
l2_cmd 1 true
not_ok unreachable "l2_cmd returned after its L2 was killed"
