# selftest-fail: harness self-test. A scenario that gives a wrong answer
# must show "not ok" and must not be retried. (Not in the default set.)
ok selftest-passes
check_eq selftest-must-fail expected actual
