#!/bin/bash
# The sound class end to end: Linux's ES1370, AC'97 and HD Audio drivers,
# from source and as Debian's binary modules on both engines, behind sndd;
# real ALSA programs (aplay, arecord, speaker-test through the plugin) and
# a libddesnd client (tests/sound/sndplay). What the device played is what
# QEMU's wav backend wrote (mixing engine off): a 1.5-second sweep made by sox
# at the device's rate must come out bit for bit (tests/sound/wavcmp).
. "$(dirname "$0")/lib.sh"

SNDPLAY="$O/tests/sound/sndplay"
WAVCMP="$O/tests/sound/wavcmp"
export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$(readlink -f "$O")/share/alsa/dde.conf"
for p in aplay arecord speaker-test sox; do
	if ! command -v $p >/dev/null; then
		skip "sound tests" "$p is not installed (make deps installs alsa-utils and sox)"
		finish
		exit
	fi
done

# sweep RATE: a 1.5-second stereo 16-bit sweep at RATE (not silent at the start)
sweep() {
	[ -f "$T/sweep-$1.wav" ] ||
		sox -n -r "$1" -c 2 -b 16 "$T/sweep-$1.wav" synth 1.5 sine 200-8000 sine 300-6000 \
			vol 0.5 2>/dev/null
	echo "$T/sweep-$1.wav"
}

# machine NAME MODEL[,wav=F] DDE-ARGS...: `dde run` with one sound card in
# the background; waits until sndd lists its playback PCM, sets DDE_SND
machine() {
	local name=$1 sound=$2
	shift 2
	log="$T/$name.log"
	dde_bg "$log" --sound "$sound" "$@"
	pid=$bg
	if ! wait_log "$log" "card snd0 .*snd0.0 playback" 60; then
		not_ok "$name: the card is served" "$(grep -v '^ddeio' "$log" | tail -5)"
		dde_stop "$pid"
		return 1
	fi
	DDE_SND=$(sed -n 's/.*(clients: DDE_SND=\([^)]*\)).*/\1/p' "$log" | head -1)
	export DDE_SND
}

# stop WAV: once QEMU's wav file stops growing (it writes behind the
# device), stop the machine (QEMU completes the file's header)
stop() {
	local prev=-1 size
	for _ in $(seq 40); do
		size=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$size" = "$prev" ] && break
		prev=$size
		sleep 0.25
	done
	dde_stop "$pid"
}

# play NAME MODEL RATE DDE-ARGS...: aplay plays the sweep; the wav file
# holds it bit for bit, then only silence; no underrun
play() {
	local name=$1 model=$2 rate=$3 ref
	shift 3
	ref=$(sweep "$rate")
	machine "$name" "$model,wav=$T/$name.wav" "$@" || return
	if amixer -D dde sget Master >"$T/$name.mixer" 2>&1 &&
		grep -q "Playback.*\[[0-9]*%\]" "$T/$name.mixer"; then
		ok "$name: amixer -D dde reads the driver's Master control"
	else
		not_ok "$name: amixer -D dde reads Master" "$(head -c 300 "$T/$name.mixer")"
	fi
	aplay -D dde "$ref" >"$T/$name.aplay" 2>&1
	local rc=$?
	stop "$T/$name.wav"
	if [ $rc != 0 ] || grep -q -i underrun "$T/$name.aplay"; then
		not_ok "$name: aplay plays" "status $rc: $(head -c 300 "$T/$name.aplay")"
	elif "$WAVCMP" "$ref" "$T/$name.wav" >"$T/$name.cmp" 2>&1; then
		ok "$name: aplay's 1.5 s sweep reaches the device bit for bit ($(cut -d'(' -f1 "$T/$name.cmp"))"
	else
		not_ok "$name: aplay's sweep reaches the device bit for bit" "$(cat "$T/$name.cmp")"
	fi
}

# the three drivers, from source and binary on both engines
for engine in source native dbt; do
	for d in "es1370 44100 ens1370 snd-ens1370" "ac97 48000 intel8x0 snd-intel8x0" \
		"hda 48000 hda-intel snd-hda-intel"; do
		set -- $d
		if [ $engine = source ]; then
			play "$3" "$1" "$2" --driver "$3@00:01.0"
		else
			play "ko-$4-$engine" "$1" "$2" --driver "ko:$4@00:01.0" --engine $engine
		fi
	done
done

# the C client: pause and resume keep the stream exact (ES1370); an
# underrun on purpose is reported (-EPIPE, counted) and recovered
ref=$(sweep 44100)
machine pause "es1370,wav=$T/pause.wav" && {
	"$SNDPLAY" --pause-at 50000 --pause-ms 500 "$ref" >"$T/pause.out" 2>&1
	rc=$?
	stop "$T/pause.wav"
	if [ $rc = 0 ] && grep -q "paused after 50000 frames" "$T/pause.out" &&
		"$WAVCMP" "$ref" "$T/pause.wav" >"$T/pause.cmp"; then
		ok "libddesnd: paused 500 ms mid-stream and resumed, the stream is exact"
	else
		not_ok "libddesnd: pause and resume keep the stream exact" \
			"$(cat "$T/pause.out" "$T/pause.cmp" 2>/dev/null | head -c 400)"
	fi
}
machine stall "es1370,wav=$T/stall.wav" && {
	"$SNDPLAY" --stall-at 50000 --stall-ms 800 "$ref" >"$T/stall.out" 2>&1
	rc=$?
	stop "$T/stall.wav"
	if [ $rc = 0 ] && grep -q "underrun after 50000 frames: recovered" "$T/stall.out" &&
		grep -q "played 66150 frames, 1 xruns (1 seen)" "$T/stall.out" &&
		"$WAVCMP" --gaps "$ref" "$T/stall.wav" >"$T/stall.cmp"; then
		ok "libddesnd: an underrun on purpose is reported, counted and recovered; every frame played in order"
	else
		not_ok "libddesnd: an underrun is reported and recovered" \
			"$(cat "$T/stall.out" "$T/stall.cmp" 2>/dev/null | head -c 400)"
	fi
}

# one stream per PCM: a second client is told who has it; kill -9 of a
# driver mid-play: the player gets a clear error at once, sndd and the
# other card stay
sox -n -r 44100 -c 2 -b 16 "$T/long.wav" synth 20 sine 440 vol 0.3 2>/dev/null
machine busy es1370 --sound ac97 && wait_log "$T/busy.log" "card snd1 .*snd1.0 playback" 30 && {
	aplay -D dde:snd0.0 "$T/long.wav" >"$T/first.out" 2>&1 &
	first=$!
	BG_PIDS="$BG_PIDS $first"
	wait_log "$T/busy.log" "snd0.0 playback opened by aplay" 10
	expect "amixer -D dde:snd0 is the ES1370's mixer (AK4531)" 0 "'Mic Boost \(\+30dB\)'" \
		amixer -D dde:snd0 scontrols
	expect "a second client on a busy PCM gets EBUSY and who has it" 1 \
		"in use by aplay \(pid $first\).*|Device or resource busy" aplay -D dde "$(sweep 44100)"
	grep -q "in use by aplay (pid $first)" "$T/out" || not_ok "the busy message names the holder" \
		"$(head -c 300 "$T/out")"
	sleep 0.5
	kill -9 "$(driver_pid "$T/busy.log" "ens1370@00:01.0")"
	t0=$(date +%s%N)
	wait "$first"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc != 0 ] && [ $ms -lt 5000 ] && grep -q "the driver of snd0 .* is gone" "$T/first.out"; then
		ok "kill -9 of the driver mid-play: aplay fails in $ms ms, saying the driver is gone"
	else
		not_ok "kill -9 of the driver: a clear error, not a hang" \
			"status $rc after $ms ms: $(head -c 300 "$T/first.out")"
	fi
	expect "amixer on the dead driver's card: no such card" 1 "has no card snd0" \
		amixer -D dde:snd0 scontrols
	expect "amixer on the other card still works" 0 "'3D Control Sigmatel - Depth'" \
		amixer -D dde:snd1 scontrols
	"$DDE" sound >"$T/after" 2>&1
	if grep -q "^snd1.0 *playback" "$T/after" && ! grep -q "^snd0" "$T/after"; then
		ok "sndd survives the driver: snd0's PCMs are gone, snd1's still served"
	else
		not_ok "sndd survives the driver" "$(head -c 400 "$T/after")"
	fi
	dde_stop "$pid"
}

# capture: what arecord asked for, in that format (QEMU's input side: silence)
for d in "es1370 44100" "ac97 48000" "hda 48000"; do
	set -- $d
	machine "rec-$1" "$1" && {
		timeout 20 arecord -D dde -f S16_LE -c 2 -r "$2" -d 1 "$T/rec-$1.wav" >"$T/rec.out" 2>&1
		rc=$?
		dde_stop "$pid"
		frames=$((($(stat -c %s "$T/rec-$1.wav" 2>/dev/null || echo 0) - 44) / 4))
		if [ $rc = 0 ] && [ $frames = "$2" ] &&
			sox "$T/rec-$1.wav" -n stat 2>&1 | grep -q "Maximum amplitude: *0.000000"; then
			ok "$1: arecord -d 1 returns $frames frames of S16_LE stereo at $2 Hz (silence)"
		else
			not_ok "$1: arecord returns the frames asked for" \
				"status $rc, $frames frames: $(head -c 300 "$T/rec.out")"
		fi
	}
done

# the mixer: amixer -D dde on the driver's own controls. AC97 with QEMU's
# mixing engine on (mix=on), so that the device's volume applies: Linux
# starts with the master muted, the tone comes out once amixer unmutes it
SNDCTL="$O/tests/sound/sndctl"
declare -A peak
sox -n -r 48000 -c 2 -b 16 "$T/tone.wav" synth 1 sine 440 vol 0.5 2>/dev/null
for state in muted unmuted; do
	machine "mix-$state" "ac97,wav=$T/mix-$state.wav,mix=on" || continue
	if [ $state = unmuted ]; then
		amixer -D dde sset Master 100% unmute >"$T/mixer.out" 2>&1 &&
			amixer -D dde sset PCM 100% unmute >>"$T/mixer.out" 2>&1 ||
			not_ok "amixer -D dde sset unmutes Master and PCM" "$(head -c 300 "$T/mixer.out")"
		amixer -D dde cset name='Master Playback Volume' 10,20 >/dev/null 2>&1
		expect "amixer cset, then cget: the driver holds the values set" 0 ": values=10,20" \
			amixer -D dde cget name='Master Playback Volume'
		expect "a value out of the control's range is refused with the range" 1 \
			"'Master Playback Volume': value 64 is not in 0..63" \
			"$SNDCTL" set 'Master Playback Volume' 64 64
		amixer -D dde sset Master 100% >/dev/null 2>&1
		expect "amixer -D dde:snd7 says there is no such card" 1 "has no card snd7" \
			amixer -D dde:snd7 scontrols
	else
		expect "the AC97 master starts muted (Linux's default)" 0 "Playback .*\[off\]" \
			amixer -D dde sget Master
	fi
	aplay -q -D dde "$T/tone.wav" >"$T/mix.aplay" 2>&1
	stop "$T/mix-$state.wav"
	peak[$state]=$(sox "$T/mix-$state.wav" -n stat 2>&1 | sed -n 's/^Maximum amplitude: *//p')
done
if [ "${peak[muted]}" = 0.000000 ] && awk "BEGIN { exit !(${peak[unmuted]:-0} > 0.1) }"; then
	ok "the mixer reaches QEMU's AC97: muted the device plays silence, unmuted by amixer the tone (peak ${peak[unmuted]})"
else
	not_ok "the mixer reaches the device" "peak muted ${peak[muted]:-?}, unmuted ${peak[unmuted]:-?}"
fi

# SIGTERM: Debian's snd-intel8x0's module exit frees the card (which
# waits for every holder of the card's power reference: a mixer request
# must have given its own back, also one refused) and the driver ends
machine term ac97 --driver ko:snd-intel8x0@00:01.0 && {
	"$SNDCTL" set 'Master Playback Volume' 99 99 >/dev/null 2>&1
	kill -TERM "$(driver_pid "$T/term.log" "ko:snd-intel8x0@00:01.0")"
	if wait_log "$T/term.log" "driver ko:snd-intel8x0@00:01.0 exited with status 0" 10; then
		ok "SIGTERM after mixer requests: the module's exit frees the card, the driver ends (status 0)"
	else
		not_ok "the driver stops cleanly after a refused mixer write" \
			"$(grep -v '^ddeio' "$T/term.log" | tail -5)"
	fi
	dde_stop "$pid"
}

# speaker-test, an ALSA program with its own buffer choice
machine speaker hda && {
	expect "speaker-test -D dde -c 2 -t sine plays a loop" 0 "Time per period" \
		timeout 30 speaker-test -D dde -c 2 -t sine -l 1 -r 48000
	dde_stop "$pid"
}

# a module of ALSA's core is the library's, compiled from source: never run twice
KO=$(make -s --no-print-directory O="$O" ko-dir 2>/dev/null)
expect "ko-sound refuses to run a module its library holds from source (snd-pcm)" 1 \
	"holds snd-pcm compiled from source" "$O/drivers/ko-sound" --check "$KO/snd-pcm.ko"

no_leftovers "no QEMU or ddeio left behind"
finish
