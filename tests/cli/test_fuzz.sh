#!/bin/bash
# make fuzz, briefly: libFuzzer on the module reader and loader and on the
# UEFI image reader and loader (under ASan and UBSan) from the committed
# corpora, our seeds, Debian's modules and UEFI drivers; any crash, leak
# or undefined behaviour fails. make fuzz runs it
# longer (FUZZ_SECONDS, default 300).
. "$(dirname "$0")/lib.sh"

make -s --no-print-directory O="$O" fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-20} >"$T/out" 2>&1
rc=$?
sed 's/^/    /' "$T/out"
if [ $rc = 0 ] && grep -q "^fuzz: no crash.* in ko_parse" "$T/out" &&
	grep -q "^fuzz: no crash.* in efi_pe_parse" "$T/out"; then
	ok "libFuzzer finds no crash, leak or undefined behaviour in ko_parse + ko_load, efi_pe_parse + efi_pe_load + efi_rom_find"
else
	not_ok "fuzzing the module and UEFI image readers and loaders" "$(tail -5 "$T/out")"
fi
# the corpus replays cleanly (among it, what fuzzing found before)
n=$(ls tests/fuzz/corpus | wc -l)
if "$O/fuzz/fuzz_ko" -runs=0 tests/fuzz/corpus >"$T/replay" 2>&1; then
	ok "the committed corpus ($n inputs) replays without a finding"
else
	not_ok "the committed corpus replays" "$(grep -E 'ERROR|SUMMARY' "$T/replay" | head -3)"
fi
n=$(ls tests/fuzz/corpus_pe | wc -l)
if "$O/fuzz/fuzz_pe" -runs=0 tests/fuzz/corpus_pe >"$T/replay" 2>&1; then
	ok "the committed UEFI image corpus ($n inputs) replays without a finding"
else
	not_ok "the committed UEFI image corpus replays" "$(grep -E 'ERROR|SUMMARY' "$T/replay" | head -3)"
fi
finish
