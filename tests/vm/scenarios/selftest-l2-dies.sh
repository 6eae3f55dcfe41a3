# selftest-l2-dies: harness self-test. On the first attempt the L2 is
# killed under the scenario (as the platform sometimes does): the scenario
# must end with no verdict and tests/vm/run must retry it; the retry passes.
# manual: harness self-test, run only when named
l2_start 1 1
check_eq l2-answers ok "$(l2_cmd 1 echo ok)"
if [ "$PVS_ATTEMPT" = 1 ]; then
	kill -9 "$(cat /run/l2-1/pid)"
	l2_cmd 1 true
	not_ok unreachable "l2_cmd returned after its L2 was killed"
fi
l2_stop 1
