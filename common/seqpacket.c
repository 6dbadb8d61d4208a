/* Control-channel sockets of the class servers (common/seqpacket.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "seqpacket.h"

static int address(const char *path, struct sockaddr_un *a, socklen_t *len)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!path || !*path || strlen(path) >= sizeof(a->sun_path))
		return -EINVAL;
	strcpy(a->sun_path, path);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		a->sun_path[0] = 0;
	else
		(*len)++;
	return 0;
}

int seqpacket_connect(const char *path)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd = seqpacket_fd_address(path), r;

	if (fd != -ENOENT)
		return fd;	/* inherited, connected already (or not a socket) */
	r = address(path, &a, &len);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, len) < 0) {
		r = errno == ENOENT ? -ECONNREFUSED : -errno;
		close(fd);
		return r;
	}
	return fd;
}

int seqpacket_listen(const char *path, int nonblock)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (address(path, &a, &len)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (path[0] != '@')
		unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int fds_attach(struct msghdr *h, void *cbuf, size_t cap, const int *fds, int nfds)
{
	struct cmsghdr *c;

	if (nfds <= 0)
		return 0;
	if (CMSG_SPACE(nfds * sizeof(int)) > cap)
		return -EINVAL;
	memset(cbuf, 0, CMSG_SPACE(nfds * sizeof(int)));
	h->msg_control = cbuf;
	h->msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	return 0;
}

int fds_take(struct msghdr *h, int *fds, int cap)
{
	int n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < cap)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

int seqpacket_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { (void *)msg, len };
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 3 || fds_attach(&h, cbuf, sizeof(cbuf), fds, nfds))
		return -EINVAL;
	return sendmsg(sock, &h, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -EPIPE;
}

int seqpacket_recv_fd(int sock, void *msg, size_t len, int *fd)
{
	int fds[3], nfds;
	long r = seqpacket_recv(sock, msg, len, fds, &nfds, MSG_DONTWAIT);

	if (r == (long)len && nfds == 1) {
		*fd = fds[0];
		return 1;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return r == 0 || r == -EAGAIN ? (int)r : -EPROTO;
}

long seqpacket_recv(int sock, void *buf, size_t len, int fds[3], int *nfds, int flags)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(sock, &h, MSG_CMSG_CLOEXEC | flags);

	*nfds = 0;
	if (r < 0)
		return -errno;
	*nfds = fds_take(&h, fds, 3);
	return r;
}

int seqpacket_hung_up(int sock)
{
	struct pollfd p = { sock, POLLRDHUP, 0 };

	return sock >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}
