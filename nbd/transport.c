/*
 * dde nbd's transport (nbd/transport.h): whole reads and writes over a
 * connection's plain socket or its TLS session, the server's side of the
 * TLS handshake, and the credentials it uses (GnuTLS).
 *
 * The credentials are the ones nbdkit and qemu-nbd take: a PSK file as
 * psktool writes it, or X.509 files in qemu's tls-creds-x509 layout. With
 * X.509 the client must show a certificate signed by the same CA (as
 * qemu-nbd's default verify-peer=on): otherwise anyone who can reach the
 * port would be served, encrypted but unauthenticated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "transport.h"

/* a TLS record's largest payload: replies are gathered into records this big */
#define TLS_RECORD 16384
/* a client that stalls mid-handshake loses its connection after this */
#define TLS_HANDSHAKE_MS 30000

static struct {
	gnutls_psk_server_credentials_t psk;
	gnutls_certificate_credentials_t x509;
	gnutls_priority_t priority;
	char source[4096];		/* the PSK file or the X.509 directory */
} tls;

/* --- credentials ------------------------------------------------------------ */

/*
 * GnuTLS reads the PSK file at each handshake (so keys can be added while
 * serving); this reads it once first, so that a wrong path or a damaged
 * file is an error at the start and not a refused client later.
 */
static int psk_file_check(const char *file, char *err, size_t cap)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t n = 0;
	unsigned lineno = 0, keys = 0;
	struct stat st;
	ssize_t len;
	int bad = 0;

	if (!f) {
		snprintf(err, cap, "--tls-psk %s: %s (psktool -u USER -p %s makes one)", file,
			 strerror(errno), file);
		return -1;
	}
	while (!bad && (len = getline(&line, &n, f)) >= 0) {
		char *colon;
		size_t hex;

		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len)
			continue;
		colon = strchr(line, ':');
		hex = colon ? strlen(colon + 1) : 0;
		if (!colon || colon == line || !hex || hex % 2 ||
		    strspn(colon + 1, "0123456789abcdefABCDEF") != hex)
			bad = 1;
		else
			keys++;
	}
	free(line);
	if (!bad && !keys)
		snprintf(err, cap, "--tls-psk %s: no keys in it (psktool -u USER -p %s adds one)",
			 file, file);
	else if (bad)
		snprintf(err, cap, "--tls-psk %s, line %u: not USER:HEXKEY as psktool writes it",
			 file, lineno);
	else if (!fstat(fileno(f), &st) && (st.st_mode & S_IROTH))
		fprintf(stderr, "dde nbd: warning: every user can read the keys in %s "
			"(chmod 600 %s)\n", file, file);
	fclose(f);
	return bad || !keys ? -1 : 0;
}

static int load_psk(const char *arg, char *err, size_t cap)
{
	struct stat st;
	int r;

	/* qemu's tls-creds-psk takes the directory holding keys.psk: so do we */
	if (!stat(arg, &st) && S_ISDIR(st.st_mode))
		snprintf(tls.source, sizeof(tls.source), "%s/keys.psk", arg);
	else
		snprintf(tls.source, sizeof(tls.source), "%s", arg);
	if (psk_file_check(tls.source, err, cap))
		return -1;
	r = gnutls_psk_allocate_server_credentials(&tls.psk);
	if (!r)
		r = gnutls_psk_set_server_credentials_file(tls.psk, tls.source);
	if (!r)
		r = gnutls_psk_set_server_known_dh_params(tls.psk, GNUTLS_SEC_PARAM_MEDIUM);
	if (!r)
		/* PSK key exchanges are not in NORMAL; these are nbdkit's, libnbd's and qemu's */
		r = gnutls_priority_init(&tls.priority, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL);
	if (r) {
		snprintf(err, cap, "--tls-psk %s: %s", tls.source, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static int load_x509(const char *dir, char *err, size_t cap)
{
	static const char *const need[] = { "ca-cert.pem", "server-cert.pem", "server-key.pem" };
	char ca[4096], cert[4096], key[4096], crl[4096];
	const char *failed = NULL;
	int r;

	/* a missing file named with its errno, before GnuTLS's vaguer words */
	snprintf(tls.source, sizeof(tls.source), "%s", dir);
	for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, need[i]);
		if (access(path, R_OK)) {
			snprintf(err, cap, "--tls-certificates %s: %s: %s (the directory holds "
				 "ca-cert.pem, server-cert.pem and server-key.pem)", dir, need[i],
				 strerror(errno));
			return -1;
		}
	}
	snprintf(ca, sizeof(ca), "%s/ca-cert.pem", dir);
	snprintf(cert, sizeof(cert), "%s/server-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/server-key.pem", dir);
	snprintf(crl, sizeof(crl), "%s/ca-crl.pem", dir);
	r = gnutls_certificate_allocate_credentials(&tls.x509);
	if (!r) {
		failed = "ca-cert.pem";
		r = gnutls_certificate_set_x509_trust_file(tls.x509, ca, GNUTLS_X509_FMT_PEM);
		if (r == 0)
			r = GNUTLS_E_NO_CERTIFICATE_FOUND;
	}
	if (r >= 0 && !access(crl, F_OK)) {
		failed = "ca-crl.pem";
		r = gnutls_certificate_set_x509_crl_file(tls.x509, crl, GNUTLS_X509_FMT_PEM);
	}
	if (r >= 0) {
		failed = "server-cert.pem and server-key.pem";
		r = gnutls_certificate_set_x509_key_file(tls.x509, cert, key, GNUTLS_X509_FMT_PEM);
	}
	if (r >= 0) {
		failed = NULL;
		r = gnutls_certificate_set_known_dh_params(tls.x509, GNUTLS_SEC_PARAM_MEDIUM);
	}
	if (r >= 0)
		r = gnutls_priority_init(&tls.priority, "NORMAL", NULL);
	if (r < 0) {
		snprintf(err, cap, "--tls-certificates %s%s%s: %s", dir, failed ? ": " : "",
			 failed ? failed : "", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

int nbd_tls_load(const char *psk, const char *cert_dir, char *err, size_t cap)
{
	int r;

	if (psk && cert_dir) {
		snprintf(err, cap, "--tls-psk or --tls-certificates, not both");
		return -1;
	}
	if (!psk && !cert_dir)
		return 0;
	r = psk ? load_psk(psk, err, cap) : load_x509(cert_dir, err, cap);
	if (r)
		nbd_tls_unload();
	return r;
}

void nbd_tls_unload(void)
{
	if (tls.psk)
		gnutls_psk_free_server_credentials(tls.psk);
	if (tls.x509)
		gnutls_certificate_free_credentials(tls.x509);
	if (tls.priority)
		gnutls_priority_deinit(tls.priority);
	memset(&tls, 0, sizeof(tls));
}

const char *nbd_tls_kind(void)
{
	return tls.psk ? "PSK" : tls.x509 ? "X.509" : NULL;
}

/* --- the handshake ---------------------------------------------------------- */

/* the client's certificate's common name, or its whole DN */
static void peer_name(gnutls_session_t s, char *out, size_t cap)
{
	const gnutls_datum_t *certs;
	unsigned n = 0;
	gnutls_x509_crt_t crt;
	char cn[256];
	size_t len = sizeof(cn);

	snprintf(out, cap, "X.509");
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt))
		return;
	if (!gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) &&
	    !gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len))
		snprintf(out, cap, "X.509 CN=%s", cn);
	gnutls_x509_crt_deinit(crt);
}

/* why a handshake failed, in words the user can act on */
static void handshake_error(gnutls_session_t s, int r, char *why, size_t cap)
{
	gnutls_datum_t text = { NULL, 0 };

	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
	    !gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(s),
							  GNUTLS_CRT_X509, &text, 0)) {
		snprintf(why, cap, "TLS: the client's certificate is refused: %s", text.data);
		gnutls_free(text.data);
	} else if ((r == GNUTLS_E_CERTIFICATE_REQUIRED || r == GNUTLS_E_NO_CERTIFICATE_FOUND) &&
		   tls.x509) {
		snprintf(why, cap, "TLS: the client showed no certificate (one signed by "
			 "%s/ca-cert.pem is required)", tls.source);
	} else if (tls.psk) {
		/* TLS 1.3 names no user when the key is wrong */
		snprintf(why, cap, "TLS handshake failed (a wrong key, or a user not in %s?): %s",
			 tls.source, gnutls_strerror(r));
	} else {
		snprintf(why, cap, "TLS handshake failed: %s", gnutls_strerror(r));
	}
}

int nbd_transport_start_tls(struct nbd_transport *t, char *who, size_t wcap,
			    char *why, size_t ycap)
{
	gnutls_session_t s;
	int r;

	t->rec = malloc(TLS_RECORD);
	r = t->rec ? gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) : GNUTLS_E_MEMORY_ERROR;
	if (r) {
		snprintf(why, ycap, "TLS: %s", gnutls_strerror(r));
		return -1;
	}
	gnutls_priority_set(s, tls.priority);
	if (tls.psk) {
		gnutls_credentials_set(s, GNUTLS_CRD_PSK, tls.psk);
	} else {
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, tls.x509);
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_cert(s, NULL, 0);
	}
	gnutls_transport_set_int(s, t->fd);
	gnutls_handshake_set_timeout(s, TLS_HANDSHAKE_MS);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		handshake_error(s, r, why, ycap);
		/* the client hears why rather than a connection cut short */
		gnutls_alert_send_appropriate(s, r);
		gnutls_deinit(s);
		return -1;
	}
	t->tls = s;
	if (tls.psk)
		snprintf(who, wcap, "PSK user %s", gnutls_psk_server_get_username(s));
	else
		peer_name(s, who, wcap);
	return 0;
}

/* --- reads and writes ------------------------------------------------------- */

int nbd_transport_read(struct nbd_transport *t, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r;

		if (t->tls) {
			r = gnutls_record_recv(t->tls, p, len);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
		} else {
			r = recv(t->fd, p, len, 0);
			if (r < 0 && errno == EINTR)
				continue;
		}
		if (r <= 0)
			return -1;	/* the end, an error, or a TLS alert */
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int send_plain(struct nbd_transport *t, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (m.msg_iovlen) {
		ssize_t r = sendmsg(t->fd, &m, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		while (m.msg_iovlen && (size_t)r >= m.msg_iov->iov_len) {
			r -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + r;
			m.msg_iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int flush_record(struct nbd_transport *t)
{
	size_t off = 0;

	while (off < t->nrec) {
		/* after AGAIN/INTERRUPTED GnuTLS wants the same call again */
		ssize_t r = gnutls_record_send(t->tls, t->rec + off, t->nrec - off);

		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0) {
			t->nrec = 0;
			return -1;
		}
		off += (size_t)r;
	}
	t->nrec = 0;
	return 0;
}

/*
 * TLS: the pieces are gathered into full records, so that a reply's
 * 16-byte header does not go as a record (and a packet) of its own.
 */
static int send_tls(struct nbd_transport *t, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		while (len) {
			size_t k = TLS_RECORD - t->nrec < len ? TLS_RECORD - t->nrec : len;

			memcpy(t->rec + t->nrec, p, k);
			t->nrec += k;
			p += k;
			len -= k;
			if (t->nrec == TLS_RECORD && flush_record(t))
				return -1;
		}
	}
	return flush_record(t);
}

int nbd_transport_send(struct nbd_transport *t, struct iovec *iov, int n)
{
	return t->tls ? send_tls(t, iov, n) : send_plain(t, iov, n);
}

int nbd_transport_pending(const struct nbd_transport *t)
{
	return t->tls && gnutls_record_check_pending(t->tls) > 0;
}

void nbd_transport_close(struct nbd_transport *t, int dead)
{
	if (t->tls) {
		if (!dead)
			gnutls_bye(t->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(t->tls);
		t->tls = NULL;
	}
	free(t->rec);
	t->rec = NULL;
	close(t->fd);
	t->fd = -1;
}
