/*
 * The Unix SOCK_SEQPACKET sockets of the class servers' control channels
 * (netd, bddf and their libraries): "@name" is the abstract namespace,
 * "fd:N" a socket already connected and inherited (what `dde run` hands
 * its drivers, which may not connect anywhere), anything else a path.
 */
#ifndef COMMON_SEQPACKET_H
#define COMMON_SEQPACKET_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

/*
 * "fd:N": N if it is an open socket, -EBADF if not; -ENOENT for any other
 * address (connect to it instead).
 */
static inline int seqpacket_fd_address(const char *addr)
{
	struct stat st;
	char *end;
	long fd;

	if (!addr || addr[0] != 'f' || addr[1] != 'd' || addr[2] != ':')
		return -ENOENT;
	fd = strtol(addr + 3, &end, 10);
	if (end == addr + 3 || *end || fd < 0 || fd > 65535 || fstat((int)fd, &st) ||
	    !S_ISSOCK(st.st_mode))
		return -EBADF;
	return (int)fd;
}

/*
 * Descriptor passing, the one place it is written (SCM_RIGHTS), for these
 * sockets and ddeio's. fds_attach: put NFDS descriptors into H's control
 * data in CBUF (CAP bytes: CMSG_SPACE(NFDS * sizeof(int)) at least);
 * nothing for NFDS 0; -EINVAL if they do not fit.
 */
int fds_attach(struct msghdr *h, void *cbuf, size_t cap, const int *fds, int nfds);
/* fds_take: the descriptors a received H carried, up to CAP into FDS
 * (more are closed); how many. */
int fds_take(struct msghdr *h, int *fds, int cap);

/* A connected socket, or -errno (-ECONNREFUSED: nobody listens there). */
int seqpacket_connect(const char *path);
/* A listening socket (a stale path is replaced), or -1 with errno set. */
int seqpacket_listen(const char *path, int nonblock);
/* One message with up to 3 descriptors, never waiting: 0 or -EPIPE. */
int seqpacket_send(int sock, const void *msg, size_t len, const int *fds, int nfds);

/*
 * One message into @buf (at most @len bytes) and up to 3 descriptors into
 * @fds (*nfds of them; more are closed). @flags as recvmsg's. Returns the
 * message's length, 0 when the peer closed, or -errno.
 */
long seqpacket_recv(int sock, void *buf, size_t len, int fds[3], int *nfds, int flags);

/*
 * A message of exactly @len bytes with exactly one descriptor, as dde
 * sends on a server's control channel, without waiting: 1 (the descriptor
 * in *@fd), 0 when the peer closed, -EAGAIN when nothing is there, or
 * -EPROTO for anything else (whatever came with it is closed).
 */
int seqpacket_recv_fd(int sock, void *msg, size_t len, int *fd);

/* Whether @sock's peer closed its end (a peer process that died), without
 * waiting or reading: a restarted driver's servers look at the last
 * connection of its dead predecessor before they read its hangup. */
int seqpacket_hung_up(int sock);

#endif
