# kvm-smoke: the platform alone, no pvscale module. One L2 boots under the
# stock KVM of L1 and answers commands. The quickest check that the
# harness works for a kernel; every other scenario builds on it.
#
# needs: (nothing)
# manual: every pvscale scenario boots L2s too; run it by name to check the platform alone.

kver=$(uname -r)
check_eq kvm-amd-npt Y "$(cat /sys/module/kvm_amd/parameters/npt)"

l2_start 1 2
check_eq l2-uname "$kver" "$(l2_cmd 1 uname -r)"
check_eq l2-nproc 2 "$(l2_cmd 1 nproc)"
# The exit status of an L2 command comes back too.
l2_cmd 1 'exit 3' >/dev/null
check_eq l2-exit-status 3 "$?"
check_eq l2-output-multiline "a b" "$(l2_cmd 1 'echo a; echo b >&2' | tr '\n' ' ' | sed 's/ $//')"
# A command may span lines.
check_eq l2-multiline-command "x y" "$(l2_cmd 1 'for w in x y; do
	echo $w
done' | tr '\n' ' ' | sed 's/ $//')"
dmesg_clean dmesg-clean-l2 1
l2_stop 1
dmesg_clean dmesg-clean-l1
