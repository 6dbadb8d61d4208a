/*
 * nbdbad: an NBD client that misbehaves on purpose, or asks what real
 * clients never ask, for the tests of `dde nbd` (tests/cli/test_nbd.sh).
 * Connects to a Unix socket, negotiates EXPORT with NBD_OPT_GO, then:
 *
 *   nbdbad SOCKET EXPORT midwrite        a 1 MiB write whose payload stops
 *                                       halfway: the connection closes
 *   nbdbad SOCKET EXPORT noread          32 reads of 1 MiB, then close
 *                                       without reading a reply
 *   nbdbad SOCKET EXPORT badmagic        a request with a wrong magic
 *   nbdbad SOCKET EXPORT garbage         random bytes instead of options
 *   nbdbad SOCKET EXPORT ask OP OFF LEN  one request (read|write|flush|trim|zero|bogus);
 *                                       prints "error N" from the reply
 *
 * Exits 0 when it could do what it was asked, 1 if not.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../nbd/proto.h"

static int fd;

static void die(const char *what)
{
	fprintf(stderr, "nbdbad: %s\n", what);
	exit(1);
}

static void put(const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		die("send");
}

static void get(void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = recv(fd, c, n, 0);

		if (r <= 0)
			die("the server closed the connection");
		c += r;
		n -= (size_t)r;
	}
}

static void go(const char *name)
{
	uint8_t hello[18];
	uint32_t cflags = htobe32(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	uint32_t nlen = (uint32_t)strlen(name);
	struct __attribute__((packed)) {
		uint64_t magic;
		uint32_t opt, len, nlen;
	} o = { htobe64(NBD_IHAVEOPT), htobe32(NBD_OPT_GO), htobe32(4 + nlen + 2), htobe32(nlen) };
	uint16_t nreq = 0;

	get(hello, sizeof(hello));
	put(&cflags, 4);
	put(&o, sizeof(o));
	put(name, nlen);
	put(&nreq, 2);
	for (;;) {
		struct __attribute__((packed)) {
			uint64_t magic;
			uint32_t opt, type, len;
		} r;
		char data[4096];

		get(&r, sizeof(r));
		if (be32toh(r.len) > sizeof(data))
			die("option reply too long");
		get(data, be32toh(r.len));
		if (be32toh(r.type) == NBD_REP_ACK)
			return;
		if (be32toh(r.type) & NBD_REP_ERR)
			die("NBD_OPT_GO refused");
	}
}

static void request(uint16_t type, uint64_t handle, uint64_t off, uint32_t len)
{
	struct __attribute__((packed)) {
		uint32_t magic;
		uint16_t flags, type;
		uint64_t handle, offset;
		uint32_t len;
	} h = { htobe32(NBD_REQUEST_MAGIC), 0, htobe16(type), handle, htobe64(off), htobe32(len) };

	put(&h, sizeof(h));
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (argc < 4 || strlen(argv[1]) >= sizeof(a.sun_path))
		die("usage: nbdbad SOCKET EXPORT midwrite|noread|badmagic|garbage|ask OP OFF LEN");
	strcpy(a.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	const char *what = argv[3];

	if (!strcmp(what, "garbage")) {
		uint8_t hello[18], junk[256];

		get(hello, sizeof(hello));
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		put(junk, sizeof(junk));
		close(fd);
		return 0;
	}
	go(argv[2]);
	if (!strcmp(what, "midwrite")) {
		static char half[512 << 10];

		request(NBD_CMD_WRITE, 1, 0, 1 << 20);
		put(half, sizeof(half));
	} else if (!strcmp(what, "noread")) {
		for (int i = 0; i < 32; i++)
			request(NBD_CMD_READ, (uint64_t)i, 0, 1 << 20);
	} else if (!strcmp(what, "badmagic")) {
		uint8_t junk[28] = { 0xde, 0xad };

		put(junk, sizeof(junk));
	} else if (!strcmp(what, "ask") && argc == 7) {
		uint16_t type = !strcmp(argv[4], "read") ? NBD_CMD_READ :
				!strcmp(argv[4], "write") ? NBD_CMD_WRITE :
				!strcmp(argv[4], "flush") ? NBD_CMD_FLUSH :
				!strcmp(argv[4], "trim") ? NBD_CMD_TRIM :
				!strcmp(argv[4], "zero") ? NBD_CMD_WRITE_ZEROES : 77;
		uint32_t len = (uint32_t)strtoul(argv[6], NULL, 0);
		struct __attribute__((packed)) {
			uint32_t magic, error;
			uint64_t handle;
		} r;

		request(type, 0x1122334455667788ULL, strtoull(argv[5], NULL, 0), len);
		if (type == NBD_CMD_WRITE) {
			char *zero = calloc(1, len);

			put(zero, len);
			free(zero);
		}
		get(&r, sizeof(r));
		if (be32toh(r.magic) != NBD_SIMPLE_REPLY_MAGIC || r.handle != 0x1122334455667788ULL)
			die("a reply that does not match the request");
		printf("error %u\n", be32toh(r.error));
		if (!r.error && type == NBD_CMD_READ) {
			char *buf = malloc(len);

			get(buf, len);
			free(buf);
			printf("read %u bytes\n", len);
		}
	} else {
		die("unknown action");
	}
	close(fd);
	return 0;
}
