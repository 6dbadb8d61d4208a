/*
 * dde nbd's transport (nbd/transport.c): a connection's bytes go through
 * the plain socket or, after NBD_OPT_STARTTLS, through a TLS session
 * (GnuTLS) over it; and the server's TLS credentials, from --tls-psk or
 * --tls-certificates, loaded once and shared by every connection.
 */
#ifndef NBD_TRANSPORT_H
#define NBD_TRANSPORT_H

#include <stddef.h>
#include <sys/uio.h>

struct gnutls_session_int;

struct nbd_transport {
	int fd;
	struct gnutls_session_int *tls;	/* NULL while plain */
	char *rec;			/* TLS: the record being gathered */
	size_t nrec;
};

/*
 * The credentials: a PSK file in psktool's format (USER:HEXKEY lines; a
 * directory means its keys.psk, as qemu's tls-creds-psk reads it) or an
 * X.509 directory (ca-cert.pem, server-cert.pem, server-key.pem, optionally
 * ca-crl.pem: qemu's tls-creds-x509 layout). At most one of the two.
 * 0, or -1 with one line for the user in @err.
 */
int nbd_tls_load(const char *psk, const char *cert_dir, char *err, size_t cap);
void nbd_tls_unload(void);
/* "PSK" or "X.509", NULL without TLS */
const char *nbd_tls_kind(void);

/* Reads exactly @len bytes: 0, or -1 at the end or an error. */
int nbd_transport_read(struct nbd_transport *t, void *buf, size_t len);
/* Sends all of @iov (which it consumes): 0 or -1. */
int nbd_transport_send(struct nbd_transport *t, struct iovec *iov, int n);
/* Bytes already decrypted and waiting: poll() on the socket would not see them. */
int nbd_transport_pending(const struct nbd_transport *t);
/*
 * The TLS handshake, the server's side. 0: from now on the connection is
 * TLS and @who names the client's credentials ("PSK alice"); -1: @why says
 * why the client was refused, in one line.
 */
int nbd_transport_start_tls(struct nbd_transport *t, char *who, size_t wcap,
			    char *why, size_t ycap);
/* Ends TLS (a close_notify unless @dead) and closes the socket. */
void nbd_transport_close(struct nbd_transport *t, int dead);

#endif
