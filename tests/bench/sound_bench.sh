#!/bin/bash
# make bench, sound part (issue 20):
#  - CPU per second of audio: the driver process and sndd while aplay plays
#    SECONDS of audio (user + system time from /proc), per driver and engine;
#  - the smallest period that plays PLAY_SECONDS (60) without an underrun
#    and in time (within 5 % and a second, and QEMU never short of samples),
#    with and without a CPU hog on every core (tests/sound/sndplay, a ring
#    of 4 periods; periods tried from 4096 frames down to 16, a quarter each
#    step);
#  - the time from starting aplay to its first sample in QEMU's wav file
#    (QEMU's audio timer writes every 10 ms: that is the resolution).
. "$(dirname "$0")/lib.sh"
SNDPLAY="$O/tests/sound/sndplay"
SECONDS_CPU=${SECONDS_CPU:-10}
PLAY_SECONDS=${PLAY_SECONDS:-60}
PARTS=${PARTS:-cpu period latency}	# which figures (PARTS=latency ...)
export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$(readlink -f "$O")/share/alsa/dde.conf"

echo
bench_title "sound"
for p in aplay sox; do
	command -v $p >/dev/null || { echo "   (no $p: make deps installs alsa-utils and sox)"; exit 0; }
done

# cpu PID: user + system clock ticks so far
cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# start NAME MODEL WAV DDE-ARGS...: the machine; $run, $drv (driver pid), $snd (sndd pid)
start() {
	local name=$1 model=$2 wav=$3
	shift 3
	log="$T/$name.log"
	"$DDE" run --sound "$model${wav:+,wav=$wav}" "$@" >"$log" 2>&1 &
	run=$!
	bg="$run"
	for _ in $(seq 600); do grep -q "card snd0 .*snd0.0 playback" "$log" && break; sleep 0.1; done
	DDE_SND=$(sed -n 's/.*(clients: DDE_SND=\([^)]*\)).*/\1/p' "$log" | head -1)
	export DDE_SND
	drv=$(sed -n 's/^dde: started driver .* (pid \([0-9]*\))$/\1/p' "$log" | head -1)
	snd=$(pgrep -P "$run" -f "/sndd " | head -1)
}
stop() {
	kill -INT "$run" 2>/dev/null
	wait "$run" 2>/dev/null
	bg=""
}

hz=$(getconf CLK_TCK)
for d in "44100" "48000"; do
	sox -n -r $d -c 2 -b 16 "$T/tone-$d.wav" synth "$SECONDS_CPU" sine 440 vol 0.3 2>/dev/null
done
case " $PARTS " in *" cpu "*)
echo "-- CPU per second of audio (aplay, S16_LE stereo, ${SECONDS_CPU} s), ms of CPU time:"
printf "   %-26s %10s %10s %10s\n" "driver" "driver" "sndd" "wall/audio"
for d in "es1370 44100 ens1370 snd-ens1370" "ac97 48000 intel8x0 snd-intel8x0" \
	"hda 48000 hda-intel snd-hda-intel"; do
	set -- $d
	for engine in source native dbt; do
		if [ $engine = source ]; then
			args=(--driver "$3@00:01.0") label="$3"
		else
			args=(--driver "ko:$4@00:01.0" --engine $engine) label="ko:$4 ($engine)"
		fi
		start "cpu" "$1" "$T/out.wav" "${args[@]}"
		d0=$(cpu "$drv") s0=$(cpu "$snd") t0=$(ms)
		aplay -q -D dde "$T/tone-$2.wav"
		t1=$(ms) d1=$(cpu "$drv") s1=$(cpu "$snd")
		stop
		printf "   %-26s %10s %10s %10s\n" "$label" \
			"$(awk -v t=$((d1 - d0)) -v hz="$hz" -v s="$SECONDS_CPU" 'BEGIN { printf "%.1f", t * 1000 / hz / s }')" \
			"$(awk -v t=$((s1 - s0)) -v hz="$hz" -v s="$SECONDS_CPU" 'BEGIN { printf "%.1f", t * 1000 / hz / s }')" \
			"$(ratio $((t1 - t0)) $((SECONDS_CPU * 1000)))"
	done
done

esac

case " $PARTS " in *" period "*)
echo "-- the smallest period that plays ${PLAY_SECONDS} s in time without an underrun (sndplay, a ring of 4 periods):"
hog() { for _ in $(seq "$(nproc)"); do sh -c 'while :; do :; done' & bg="$bg $!"; done; }
for d in "es1370 44100 ens1370" "hda 48000 hda-intel"; do
	set -- $d
	sox -n -r "$2" -c 2 -b 16 "$T/long-$2.wav" synth "$PLAY_SECONDS" sine 440 vol 0.3 2>/dev/null
	for load in idle hog; do
		best="-" why=""
		for period in 4096 1024 256 64 16; do
			start "period" "$1" "" --driver "$3@00:01.0"
			[ $load = hog ] && hog
			t0=$(ms)
			out=$(timeout $((PLAY_SECONDS * 2 + 10)) "$SNDPLAY" --period $period "$T/long-$2.wav" 2>&1)
			wall=$(($(ms) - t0))
			for p in $bg; do [ "$p" != "$run" ] && kill "$p" 2>/dev/null; done
			stop
			# in time too: a device left without samples may stall instead of
			# running dry (QEMU then says "Resetting rate control")
			if echo "$out" | grep -q " 0 xruns" && [ $wall -le $((PLAY_SECONDS * 1050 + 1000)) ] &&
				! grep -q "Resetting rate control" "$log"; then
				best="$period frames ($(awk -v p=$period -v r="$2" 'BEGIN { printf "%.1f", p * 1000 / r }') ms)"
			else
				# why the next one did not
				why="$period frames: $(echo "$out" | sed -n 's/.*, \([0-9]*\) xruns.*/\1 xruns/p' | head -1)"
				why="$why, $((wall / 1000)) s for ${PLAY_SECONDS} s"
				grep -q "Resetting rate control" "$log" && why="$why, QEMU short of samples"
				break
			fi
		done
		printf "   %-10s %-5s %s%s\n" "$3" "$load" "$best" "${why:+ (not $why)}"
	done
done

esac

case " $PARTS " in *" latency "*)
echo "-- from starting aplay to its first sample in QEMU's wav file (10 ms resolution), 5 runs:"
for d in "es1370 44100 ens1370" "ac97 48000 intel8x0" "hda 48000 hda-intel"; do
	set -- $d
	all=""
	for _ in 1 2 3 4 5; do
		start "lat" "$1" "$T/lat.wav" --driver "$3@00:01.0"
		t0=$(ms)
		aplay -q -D dde "$T/tone-$2.wav" 2>/dev/null &
		ap=$!
		got=""
		for _ in $(seq 2000); do
			# a non-zero byte after the 44-byte header
			if [ "$(tail -c +45 "$T/lat.wav" 2>/dev/null | tr -d '\0' | head -c 1 | wc -c)" = 1 ]; then
				got=$(($(ms) - t0))
				break
			fi
			sleep 0.002
		done
		kill "$ap" 2>/dev/null
		wait "$ap" 2>/dev/null
		stop
		all="$all ${got:--}"
	done
	printf "   %-10s ms:%s (median %s)\n" "$3" "$all" \
		"$(echo "$all" | tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
done
esac
