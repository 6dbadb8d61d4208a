#!/bin/bash
# make bench, network part: frames/s and Mbit/s through each reused Linux
# network driver (client -> netd -> driver -> QEMU -> UDP peer, and back),
# at full speed with fixed-size frames (64 bytes: 60 plus the FCS QEMU does
# not model; 1514), the CPU time the driver process and netd spent per
# frame, and the I/O server requests per frame. Losses at full speed are
# counted and printed, never hidden: where each was lost (QEMU's socket,
# the device, the driver, netd's ring, the client's ring, or no counter).
# Two ceilings; each figure is a ratio to both where known ("= 0.05 of the
# ceiling, 0.43 of the e1000 model's ceiling"):
#  - "of the ceiling", the doorbell bound: the platform bench of the same
#    run ($O/bench-platform.txt) gives the cost of a posted register write
#    through ddeio; a NIC needs at least one (the doorbell) per frame, so
#    1/that bounds the frames/s any driver could move here (a loose bound
#    no model reaches: reads and interrupts cost 30-60 times more, see the
#    platform figures, and the model's own work is not in it);
#  - "of the MODEL model's ceiling", the device model's own: the most
#    frames/s QEMU's model moves on this machine for a driver that does it
#    the cheapest way the model allows (whole rings per doorbell, no
#    interrupts, completions polled in DMA memory), measured just before by
#    tests/bench/ceiling_net.c ($O/bench-ceiling.txt, make bench), at the
#    same size and direction. It says how much of what the model can do a
#    driver gets. There are such figures for e1000 (the source e1000 and
#    ko:e1000 on both engines) and rtl8139 (8139cp, ko:8139cp, and
#    ko:8139too, which runs the chip in its older mode — four transmit
#    slots, a register write per frame, a receive byte ring — while the
#    ceiling is measured in C+ mode, descriptor rings as 8139cp uses, the
#    cheapest the model allows), and ne2k_pci (ne2k-pci, ko:ne2k-pci: the
#    chip has no DMA, frames go through its data port, 32 bits a command to
#    the model, the fewest there are). The two ceilings are
#    measured minutes apart on a machine whose speed drifts: a ratio a
#    little above 1 would mean that, not a driver beating the model.
# Then TCP through two drivers back to back (tests/net/tap_pair.sh) and
# binary sizes.
. "$(dirname "$0")/lib.sh"
run=""	# the one run in flight: stopped, and all waited for, on exit
trap '[ -n "$run" ] && kill -INT $run 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
bench_title network

# cpu_ns PID: the CPU time of all the process's threads so far, in ns (the
# scheduler's own account: clock ticks are too coarse for a few us per frame)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# the row's columns: ddeio unbatched (median, p99), through ddeio (median, p99), direct
posted=$(sed -n 's/^MMIO write (posted) *[0-9.]* *[0-9.]* *\([0-9.]*\) .*/\1/p' "$O/bench-platform.txt" 2>/dev/null)
if [ -n "$posted" ]; then
	ceiling=$(awk -v us="$posted" 'BEGIN { printf "%.0f", 1e6 / us }')
	echo "  ceiling: posted write through ddeio ${posted} us -> $ceiling frames/s (one doorbell per frame)"
else
	ceiling=""
	echo "  (no platform figures in $O/bench-platform.txt: run make bench for the ceiling)"
fi
# model_ceiling MODEL DIR SIZE: the frames/s of MODEL's own ceiling in this
# run (tests/bench/ceiling_net.c), or nothing
model_ceiling() {
	sed -n "s/^$1 model ceiling, $2 $3B: \([0-9]*\) frames\/s.*/\1/p" "$O/bench-ceiling.txt" 2>/dev/null | head -1
}
for m in e1000 rtl8139 ne2k_pci; do
	if [ -n "$(model_ceiling $m tx 60)" ]; then
		echo "  $m model ceiling (ceiling_net, $O/bench-ceiling.txt): tx 60B $(model_ceiling $m tx 60)," \
			"tx 1514B $(model_ceiling $m tx 1514), rx 60B $(model_ceiling $m rx 60)," \
			"rx 1514B $(model_ceiling $m rx 1514) frames/s"
	else
		echo "  (no $m model ceiling in $O/bench-ceiling.txt: run make bench for it)"
	fi
done

# usr1_counts PID LOG: the driver's counts via SIGUSR1: the trap engine's
# "MMIO port" instructions, or the translated engine's "MMIO+port entries
# calls"
usr1_counts() {
	local n0 i re="(trap|translated) engine: "
	n0=$(grep -Ec "$re" "$2")
	kill -USR1 "$1" 2>/dev/null
	for i in $(seq 50); do [ "$(grep -Ec "$re" "$2")" -gt "$n0" ] && break; sleep 0.1; done
	grep -E "$re" "$2" | tail -1 | awk '
		/^trap/ { print $3 + $6 }
		/^translated/ { print $8 + $11, $3, $5 }'
}

# losses SOCKET: "missed dropped fifo over netd-ring-full client-ring-full"
# of the (first) interface, from `dde net`: cumulative counts
losses() {
	DDE_NET=$1 "$O/bin/dde" net 2>/dev/null | awk '
		/^  netd:/ { for (i = 1; i <= NF; i++) if ($i == "full") cf = $(i + 1) }
		/^  driver rx:/ { for (i = 1; i <= NF; i++) {
			if ($i == "missed") m = $(i + 1); if ($i == "dropped") d = $(i + 1)
			if ($i == "fifo") f = $(i + 1); if ($i == "over") o = $(i + 1)
			if ($i == "full") nf = $(i + 1) } }
		END { print m + 0, d + 0, f + 0, o + 0, nf + 0, cf + 0 }'
}

# where_lost LABEL OUT L0 L1: the receive losses of one run, where they
# happened (net_frames: at QEMU's socket; dde net: the rest), and what no
# counter saw (QEMU models that drop without counting: ne2k_pci)
where_lost() {
	local lost sock
	lost=$(sed -n 's/^rx: .*, \([0-9]*\) lost, .*/\1/p' "$2")
	sock=$(sed -n 's/^  of the lost: \([0-9]*\) at .*/\1/p' "$2")
	[ -n "$lost" ] && [ "$lost" != 0 ] || return 0
	read -r m0 d0 f0 o0 n0 c0 <"$3"
	read -r m1 d1 f1 o1 n1 c1 <"$4"
	local none=$((lost - ${sock:-0} - (m1 - m0) - (d1 - d0) - (n1 - n0) - (c1 - c0)))
	if [ "$none" -ge 0 ]; then
		none="no counter: $none"
	else
		# QEMU's rtl8139 in ring mode counts a frame missed each time it
		# holds it back for want of room, then delivers it when the
		# driver frees some: its counter is of events, not of losses
		none="no counter: 0 (the counters say $((-none)) more than were lost: the device counted frames missed that it held back and delivered later)"
	fi
	echo "  $1 rx lost $lost: QEMU's socket ${sock:-?}, device missed $((m1 - m0))," \
		"fifo $((f1 - f0)), over $((o1 - o0)), driver dropped $((d1 - d0)), netd ring full" \
		"$((n1 - n0)), client ring full $((c1 - c0)); $none"
}

# bench_driver DRIVER MODEL COUNT [ENGINE]: DRIVER built from source, or
# ko:NAME (Debian's binary module in the driver host, on ENGINE: native, the
# default, or dbt)
bench_driver() {
	local drv=$1 model=$2 count=$3 port=$((40000 + $$ % 10000)) f=${1//:/-}
	local sock="@dde-bench-net-$$-$f" proc engine=() label=$1 eng=${4:-native}
	if [[ $drv == ko:* ]]; then
		proc="drivers/ko-net .*/${drv#ko:}\.ko"
		engine=(--engine "$eng")
		[ "$eng" = native ] || { f="$f-$eng"; label="$drv($eng)"; }
	elif [[ $drv == efi:* ]]; then
		# a UEFI driver (iPXE's) in the UEFI driver host: no trap counts
		proc="drivers/efi-net "
		engine=(--engine "$eng")
		[ "$eng" = native ] || { f="$f-$eng"; label="$drv($eng)"; }
	else
		proc="drivers/$drv\$"
	fi
	"$O/bin/dde" run "${engine[@]}" --nic "$model,net=udp:$port:$((port + 1))" --driver "$drv@00:01.0" \
		--net-socket "$sock" >"$T/log" 2>&1 &
	run=$!
	for i in $(seq 600); do grep -q "netd: interface net0: link up" "$T/log" && break; sleep 0.1; done
	local dpid npid c0 c1 t0 t1
	dpid=$(pgrep -P $run -f "$proc" | head -1)
	npid=$(pgrep -P $run -f "bin/netd" | head -1)
	for size in 60 1514; do
		c0=$(( $(cpu_ns "$dpid") + $(cpu_ns "$npid") ))
		t0=""
		[[ $drv == efi:* ]] || t0=$(usr1_counts "$dpid" "$T/log")
		sleep 1.2	# the driver's counters (reported every second) are current
		losses "$sock" >"$T/l0"
		DDE_NET=$sock "$O/tests/net/net_frames" --qemu-listen $port --qemu-peer $((port + 1)) \
			--count "$count" --full --size $size --seed $size >"$T/out" 2>&1
		sleep 1.2
		losses "$sock" >"$T/l1"
		c1=$(( $(cpu_ns "$dpid") + $(cpu_ns "$npid") ))
		t1=""
		[[ $drv == efi:* ]] || t1=$(usr1_counts "$dpid" "$T/log")
		sed -n 's/^\(tx\|rx\): [0-9]* frames [a-z ]*by \(the client\|the UDP peer\), /\1 /p' "$T/out" |
			while read -r dir rest; do
				fps=$(sed -n 's/.*; \([0-9]*\) frames\/s.*/\1/p' <<<"$rest")
				ratio=""
				[ -n "$ceiling" ] && [ -n "$fps" ] &&
					ratio=" = $(awk -v a="$fps" -v c="$ceiling" 'BEGIN { printf "%.2f", a / c }') of the ceiling"
				mc=$(model_ceiling "${model%%,*}" "$dir" "$size")
				[ -n "$mc" ] && [ -n "$fps" ] &&
					ratio="${ratio:- =}${ratio:+,} $(awk -v a="$fps" -v c="$mc" 'BEGIN { printf "%.2f", a / c }') of the ${model%%,*} model's ceiling"
				echo "  $label ${size}B $dir $rest$ratio"
				echo "$size $dir ${fps:-0}" >>"$T/res-$f"
			done
		where_lost "$label ${size}B" "$T/out" "$T/l0" "$T/l1"
		cpu=$(awk -v d=$((c1 - c0)) -v n=$((2 * count)) 'BEGIN { printf "%.1f", d / 1000 / n }')
		echo "$size cpu $cpu" >>"$T/res-$f"
		if [[ $drv == efi:* ]]; then
			echo "  $label ${size}B driver+netd CPU: $cpu us per frame"
		elif [ "$eng" = dbt ]; then
			echo "  $label ${size}B driver+netd CPU: $cpu us per frame;" \
				"$(awk -v a="${t0:-0 0 0}" -v b="${t1:-0 0 0}" -v n=$((2 * count)) 'BEGIN {
					split(a, x, " "); split(b, y, " ")
					printf "%.1f emulated MMIO/port accesses, %.1f entries into the module, " \
						"%.1f calls out of it per frame", (y[1] - x[1]) / n,
						(y[2] - x[2]) / n, (y[3] - x[3]) / n }')"
		else
			echo "  $label ${size}B driver+netd CPU: $cpu us per frame;" \
				"$(awk -v a="${t0:-0}" -v b="${t1:-0}" -v n=$((2 * count)) \
					'BEGIN { printf "%.1f", (b - a) / n }') trapped MMIO/port instructions per frame"
		fi
	done
	kill -INT $run
	wait $run 2>/dev/null
	run=""
	req=$(sed -n "s/.*driver '$drv@00:01.0' gone.*(\([0-9]*\) requests.*/\1/p" "$T/log")
	[ -n "$req" ] && echo "  $label: $req I/O server requests in all," \
		"$(awk -v r="$req" -v n=$((4 * count)) 'BEGIN { printf "%.1f", r / n }') per frame offered (probe included)"
}

# compare SOURCE BINARY: the binary module against the source-built driver,
# the same workload in this run: transmit (lossless, paced by the driver)
# and CPU per frame; receive at full speed is lossy and says more about
# QEMU's model than the driver, so it is not compared
compare() {
	local a=${1//:/-} b=${2//:/-} line
	[ -f "$T/res-$a" ] && [ -f "$T/res-$b" ] || return
	join <(awk '{ print $1 "-" $2, $3 }' "$T/res-$a" | sort) \
		<(awk '{ print $1 "-" $2, $3 }' "$T/res-$b" | sort) |
		grep -v -- "-rx " | while read -r key x y; do
			line="  $2 / $1, ${key%%-*}B ${key#*-}:"
			if [ "${key#*-}" = cpu ]; then
				echo "$line CPU per frame $y / $x us = $(awk -v x="$x" -v y="$y" \
					'BEGIN { if (x > 0) printf "%.2f", y / x; else print "-" }')"
			else
				echo "$line frames/s $y / $x = $(awk -v x="$x" -v y="$y" \
					'BEGIN { if (x > 0) printf "%.2f", y / x; else print "-" }')"
			fi
		done
}

bench_driver e1000 e1000 20000
bench_driver ko:e1000 e1000 20000
bench_driver ko:e1000 e1000 20000 dbt
bench_driver 8139cp rtl8139 20000
bench_driver ko:8139cp rtl8139 20000
bench_driver ko:8139cp rtl8139 20000 dbt
# 8139too has no source build here: its two engines against each other
bench_driver ko:8139too rtl8139,revision=0x10 20000
bench_driver ko:8139too rtl8139,revision=0x10 20000 dbt
bench_driver ne2k-pci ne2k_pci 2000
bench_driver ko:ne2k-pci ne2k_pci 2000
bench_driver ko:ne2k-pci ne2k_pci 2000 dbt
# binary drivers of another OS: iPXE's UEFI drivers (Debian's ipxe-qemu), issue 22
if [ -s "$O/share/dde/efi-dir" ]; then
	bench_driver efi:ipxe-e1000 e1000 20000
	bench_driver efi:ipxe-e1000 e1000 20000 dbt
	bench_driver efi:ipxe-rtl8139 rtl8139 20000
fi
echo "== binary modules, native and translated (dbt), against the same drivers built from source"
for d in e1000 8139cp ne2k-pci; do
	compare $d ko:$d
	compare $d ko:$d-dbt
	compare ko:$d ko:$d-dbt
done
compare ko:8139too ko:8139too-dbt
echo "== iPXE's UEFI drivers against Linux's drivers of the same NICs (source)"
compare e1000 efi:ipxe-e1000
compare e1000 efi:ipxe-e1000-dbt
compare 8139cp efi:ipxe-rtl8139

echo "== service-library interfaces the binary modules use (imports not served by another module)"
KO=$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)
und() { readelf -sW "$KO/$1.ko" | awk '$7 == "UND" && $8 != "" { print $8 }' | sort -u; }
for m in mii 8390; do
	readelf -sW "$KO/$m.ko" | awk '$8 ~ /^__ksymtab_/ { sub(/^__ksymtab_/, "", $8); print $8 }'
done | sort -u >"$T/modexp"
for m in e1000 8139too 8139cp ne2k-pci mii 8390; do
	echo "  $m: $(und $m | comm -23 - "$T/modexp" | wc -l)"
done
echo "  e1000 + 8139too + ne2k-pci (with mii, 8390) together:" \
	"$(for m in e1000 8139too mii ne2k-pci 8390; do und $m; done | sort -u | comm -23 - "$T/modexp" | wc -l)" \
	"(the ICA prototype: about 161 for a Windows network + sound driver pair)"

echo "== TCP through two reused drivers back to back (e1000 -> 8139cp, TAP in two namespaces)"
O=$O tests/net/tap_pair.sh 20 2>&1 | sed 's/^/  /'

echo "== sizes (text+data+bss, bytes)"
size_of() { size "$@" 2>/dev/null | awk 'NR > 1 { s += $4 } END { print s }'; }
echo "  ddekit (libddekit.a): $(size_of "$O/lib/libddekit.a")"
echo "  dde_linux common (lx_emul + lx_kit): $(size_of "$O"/lx_emul/*.o "$O"/obj/dde_linux/lx_kit/*.o)"
echo "  dde_linux common Linux files (core.list): $(size_of $(make -s --no-print-directory lx-core-objs O="$O"))"
echo "  net class glue (dde_linux/net): $(size_of "$O"/lx_glue/net/*.o)"
echo "  net class Linux files (net.list): $(size_of "$O"/linux/net/core/*.o "$O"/linux/net/ethernet/*.o)"
for d in "$O"/drivers/*.class; do
	d=${d%.class}
	echo "  driver $(basename "$d") (whole process): $(size_of "$d")"
done
