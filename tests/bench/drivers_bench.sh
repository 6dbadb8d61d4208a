#!/bin/bash
# make bench, drivers part (issue 18): for every driver, built from source
# and Debian's binary module, the time from `dde run` to its interface's
# link up at netd (net) or to its disk at bddf, which has read the disk's
# partition table through it (block), and the driver process's resident
# memory then (VmRSS; median of ROUNDS runs). Then the driver index: how
# many of Debian's modules it covers, and by subsystem how many load
# against their class's service library (the driver host's own loader,
# --check: read, checked, placed and linked), lack imports, or are refused.
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}

echo
bench_title "driver start and memory (median of $ROUNDS)"
img="$T/disk.img"
truncate -s 64M "$img"
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

# one KIND DEVICE-OPTIONS... : "MS KIB" for one start, into $T/one
one() {
	local kind=$1 t0 run pid rss="" done_ms="" want
	shift
	[ "$kind" = net ] && want="netd: interface net0: link up" || want="bddf: [a-z0-9]*: disk of"
	t0=$(ms)
	"$DDE" run "$@" >"$T/log" 2>&1 &
	run=$!
	bg="$run"
	for _ in $(seq 6000); do
		if grep -q "$want" "$T/log"; then
			done_ms=$(($(ms) - t0))
			break
		fi
		kill -0 "$run" 2>/dev/null || break
		sleep 0.005
	done
	pid=$(sed -n 's/^dde: started driver .* (pid \([0-9]*\))$/\1/p' "$T/log" | head -1)
	[ -n "$pid" ] && rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	kill -INT "$run" 2>/dev/null
	wait "$run" 2>/dev/null
	bg=""
	echo "${done_ms:--} ${rss:--}" >"$T/one"
}

printf "  %-22s %-18s %12s %12s\n" "driver" "device" "start (ms)" "RSS (KiB)"
while read -r kind name model pc; do
	[ -z "$kind" ] && continue
	dev=(--nic "$model,net=none")
	[ "$kind" = block ] && dev=(--disk "$model:$img")
	[ "$pc" = pc ] && dev=(--machine pc "${dev[@]}")
	for flavour in source ko; do
		extra=()
		[ "$flavour" = ko ] && extra=(--prefer ko)
		: >"$T/ms"
		: >"$T/rss"
		for _ in $(seq "$ROUNDS"); do
			one "$kind" "${extra[@]}" "${dev[@]}"
			read -r a b <"$T/one"
			[ "$a" != - ] && echo "$a" >>"$T/ms"
			[ "$b" != - ] && echo "$b" >>"$T/rss"
		done
		drv=$(sed -n 's/^dde: [0-9a-f:.]* \[[0-9a-f:]*\]: driver \(.*\)$/\1/p' "$T/log" | head -1)
		[ "$flavour" = ko ] && [[ $drv != ko:* ]] && continue	# no binary twin
		printf "  %-22s %-18s %12s %12s\n" "${drv:-$name (none)}" "$model" \
			"$(median <"$T/ms")" "$(median <"$T/rss")"
	done
done <<'EOF'
net e1000 e1000
net 8139cp rtl8139
net ne2k-pci ne2k_pci
net pcnet32 pcnet
net virtio_net virtio-net
block nvme nvme
block ahci ahci
block ata_piix ide pc
block virtio_blk virtio-blk
EOF

echo
bench_title "the driver index and Debian's modules"
"$DDE" drivers --stats | sed 's/^/  /'
KO_DIR=$(cat "$O/share/dde/ko-dir")
# by subsystem (the tree's directories): each module against its class's
# library (net or block; any other class: both tried), by the host's loader
awk '$1 == "ko" { print $2, $3 }' "$O/share/dde/drivers.index" | sort -u >"$T/mods"
# NAME SUBSYSTEM: drivers/net, drivers/scsi ..., or the top directory (sound, fs)
find "$(dirname "$KO_DIR")/modules-tree" -name '*.ko' | sed 's|.*/kernel/||' |
	awk -F/ '{ n = $NF; sub(/\.ko$/, "", n); print n, ($1 == "drivers" ? $1 "/" $2 : $1) }' |
	sort -u >"$T/subs"
join "$T/mods" "$T/subs" >"$T/work"	# NAME CLASS SUBSYSTEM
: >"$T/res"
t0=$(ms)
while read -r mod cls sub; do
	hosts="ko-net ko-block"
	[ "$cls" = net ] && hosts="ko-net"
	[ "$cls" = block ] && hosts="ko-block"
	verdict=refused
	for h in $hosts; do
		if "$O/drivers/$h" --check "$KO_DIR/$mod.ko" >"$T/chk" 2>&1; then
			verdict=loads
			break
		elif grep -q "imports nobody provides" "$T/chk"; then
			verdict=imports
		fi
	done
	echo "$sub $verdict" >>"$T/res"
done <"$T/work"
printf "  %-26s %7s %7s %16s %9s\n" "subsystem" "modules" "loads" "missing imports" "refused"
sort "$T/res" | awk '{ n[$1]++; v[$1 " " $2]++; t[$2]++ } END {
	for (s in n) printf "  %-26s %7d %7d %16d %9d\n", s, n[s], v[s " loads"], v[s " imports"], v[s " refused"]
	printf "  %-26s %7d %7d %16d %9d\n", "all", NR, t["loads"], t["imports"], t["refused"] }' |
	sort -k2 -n -r | head -40
echo "  (checked in $(( ($(ms) - t0) / 1000 )) s; \"loads\": every import resolved, placed and linked by the"
echo "   driver host's loader against the class's service library; initialised: the drivers above)"
