# selftest-l1-panics: harness self-test. A kernel crash in L1 (here forced
# with sysrq) is a failure with the console shown, never a retry.
# manual: harness self-test, run only when named
ok before-the-crash
echo c >/proc/sysrq-trigger
