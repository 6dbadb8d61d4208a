#!/bin/bash
# `dde nbd` and who it serves: TCP with TLS (NBD_OPT_STARTTLS) against real
# clients — nbdcopy (libnbd) and qemu-img with a PSK (psktool's file) and
# with X.509 certificates made here by certtool — copying partitions out and
# in byte-exact; clients with a wrong key, an unknown user, no client
# certificate, one of an impostor CA, or no TLS at all are refused while
# others are served; plain TCP only with --insecure. The Unix socket: 0600
# and only its owner and root by default; shared with --allow-user/
# --allow-group (0666, every peer checked by its credentials): the user
# nobody is refused with the reason as the option error's text (qemu-img
# prints it; libnbd with LIBNBD_DEBUG=1), or admitted when named. Errors
# are one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"
. "$(dirname "$0")/block_lib.sh"

export PATH="$PATH:/usr/sbin:/sbin"
for tool in sfdisk nbdinfo nbdcopy qemu-img certtool psktool setpriv; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed (make deps)"
		finish
		exit
	fi
done
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	skip "the Unix socket's checks against another user" "not root, or no user nobody"
	AS_ROOT=
else
	AS_ROOT=1
fi
# as_nobody CMD...: CMD as the user nobody (no groups but nogroup)
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }

# start_nbd LOG ARGS...: dde nbd in the background ($nbd), its exports' URIs printed
start_nbd() {
	local log=$1
	shift
	"$DDE" nbd "$@" >"$log" 2>&1 &
	nbd=$!
	BG_PIDS="$BG_PIDS $nbd"
	wait_for "^dde nbd: .* at nbd" 10 "$log" || not_ok "dde nbd $* starts" "$(cat "$log")"
}
stop_nbd() {
	kill -INT $nbd 2>/dev/null
	wait $nbd 2>/dev/null
}
# uri_of LOG EXPORT: the URI dde nbd printed for EXPORT; port_of URI: its port
uri_of() { sed -n "s/^dde nbd: $2 .* at //p" "$1"; }
port_of() { local p=${1##*:}; echo "${p%%/*}"; }
# qnbd EXPORT: qemu's NBD options for EXPORT on $port, with the credentials tls0
qnbd() { echo "driver=nbd,host=127.0.0.1,port=$port,export=$1,tls-creds=tls0"; }

# copies_out KIND URI LOG LOG-LINE QEMU-OBJECT...: through TLS, nbdcopy (URI)
# and qemu-img convert and compare (with QEMU-OBJECT as tls0) read
# nvme0n1p1 byte-exact, and the server's LOG names the client (LOG-LINE)
copies_out() {
	local kind=$1 uri=$2 log=$3 line=$4
	shift 4
	nbdcopy "$uri" "$T/p1.$kind" 2>"$T/err" && cmp -s "$T/p1.$kind" "$T/p1.img" &&
		ok "$kind: nbdcopy copies nvme0n1p1 out byte-exact" ||
		not_ok "$kind: nbdcopy out" "$(cat "$T/err")"
	grep -qF "$line" "$log" && ok "$kind: the server logs the client ($line)" ||
		not_ok "$kind: the client logged" "$(cat "$log")"
	qemu-img convert "$@" --image-opts "$(qnbd nvme0n1p1)" -O raw "$T/p1.q$kind" 2>"$T/err" &&
		cmp -s "$T/p1.q$kind" "$T/p1.img" &&
		ok "$kind: qemu-img convert (${2%%,*}) copies nvme0n1p1 out byte-exact" ||
		not_ok "$kind: qemu-img convert" "$(cat "$T/err")"
	expect "$kind: qemu-img compare finds nvme0n1p1 identical to the image's bytes" 0 "identical" \
		qemu-img compare "$@" --image-opts "$(qnbd nvme0n1p1)" \
		"driver=raw,file.driver=file,file.filename=$T/p1.img"
}

M="$T/mbr.img"
mbr_image "$M"
before_p6=$(sha "$M" 34816 4096)
# nvme0n1p1 as a file, for cmp and qemu-img compare
dd if="$M" of="$T/p1.img" bs=512 skip=2048 count=20480 status=none

export DDE_BLK="@dde-test-nbd-tls-$$"
dde_bg "$T/run.log" --machine q35 --disk "nvme:$M" --blk-socket "$DDE_BLK"
run=$bg
if ! wait_for "bddf:   nvme0n1p6" 150 "$T/run.log"; then
	not_ok "the disk at bddf" "$(tail -5 "$T/run.log")"
	finish
	exit
fi

# --- credentials -------------------------------------------------------------
mkdir -p "$T/psk" "$T/ca" "$T/srv" "$T/cli" "$T/cli-ca-only" "$T/cli-other"
psktool -u alice -p "$T/psk/keys.psk" >/dev/null
psktool -u alice -p "$T/wrong.psk" >/dev/null	# alice, another key
mkdir -p "$T/pskwrong"
cp "$T/wrong.psk" "$T/pskwrong/keys.psk"
psktool -u bob -p "$T/bob.psk" >/dev/null	# a user the server does not know
grep -q '^alice:[0-9a-f]\{64\}$' "$T/psk/keys.psk" || not_ok "psktool wrote a key" "$(cat "$T/psk/keys.psk")"

# cert CN TEMPLATE-LINES CA-DIR OUT-PREFIX: a key and a certificate signed by CA-DIR's CA
cert() {
	printf 'cn = %s\nexpiration_days = 2\n%s\n' "$1" "$2" >"$T/ca/$1.info"
	certtool --generate-privkey --outfile "$4-key.pem" >/dev/null 2>&1 &&
		certtool --generate-certificate --load-ca-certificate "$3/ca-cert.pem" \
			--load-ca-privkey "$3/ca-key.pem" --load-privkey "$4-key.pem" \
			--template "$T/ca/$1.info" --outfile "$4-cert.pem" >/dev/null 2>&1 ||
		not_ok "certtool makes $1's certificate"
}
# ca DIR CN: a self-signed CA in DIR
ca() {
	mkdir -p "$1"
	printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 2\n' "$2" >"$1/ca.info"
	certtool --generate-privkey --outfile "$1/ca-key.pem" >/dev/null 2>&1 &&
		certtool --generate-self-signed --load-privkey "$1/ca-key.pem" --template "$1/ca.info" \
			--outfile "$1/ca-cert.pem" >/dev/null 2>&1 || not_ok "certtool makes the CA $2"
}
ca "$T/ca" "dde test CA"
ca "$T/ca2" "dde test CA"	# an impostor: another key, the same name
cert localhost "$(printf 'dns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nsigning_key\nencryption_key')" \
	"$T/ca" "$T/srv/server"
cert "dde test client" "$(printf 'tls_www_client\nsigning_key\nencryption_key')" "$T/ca" "$T/cli/client"
cert "stranger" "$(printf 'tls_www_client\nsigning_key\nencryption_key')" "$T/ca2" "$T/cli-other/client"
for d in srv cli cli-ca-only cli-other; do cp "$T/ca/ca-cert.pem" "$T/$d/"; done

# --- mistakes: one line, status 2 --------------------------------------------
one_line "--port without TLS or --insecure is refused" "$DDE" nbd --export nvme0n1p1 --port 0
grep -q -- "--tls-psk FILE or --tls-certificates DIR (or --insecure" "$T/out" &&
	ok "... and the line names the options" || not_ok "the refusal names the options" "$(cat "$T/out")"
one_line "--insecure with a Unix socket is refused" "$DDE" nbd --export nvme0n1p1 --insecure
one_line "--insecure with TLS is refused" "$DDE" nbd --export nvme0n1p1 --port 0 --insecure \
	--tls-psk "$T/psk/keys.psk"
one_line "--tls-psk and --tls-certificates together are refused" "$DDE" nbd --export nvme0n1p1 \
	--port 0 --tls-psk "$T/psk/keys.psk" --tls-certificates "$T/srv"
one_line "a PSK file that is not there" "$DDE" nbd --export nvme0n1p1 --port 0 --tls-psk "$T/none.psk"
printf 'alice 1234\n' >"$T/bad.psk"
one_line "a PSK file not in psktool's format" "$DDE" nbd --export nvme0n1p1 --port 0 --tls-psk "$T/bad.psk"
grep -q "line 1: not USER:HEXKEY" "$T/out" && ok "... which names the line" || not_ok "bad PSK line" "$(cat "$T/out")"
one_line "a certificate directory without the server's key" "$DDE" nbd --export nvme0n1p1 \
	--port 0 --tls-certificates "$T/cli"
grep -q "server-cert.pem" "$T/out" && ok "... which names the file" || not_ok "missing cert file" "$(cat "$T/out")"
one_line "--allow-user of a user that does not exist" "$DDE" nbd --export nvme0n1p1 \
	--allow-user no-such-user-here
one_line "--allow-user with --port is refused" "$DDE" nbd --export nvme0n1p1 --port 0 \
	--tls-psk "$T/psk/keys.psk" --allow-user 0

# --- TLS with a PSK -----------------------------------------------------------
start_nbd "$T/psk.log" --export nvme0n1p1 --export nvme0n1p5 --port 0 --tls-psk "$T/psk/keys.psk"
U1=$(uri_of "$T/psk.log" nvme0n1p1)
case "$U1" in
nbds://127.0.0.1:*/nvme0n1p1) ok "--tls-psk: the URI printed is nbds:// ($U1)" ;;
*) not_ok "nbds URI" "$(cat "$T/psk.log")" ;;
esac
port=$(port_of "$U1")
PSK="tls-psk-file=$T/psk/keys.psk"
psk_uri() { echo "nbds://${3:-alice}@127.0.0.1:$port/$1?tls-psk-file=$2"; }
QPSK=(--object "tls-creds-psk,id=tls0,endpoint=client,dir=$T/psk,username=alice")
copies_out PSK "$(psk_uri nvme0n1p1 "$T/psk/keys.psk")" "$T/psk.log" \
	"serving nvme0n1p1 over TLS, PSK user alice" "${QPSK[@]}"

# in through TLS: nbdcopy with 4 connections, back through qemu-img
head -c $((8192 * 512)) /dev/urandom >"$T/p5.in"
nbdcopy --connections=4 "$T/p5.in" "$(psk_uri nvme0n1p5 "$T/psk/keys.psk")" 2>"$T/err" &&
	ok "PSK: nbdcopy (4 connections) writes nvme0n1p5" || not_ok "PSK nbdcopy in" "$(cat "$T/err")"
expect "PSK: qemu-img compare reads back what was written" 0 "identical" \
	qemu-img compare "${QPSK[@]}" --image-opts "$(qnbd nvme0n1p5)" \
	"driver=raw,file.driver=file,file.filename=$T/p5.in"

# refused: a wrong key, an unknown user, no TLS; one line each at the server
n0=$(grep -c "TLS handshake failed" "$T/psk.log")
expect "PSK: a wrong key is refused" 1 "." nbdinfo --size "$(psk_uri nvme0n1p1 "$T/wrong.psk")"
[ "$(grep -c "TLS handshake failed (a wrong key" "$T/psk.log")" = $((n0 + 1)) ] &&
	ok "... and the server says so in one line" || not_ok "wrong key logged once" "$(tail -3 "$T/psk.log")"
expect "PSK: an unknown user is refused" 1 "." nbdinfo --size "$(psk_uri nvme0n1p1 "$T/bob.psk" bob)"
expect "PSK: qemu-img with a wrong key is refused" 1 "." qemu-img info \
	--object "tls-creds-psk,id=tls0,endpoint=client,dir=$T/pskwrong,username=alice" \
	--image-opts "$(qnbd nvme0n1p1)"
expect "no TLS: a plain nbd:// client is refused (TLS required)" 1 "TLS" \
	nbdinfo --size "nbd://127.0.0.1:$port/nvme0n1p1"
grep -q "refused: the client did not start TLS" "$T/psk.log" &&
	ok "... and the server says so" || not_ok "no-TLS refusal logged" "$(tail -3 "$T/psk.log")"
expect "no TLS: qemu-img without tls-creds is refused" 1 "." \
	qemu-img info "nbd://127.0.0.1:$port/nvme0n1p1"
kill -0 $nbd 2>/dev/null &&
	expect "after the refusals the server still serves" 0 "^$((20480 * 512))$" \
		nbdinfo --size "$(psk_uri nvme0n1p1 "$T/psk/keys.psk")" ||
	not_ok "the PSK server still runs" "$(tail -5 "$T/psk.log")"
expect "TLS over the port: the export list" 0 "nvme0n1p5" \
	nbdinfo --list "$(psk_uri "" "$T/psk/keys.psk")"
stop_nbd

# a directory holding keys.psk, as qemu's tls-creds-psk takes it
start_nbd "$T/pskdir.log" --export nvme0n1p6 --port 0 --tls-psk "$T/psk"
port=$(port_of "$(uri_of "$T/pskdir.log" nvme0n1p6)")
expect "--tls-psk DIR reads DIR/keys.psk" 0 "^$((4096 * 512))$" \
	nbdinfo --size "$(psk_uri nvme0n1p6 "$T/psk/keys.psk")"
stop_nbd

# --- TLS with X.509 certificates ----------------------------------------------
start_nbd "$T/x509.log" --export nvme0n1p1 --port 0 --tls-certificates "$T/srv"
port=$(port_of "$(uri_of "$T/x509.log" nvme0n1p1)")
x509_uri() { echo "nbds://127.0.0.1:$port/nvme0n1p1?tls-certificates=$1"; }
QX=(--object "tls-creds-x509,id=tls0,endpoint=client,dir=$T/cli")
copies_out X.509 "$(x509_uri "$T/cli")" "$T/x509.log" \
	"serving nvme0n1p1 over TLS, X.509 CN=dde test client" "${QX[@]}"
expect "X.509: a client without a certificate of its own is refused" 1 "." \
	nbdinfo --size "$(x509_uri "$T/cli-ca-only")"
grep -q "the client showed no certificate" "$T/x509.log" &&
	ok "... and the server says why" || not_ok "no client cert logged" "$(tail -3 "$T/x509.log")"
expect "X.509: a client certificate of an impostor CA (same name) is refused" 1 "." \
	nbdinfo --size "$(x509_uri "$T/cli-other")"
grep -q "the client's certificate is refused" "$T/x509.log" &&
	ok "... and the server says why" || not_ok "foreign cert logged" "$(tail -3 "$T/x509.log")"
expect "X.509: a client that does not trust the server's CA gives up" 1 "." \
	nbdinfo --size "nbds://127.0.0.1:$port/nvme0n1p1?tls-certificates=$T/ca2"
expect "X.509: a PSK client is refused" 1 "." nbdinfo --size "$(psk_uri nvme0n1p1 "$T/psk/keys.psk")"
expect "X.509: after the refusals the server still serves" 0 "^$((20480 * 512))$" \
	nbdinfo --size "$(x509_uri "$T/cli")"
stop_nbd

# --- plain TCP, deliberately --------------------------------------------------
start_nbd "$T/plain.log" --export nvme0n1p6 --port 0 --insecure --read-only
UP=$(uri_of "$T/plain.log" nvme0n1p6)
grep -q "warning: --insecure: no TLS, no authentication" "$T/plain.log" &&
	ok "--insecure warns" || not_ok "--insecure warning" "$(cat "$T/plain.log")"
nbdcopy "$UP" "$T/p6.plain" 2>"$T/err" && [ "$(shaf "$T/p6.plain")" = "$before_p6" ] &&
	ok "--insecure: plain nbdcopy copies nvme0n1p6 ($UP)" || not_ok "--insecure nbdcopy" "$(cat "$T/err")"
stop_nbd

# --- the Unix socket: its owner and root, or whom --allow-* names ------------------
S="$T/u.sock"
U6="nbd+unix:///nvme0n1p6?socket=$S"
# the socket's directory must let nobody through to reach the socket at all
chmod 711 "$T"
start_nbd "$T/u.log" --export nvme0n1p6 --socket "$S"
[ "$(stat -c %a "$S")" = 600 ] && ok "the socket is 0600 by default" ||
	not_ok "socket mode" "$(stat -c %a "$S")"
expect "its owner (root) is served" 0 "^$((4096 * 512))$" nbdinfo --size "$U6"
if [ -n "$AS_ROOT" ]; then
	expect "nobody cannot even connect to a 0600 socket" 1 "Permission denied" \
		as_nobody nbdinfo --size "$U6"
fi
stop_nbd

if [ -n "$AS_ROOT" ]; then
	# shared with another user (daemon): the socket is open, the credentials decide
	start_nbd "$T/u.log" --export nvme0n1p6 --socket "$S" --allow-user daemon
	[ "$(stat -c %a "$S")" = 666 ] && ok "with --allow-user the socket is 0666" ||
		not_ok "shared socket mode" "$(stat -c %a "$S")"
	# libnbd 1.14 prints the server's text in its debug output only
	expect "nobody is refused: nbdinfo says the server's policy prevents it" 1 \
		"nbdinfo: .*server policy prevents NBD_OPT_GO" \
		as_nobody env LIBNBD_DEBUG=1 nbdinfo --size "$U6"
	grep -Eq "server error message: access denied to uid [0-9]+ \(nobody\)" "$T/out" &&
		ok "... and LIBNBD_DEBUG=1 shows the server's reason" ||
		not_ok "the reason at the client" "$(grep "error message" "$T/out")"
	[ "$(grep -c "access denied to uid [0-9]* (nobody)" "$T/u.log")" = 1 ] &&
		ok "... and the server logs it once" || not_ok "refusal logged once" "$(cat "$T/u.log")"
	if head -c $((4096 * 512)) /dev/zero | as_nobody nbdcopy - "$U6" >"$T/out" 2>&1; then
		not_ok "nobody's write is refused" "$(cat "$T/out")"
	else
		ok "nobody's write (nbdcopy) is refused"
	fi
	expect "qemu-img as nobody is refused, and shows the server's reason" 1 \
		"server reported: access denied to uid [0-9]+ \(nobody\)" as_nobody qemu-img info "$U6"
	expect "root still is served" 0 "^$((4096 * 512))$" nbdinfo --size "$U6"
	stop_nbd

	start_nbd "$T/u.log" --export nvme0n1p6 --socket "$S" --allow-user nobody
	expect "--allow-user nobody: nobody is served" 0 "^$((4096 * 512))$" \
		as_nobody nbdinfo --size "$U6"
	[ "$(as_nobody nbdcopy "$U6" - | sha256sum | cut -d' ' -f1)" = "$before_p6" ] &&
		ok "... and nobody's nbdcopy reads nvme0n1p6 byte-exact" || not_ok "nobody reads"
	stop_nbd
	start_nbd "$T/u.log" --export nvme0n1p6 --socket "$S" --allow-group "$(id -gn nobody)"
	expect "--allow-group $(id -gn nobody): nobody is served" 0 "^$((4096 * 512))$" \
		as_nobody nbdinfo --size "$U6"
	stop_nbd
fi

# TLS over the Unix socket
start_nbd "$T/ut.log" --export nvme0n1p6 --socket "$S" --tls-psk "$T/psk/keys.psk"
grep -q "at nbds+unix:///nvme0n1p6?socket=$S" "$T/ut.log" &&
	ok "--tls-psk with --socket: an nbds+unix URI" || not_ok "nbds+unix URI" "$(cat "$T/ut.log")"
expect "TLS over the Unix socket: nbdinfo with the key" 0 "^$((4096 * 512))$" \
	nbdinfo --size "nbds+unix://alice@/nvme0n1p6?socket=$S&$PSK"
expect "TLS over the Unix socket: a plain client is refused" 1 "TLS" nbdinfo --size "$U6"
stop_nbd
[ -e "$S" ] && not_ok "the socket is removed" || ok "the socket is removed when dde nbd stops"

dde_stop $run

# after QEMU exits: the TLS write is in the image, the refused one left nothing
[ "$(sha "$M" 24576 8192)" = "$(shaf "$T/p5.in")" ] &&
	ok "nvme0n1p5 in the image holds what nbdcopy wrote through TLS" || not_ok "image holds the TLS write"
[ "$(sha "$M" 34816 4096)" = "$before_p6" ] &&
	ok "nvme0n1p6 is unchanged (nobody's write was refused)" || not_ok "nvme0n1p6 changed"
[ "$(sha "$M" 2048 20480)" = "$(shaf "$T/p1.img")" ] &&
	ok "nvme0n1p1 is unchanged" || not_ok "nvme0n1p1 changed"
no_leftovers "no QEMU, ddeio, drivers or bddf left"
finish
