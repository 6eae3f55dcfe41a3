# selftest-l1-panics: harness self-test. A kernel crash in L1 (here forced
# with sysrq) is a failure with the console shown, never a retry.
ok before-the-crash
echo c >/proc/sysrq-trigger
