# kallsyms: not a test. Writes the kernel's text symbols to ttyS2 so that
# tests/vm/boot.sh can name where a hung L1 was spinning (Debian ships no
# real System.map; L1 and L2 run with nokaslr, so these addresses hold).
# manual: used by tests/vm/boot.sh
awk '$2 ~ /^[tT]$/' /proc/kallsyms >/dev/ttyS2
ok kallsyms-written
