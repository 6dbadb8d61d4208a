#!/bin/bash
# make fuzz, briefly: libFuzzer on the module reader and loader (under ASan
# and UBSan) from the committed corpus, our seed module and Debian's
# modules; any crash, leak or undefined behaviour fails. make fuzz runs it
# longer (FUZZ_SECONDS, default 300).
. "$(dirname "$0")/lib.sh"

make -s --no-print-directory O="$O" fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-20} >"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 0 ] && grep -q "^fuzz: no crash" "$T/out"; then
	ok "libFuzzer finds no crash, leak or undefined behaviour in ko_parse + ko_load"
else
	not_ok "fuzzing the module reader and loader" "$(tail -5 "$T/out")"
fi
# the corpus replays cleanly (among it, what fuzzing found before)
n=$(ls tests/fuzz/corpus | wc -l)
if "$O/fuzz/fuzz_ko" -runs=0 tests/fuzz/corpus >"$T/replay" 2>&1; then
	ok "the committed corpus ($n inputs) replays without a finding"
else
	not_ok "the committed corpus replays" "$(grep -E 'ERROR|SUMMARY' "$T/replay" | head -3)"
fi
finish
