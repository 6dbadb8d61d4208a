#!/bin/bash
# campaign.sh FAULTS [BATCH]: a fault-injection campaign, in the manner of
# MINIX 3's and Nooks': faults are injected into running drivers while
# clients verify that nothing acknowledged to them is ever lost.
#
# One machine (q35): two NVMe disks, one driven by Linux's nvme built from
# source, one by Debian's binary nvme.ko (native engine); an AHCI disk
# driven by Linux's ahci from source; an e1000 and an rtl8139 joined back to
# back (UDP), driven by Linux's e1000 from source and Debian's binary
# 8139cp.ko, each exported as a TAP device in a network namespace.
# Workload for the whole campaign: nbdverify over an NBD export of each
# disk (writes whose content derives from block and generation, every
# acknowledged write recorded, reads checked), and TCP transfers through
# both drivers (nc, sha256).
#
# Each round picks a driver and a fault type at random (dde faults): a
# batch of 1..BATCH bit flips in code or data, wild stores or corrupted
# registers; or kill -9; or SIGSTOP (a hang). Then it watches what dde
# reports of that driver: a crash (a signal), a hang (its class server
# reports it; dde kills it), or nothing; a failed driver is restarted by
# dde and the round waits until it serves again. At the end the clients
# read everything back, QEMU stops, and each image is checked against the
# record of acknowledged writes.
#
# Prints the figures (faults, failures, restarts, framework crashes, writes
# lost, corrupt reads, TCP transfers broken, time to serve again) and a
# table of how each fault type manifested. Exits 0 if the framework never
# crashed and no client lost anything or read anything wrong; 1 if not;
# 77 if this machine cannot run it (not root). SEED=N repeats a campaign;
# KEEP=1 keeps the logs (in the directory printed); EXCLUDE=NAME spares
# the mappings so named (e.g. 'dde dma': the drivers' DMA memory, where a
# flip can corrupt the data of a read in flight, which no supervisor can
# see: make check spares it, make faults does not).
set -u
O=${O:-build}
FAULTS=${1:-100}
BATCH=${2:-5}
SEED=${SEED:-$(((RANDOM << 15) | RANDOM))}
DDE=$O/bin/dde
VERIFY=$O/tests/faults/nbdverify
HANG_MS=3000
T=$(mktemp -d /tmp/dde-faults-XXXXXX)
NA=dde-fA-$$ NB=dde-fB-$$ TA=ddefA$$ TB=ddefB$$
run="" verifiers="" nbds="" tcp=""
# the TCP loop first (SIGKILL: it logs nothing more), then its nc's in the namespaces
stop_tcp() {
	[ -n "$tcp" ] && kill -9 "$tcp" 2>/dev/null && wait "$tcp" 2>/dev/null
	tcp=""
	for ns in "$NA" "$NB"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
}
cleanup() {
	stop_tcp
	for p in $verifiers $nbds; do kill -9 "$p" 2>/dev/null; done
	[ -n "$run" ] && kill -INT "$run" 2>/dev/null && wait "$run" 2>/dev/null
	for ns in "$NA" "$NB"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${KEEP:-}" ]; then echo "campaign: logs kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$(id -u)" != 0 ] || ! ip netns add "$NA" 2>/dev/null || ! ip netns add "$NB" 2>/dev/null; then
	echo "campaign: needs root and network namespaces (the drivers' sandbox, the TAP pair)"
	exit 77
fi
RANDOM=$((SEED & 32767))
# EXCLUDE=NAME: flips and wild stores spare mappings named so (dde faults --exclude)
exclude=()
[ -n "${EXCLUDE:-}" ] && exclude=(--exclude "$EXCLUDE")
echo "campaign: $FAULTS faults in batches of up to $BATCH, seed $SEED${EXCLUDE:+, sparing '$EXCLUDE'}"

# ---- the machine, its drivers, the workload ----
for d in a b c; do truncate -s 128M "$T/$d.img"; done
port=$((45000 + ($$ % 1000) * 2))
BLK="@dde-faults-blk-$$" NET="@dde-faults-net-$$"
"$DDE" run --machine q35 --disk "nvme:$T/a.img" --disk "nvme:$T/b.img" --disk "ahci:$T/c.img" \
	--nic "e1000,net=udp:$port:$((port + 1))" --nic "rtl8139,net=udp:$((port + 1)):$port" \
	--driver ko:nvme@00:02.0 --driver ko:8139cp@00:04.0 --tap "net0=$TA" --tap "net1=$TB" \
	--restarts 15 --restart-window 1 --hang-timeout $HANG_MS \
	--blk-socket "$BLK" --net-socket "$NET" >"$T/run.log" 2>&1 &
run=$!
up() { [ "$(grep -Ec "bddf: (nvme[01]n1|sda): disk of" "$T/run.log")" -ge 3 ] &&
	[ "$(grep -c "netd: interface net[01]: link up" "$T/run.log")" -ge 2 ]; }
for ((i = 0; i < 1200; i++)); do
	up && break
	kill -0 $run 2>/dev/null || break
	sleep 0.1
done
if ! up; then
	echo "campaign: the machine did not come up:"
	grep -v '^\[' "$T/run.log" | tail -8
	exit 1
fi
mapfile -t DRIVERS < <(sed -n 's/^dde: started driver \(.*\) (pid [0-9]*)$/\1/p' "$T/run.log")
echo "campaign: drivers: ${DRIVERS[*]}"

for x in "$TA $NA 10.98.0.1" "$TB $NB 10.98.0.2"; do
	set -- $x
	ip link set "$1" netns "$2" && ip -n "$2" addr add "$3/24" dev "$1" &&
		ip -n "$2" link set "$1" up && ip -n "$2" link set lo up ||
		{ echo "campaign: cannot set up $1 in $2"; exit 1; }
done

for disk in nvme0n1 nvme1n1 sda; do
	DDE_BLK=$BLK "$DDE" nbd --export "$disk" --socket "$T/$disk.sock" >"$T/$disk.nbd.log" 2>&1 &
	nbds="$nbds $!"
done
k=1
for disk in nvme0n1 nvme1n1 sda; do
	for ((i = 0; i < 100; i++)); do [ -S "$T/$disk.sock" ] && break; sleep 0.1; done
	# 32 MiB of 64 KiB blocks: every block written many times over the campaign
	"$VERIFY" --socket "$T/$disk.sock" --blocks 512 --seconds 86400 --depth 8 \
		--seed $((SEED + k++)) --record "$T/$disk.rec" --timeout 120 \
		>"$T/$disk.verify" 2>&1 &
	verifiers="$verifiers $!"
done

# TCP transfers through both drivers, one after another, each checked
head -c 1M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
(
	trap - EXIT INT TERM HUP
	n=0
	while :; do
		n=$((n + 1))
		ip netns exec "$NB" timeout 120 nc -l -N 5001 >"$T/recv" 2>/dev/null &
		srv=$!
		for ((i = 0; i < 50; i++)); do
			ip netns exec "$NB" ss -ltn 2>/dev/null | grep -q ":5001 " && break
			sleep 0.1
		done
		ip netns exec "$NA" timeout 120 nc -N 10.98.0.2 5001 <"$T/data" 2>/dev/null
		wait $srv
		if [ "$(sha256sum <"$T/recv" | cut -d' ' -f1)" = "$want" ]; then
			echo "tcp $n ok" >>"$T/tcp.log"
		else
			echo "tcp $n broken ($(stat -c %s "$T/recv") bytes)" >>"$T/tcp.log"
		fi
	done
) &
tcp=$!

# ---- the faults ----
pid_of() {
	sed -n -e "s/^dde: started driver $1 (pid \([0-9]*\))$/\1/p" \
		-e "s/^dde: restarted driver $1 (pid \([0-9]*\), restart [0-9]*)$/\1/p" "$T/run.log" | tail -1
}
failures_of() { grep -c "^dde: driver $1 was " "$T/run.log"; }
restarts_of() { grep -c "^dde: restarted driver $1 (pid" "$T/run.log"; }
types=(flip flip flip wild wild reg reg reg kill stop)
injected=0 rounds=0 framework=""
declare -A cycles faults crash hang none late
for t in flip wild reg kill stop; do cycles[$t]=0 faults[$t]=0 crash[$t]=0 hang[$t]=0 none[$t]=0; done
for d in "${DRIVERS[@]}"; do late[$d]=0; done
declare -A seen
for d in "${DRIVERS[@]}"; do seen[$d]=$(failures_of "$d"); done

while [ $injected -lt "$FAULTS" ]; do
	if ! kill -0 $run 2>/dev/null; then
		framework="dde run ended: $(grep -E 'exited; stopping|machine stopped' "$T/run.log" | head -2)"
		break
	fi
	d=${DRIVERS[$((RANDOM % ${#DRIVERS[@]}))]}
	t=${types[$((RANDOM % ${#types[@]}))]}
	pid=$(pid_of "$d")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { sleep 0.2; continue; }
	n=1
	case $t in flip | wild | reg) n=$((1 + RANDOM % BATCH)) ;; esac
	[ $((injected + n)) -gt "$FAULTS" ] && n=$((FAULTS - injected))
	rounds=$((rounds + 1))
	before=$(restarts_of "$d")
	echo "round $rounds: $d pid $pid: $n x $t" >>"$T/faults.log"
	"$DDE" faults "$pid" --type "$t" --count $n --interval 10 --seed $((SEED + rounds)) \
		"${exclude[@]}" --log "$T/faults.log" >/dev/null 2>>"$T/faults.err"
	done_now=$(($(grep -c "^fault " "$T/faults.log") - injected))
	injected=$((injected + done_now))
	faults[$t]=$((faults[$t] + done_now))
	cycles[$t]=$((cycles[$t] + 1))
	# what became of it: a stopped driver is found hung within the hang timeout
	watch_ms=1000
	[ "$t" = stop ] && watch_ms=$((HANG_MS + 4000))
	for ((i = 0; i < watch_ms / 100; i++)); do
		[ "$(failures_of "$d")" -gt "${seen[$d]}" ] && break
		sleep 0.1
	done
	if [ "$(failures_of "$d")" -gt "${seen[$d]}" ]; then
		line=$(grep "^dde: driver $d was " "$T/run.log" | sed -n "$((seen[$d] + 1))p")
		case $line in
		*"was hung"*) hang[$t]=$((hang[$t] + 1)); what=hang ;;
		*) crash[$t]=$((crash[$t] + 1)); what=crash ;;
		esac
		# back: restarted and serving
		for ((i = 0; i < 600; i++)); do
			[ "$(restarts_of "$d")" -gt "$before" ] && break
			kill -0 $run 2>/dev/null || break
			sleep 0.1
		done
		sleep 0.5
	else
		none[$t]=$((none[$t] + 1))
		what=nothing
		# a stopped driver that nobody found hung: let it go on
		[ "$t" = stop ] && kill -CONT "$pid" 2>/dev/null
	fi
	echo "round $rounds: $what" >>"$T/faults.log"
	# failures of the others since: latent effects of earlier rounds
	for o in "${DRIVERS[@]}"; do
		f=$(failures_of "$o")
		[ "$o" != "$d" ] && late[$o]=$((late[$o] + f - seen[$o]))
		seen[$o]=$f
	done
	[ $((rounds % 20)) = 0 ] && echo "campaign: $injected faults injected in $rounds rounds"
done

# ---- the end: clients read back, QEMU stops, the images are checked ----
sleep 2
kill -0 $run 2>/dev/null || framework=${framework:-"dde run ended"}
for p in $verifiers; do kill -INT "$p" 2>/dev/null; done
for p in $verifiers; do wait "$p" 2>/dev/null; done
verifiers=""
stop_tcp
for p in $nbds; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
nbds=""
kill -INT $run 2>/dev/null
wait $run 2>/dev/null
run=""

lost=0 corrupt=0 errors=0 bad_image=0
for disk in nvme0n1 nvme1n1 sda; do
	# its image: by the slot of the driver bddf names
	case $(sed -n "s/^bddf: $disk: disk of [^ ]*@\([0-9a-f:.]*\) .*/\1/p" "$T/run.log") in
	00:01.0) img=$T/a.img ;;
	00:02.0) img=$T/b.img ;;
	*) img=$T/c.img ;;
	esac
	line=$(grep "^nbdverify: writes" "$T/$disk.verify")
	echo "campaign: $disk: ${line#nbdverify: }"
	[ -n "$line" ] || { echo "campaign: $disk: nbdverify did not finish: $(tail -3 "$T/$disk.verify")"; errors=$((errors + 1)); }
	e=$(sed -n 's/.*errors \([0-9]*\).*/\1/p' <<<"$line")
	c=$(sed -n 's/.*corrupt reads \([0-9]*\).*/\1/p' <<<"$line")
	l=$(sed -n 's/.*lost writes \([0-9]*\).*/\1/p' <<<"$line")
	errors=$((errors + ${e:-0})) corrupt=$((corrupt + ${c:-0})) lost=$((lost + ${l:-0}))
	grep -E "^nbdverify: (corrupt|error|lost)" "$T/$disk.verify" | head -5 | sed 's/^/    /'
	"$VERIFY" --check-image "$img" --record "$T/$disk.rec" >"$T/$disk.image" 2>&1 ||
		bad_image=$((bad_image + 1))
	echo "campaign: $disk: $(grep "^nbdverify: image" "$T/$disk.image" | sed 's/^nbdverify: //')"
done

failures=$(grep -c "^dde: driver .* was " "$T/run.log")
restarts=$(grep -c "^dde: restarted driver" "$T/run.log")
given=$(grep -c "^dde: driver .*: given up" "$T/run.log")
tcp_ok=$(grep -c " ok$" "$T/tcp.log" 2>/dev/null)
tcp_bad=$(grep -c " broken" "$T/tcp.log" 2>/dev/null)
mapfile -t back < <(sed -n 's/^bddf: driver .* serves again: its first request done \([0-9]*\) ms after.*/\1/p' \
	"$T/run.log" | sort -n)
if [ ${#back[@]} -gt 0 ]; then
	median=${back[$((${#back[@]} / 2))]}
	p99=${back[$(((${#back[@]} * 99 + 99) / 100 - 1))]}
	recover="median $median ms, p99 $p99 ms, max ${back[-1]} ms over ${#back[@]} disk driver restarts"
else
	recover="no disk driver restarted"
fi
echo
echo "figure: faults injected: $injected in $rounds rounds (seed $SEED)"
echo "figure: driver failures detected: $failures; restarts: $restarts; given up: $given"
echo "figure: framework crashes (ddeio, bddf, netd, dde): ${framework:+1 ($framework)}${framework:-0}"
echo "figure: acknowledged writes lost: $lost; corrupt reads returned: $corrupt; client errors: $errors; images not as recorded: $bad_image"
echo "figure: TCP transfers through e1000 and 8139cp: ${tcp_ok:-0} complete and intact, ${tcp_bad:-0} broken"
echo "figure: from a disk driver's failure to its first request served again: $recover"
for d in "${DRIVERS[@]}"; do
	mapfile -t b < <(sed -n "s/^bddf: driver $d serves again: its first request done \([0-9]*\) ms after.*/\1/p" \
		"$T/run.log" | sort -n)
	[ ${#b[@]} -gt 0 ] && echo "figure:   $d: median ${b[$((${#b[@]} / 2))]} ms over ${#b[@]}"
done
echo
printf "%-6s %7s %7s %7s %7s %8s\n" TYPE ROUNDS FAULTS CRASH HANG NOTHING
for t in flip wild reg kill stop; do
	printf "%-6s %7d %7d %7d %7d %8d\n" "$t" "${cycles[$t]}" "${faults[$t]}" "${crash[$t]}" "${hang[$t]}" "${none[$t]}"
done
for d in "${DRIVERS[@]}"; do
	echo "  $d: $(failures_of "$d") failures ($((late[$d])) latent: in a round aimed at another driver)"
done
[ -z "$framework" ] && [ "$lost" = 0 ] && [ "$corrupt" = 0 ] && [ "$errors" = 0 ] && [ "$bad_image" = 0 ]
