# selftest-fail: harness self-test. A scenario that gives a wrong answer
# must show "not ok" and must not be retried.
# manual: harness self-test, run only when named
ok selftest-passes
check_eq selftest-must-fail expected actual
