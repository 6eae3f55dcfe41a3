# ipi-kvmtest: hostile PVSCALE_HC_IPI calls from pvscale-kvmtest (a VM with
# in-kernel APICs driven through /dev/kvm): documented errors, nothing
# delivered outside the set, no WARN in L1 (panic_on_warn is on).
#
# needs: host kvmtest

host_insmod
out=$(/pvscale-kvmtest 2>&1)
rc=$?
echo "$out" | grep -E '^(not ok|# )' | diag_lines "kvmtest: "
for t in $(echo "$out" | sed -n 's/^\(not \)\{0,1\}ok [0-9]* \(ipi_[a-z0-9_]*\).*/\2/p'); do
	line=$(echo "$out" | grep -E "^(not )?ok [0-9]+ $t( |\$)")
	case $line in
	ok*) ok "kvmtest-$t" ;;
	*) not_ok "kvmtest-$t" "${line#* # }" ;;
	esac
done
check_eq kvmtest-all-passed 0 "$rc"
host_rmmod
dmesg_clean dmesg-clean-l1
