# probe-l2-boots: how often a 4-vCPU L2 dies at boot on L1's two CPUs,
# with pvscale_host loaded in L1 (PVS_PROBE_HOST=1, set by the variant
# probe-l2-boots-host) or not. Each boot waits for the L2's command
# loop, then powers it off; a death is reported with its console, booted
# with every console message (ignore_loglevel) so that it shows where.
# manual: a platform probe, run by name
# smp: 2

N=${PVS_PROBE_BOOTS:-8}
[ -z "$PVS_PROBE_HOST" ] || { host_insmod || not_ok host-insmod "pvscale_host did not load"; }
deaths=0
L2_APPEND="$L2_APPEND ignore_loglevel"
for i in $(seq "$N"); do
	d=$(_l2dir b)
	rm -rf "$d"; mkdir -p "$d"; mkfifo "$d/ctl.in" "$d/ctl.out"
	: >"$d/ctl.log"; : >"$d/console"; echo 0 >"$d/seq"
	cat "$d/ctl.out" >>"$d/ctl.log" &
	qemu-system-x86_64 -enable-kvm -cpu host -machine q35 -smp 4 -m 256 \
		-nodefaults -display none -no-reboot \
		-chardev "file,id=con,path=$d/console" -serial chardev:con \
		-chardev "pipe,id=ctl,path=$d/ctl" -serial chardev:ctl \
		-kernel "$L2_IMAGE" -initrd "$L2_INITRD" -append "$L2_APPEND" \
		</dev/null >"$d/qemu.log" 2>&1 &
	pid=$!
	t=0
	while ! grep -q '^@@READY' "$d/ctl.log" && kill -0 "$pid" 2>/dev/null && [ "$t" -lt 240 ]; do
		sleep 1; t=$((t + 1))
	done
	if grep -q '^@@READY' "$d/ctl.log"; then
		diag "boot $i: up after ${t}s"
		printf '1 r poweroff -f\n' >"$d/ctl.in"
		sleep 3
	else
		deaths=$((deaths + 1))
		diag "boot $i: died after ${t}s (alive: $(kill -0 "$pid" 2>/dev/null && echo yes || echo no))"
		tail -n 25 "$d/console" | diag_lines "boot $i: "
		diag_lines "boot $i qemu: " <"$d/qemu.log"
	fi
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done
diag "deaths: $deaths of $N"
check_eq all-booted 0 "$deaths"
dmesg | grep -E 'kvm|SVM' | tail -n 20 | diag_lines "l1: "
