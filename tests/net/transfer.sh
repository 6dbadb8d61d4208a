# Sourced by tests/net/*.sh: report a TCP transfer.
# report_transfer SENT-FILE RECEIVED-FILE T0-NS T1-NS [NOTE]: prints
# "tcp: N of M bytes in X ms, Y Mbit/s [NOTE]" and "sha256: match" (or
# MISMATCH); true if the received file equals the sent one.
report_transfer() {
	local want=$1 got=$2 ns=$(($4 - $3)) bytes
	bytes=$(stat -c %s "$got" 2>/dev/null || echo 0)
	echo "tcp: $bytes of $(stat -c %s "$want") bytes in $((ns / 1000000)) ms," \
		"$(awk -v b="$bytes" -v ns="$ns" 'BEGIN { printf "%.1f", b * 8000 / ns }') Mbit/s${5:+ ($5)}"
	if cmp -s "$want" "$got"; then
		echo "sha256: match ($(sha256sum <"$got" | cut -c1-16)...)"
	else
		echo "sha256: MISMATCH"
		return 1
	fi
}
