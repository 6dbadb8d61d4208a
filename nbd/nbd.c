/*
 * dde nbd: disks and partitions of the block server (bddf) exported over
 * NBD, so that real tools — qemu-img, nbdcopy, nbdinfo, the kernel's
 * nbd-client — can use them (docs/block.md, "NBD").
 *
 * A client of bddf like any other (libddeblk): each NBD connection opens
 * its export at bddf with a ring of its own, so bddf keeps it inside the
 * disk or partition, and several connections (to one export or to
 * several) run at once. The handshake is fixed newstyle only, with
 * NBD_OPT_GO/INFO (size, block sizes, name, description), LIST,
 * EXPORT_NAME, STRUCTURED_REPLY and the metadata context base:allocation;
 * transmission takes READ, WRITE (also FUA), WRITE_ZEROES, TRIM (when the
 * disk takes discards), FLUSH, BLOCK_STATUS and DISC,
 * pipelined: each connection keeps up to its ring's depth of requests at
 * bddf, a request larger than one data slot is split across several,
 * replies go out as requests complete (simple replies, or structured ones
 * when the client asked for them, in any order). BLOCK_STATUS reads the
 * range and reports what reads as zeros (NBD_STATE_ZERO): what the drive
 * has allocated is not known here, so NBD_STATE_HOLE never is.
 *
 * One thread accepts; one thread per connection runs a loop over the
 * socket and the ring's completions. Listening is on a Unix socket or on
 * loopback unless --bind says otherwise.
 *
 * Who is served: on TCP, clients that bring the PSK or a certificate
 * (NBD_OPT_STARTTLS, then everything through TLS: nbd/transport.c), or
 * anyone with --insecure; on the Unix socket, its owner, root and the users
 * and groups of --allow-user/--allow-group, by the peer's credentials
 * (common/access.h). A refused client is told why in an option error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <ddeblk/ddeblk.h>
#include "../common/access.h"
#include "nbd.h"
#include "server.h"
#include "proto.h"
#include "transport.h"

struct config cfg;
static struct access_policy peers;	/* who may use the Unix socket */
unsigned nconns;
static unsigned nclients;
pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stopping;

/*
 * The socket file's @mode is a first fence before access_check(): 0600
 * unless users or groups are let in. Set through the umask, because a
 * chmod() after bind() would follow a link put in the socket's place.
 */
static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "dde nbd: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	if (!lstat(path, &st)) {
		/* a socket nobody answers on is stale; anything else is not ours */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = !S_ISSOCK(st.st_mode) || !connect(probe, (struct sockaddr *)&a, sizeof(a));

		close(probe);
		if (live) {
			fprintf(stderr, "dde nbd: %s exists%s\n", path,
				S_ISSOCK(st.st_mode) ? " and a server answers there" : " (not a socket)");
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(0777 & ~mode);
	r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r || listen(fd, 16)) {
		fprintf(stderr, "dde nbd: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* TCP on --bind (default loopback) and --port (0: any free port); the port in *port */
static int listen_tcp(const char *host, const char *service, unsigned *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, r;

	r = getaddrinfo(host, service, &hints, &res);
	if (r) {
		fprintf(stderr, "dde nbd: address %s port %s: %s\n", host, service, gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 16)) {
			r = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "dde nbd: cannot listen on %s port %s: %s\n", host, service,
			strerror(r ? r : EADDRNOTAVAIL));
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde nbd --export NAME [--export NAME ...] [--socket PATH]\n"
		"               [--allow-user NAME|UID] [--allow-group NAME|GID]\n"
		"       dde nbd --export NAME ... --port N [--bind ADDR]\n"
		"               --tls-psk FILE | --tls-certificates DIR | --insecure\n"
		"       ... [--read-only] [--blk-socket PATH] [--depth N] [--max-connections N]\n"
		"  Export disks or partitions of the block server (bddf) over NBD until\n"
		"  interrupted. The first --export is also the default export (\"\").\n"
		"  --socket PATH   listen on a Unix socket (default: $TMPDIR/dde-nbd-PID.sock),\n"
		"                  mode 0600: only this user and root may connect...\n"
		"  --allow-user NAME|UID, --allow-group NAME|GID\n"
		"                  ... and these too (repeatable; the socket is then 0666 and\n"
		"                  every connection is checked by its peer's credentials)\n"
		"  --port N        listen on TCP port N instead (0: any free port), on\n"
		"                  loopback unless --bind ADDR (e.g. 0.0.0.0) says otherwise;\n"
		"                  clients must use TLS (NBD_OPT_STARTTLS, nbds:// URIs) with\n"
		"  --tls-psk FILE  a key of FILE, USER:HEXKEY lines as `psktool -u USER -p FILE`\n"
		"                  writes them (a directory: its keys.psk), or with\n"
		"  --tls-certificates DIR\n"
		"                  X.509: DIR/ca-cert.pem, server-cert.pem, server-key.pem (and\n"
		"                  ca-crl.pem if there); clients show a certificate of that CA\n"
		"  --insecure      plain TCP instead: no encryption, no authentication, anyone\n"
		"                  who reaches the port reads (and writes) the exports\n"
		"  (TLS options with --socket: TLS over the Unix socket, nbds+unix:// URIs)\n"
		"  --read-only     refuse writes\n"
		"  --blk-socket    the block server (default $DDE_BLK, as `dde run` prints it)\n"
		"  --depth N       requests in flight per connection (default 32)\n"
		"  Prints one line per export: its NBD URI. Clients: qemu-img, nbdcopy,\n"
		"  nbdinfo, nbd-client. Replies are simple, or structured for clients that\n"
		"  ask (a read in one chunk, so NBD_CMD_FLAG_DF is offered). Block status\n"
		"  (metadata context base:allocation) reads the range, up to 16 MiB a\n"
		"  request: what reads as zeros, in runs of 64 KiB, is \"zero\"\n"
		"  (NBD_STATE_ZERO; a trimmed range too where trims read back as zeros),\n"
		"  the rest data. Never \"hole\": what the drive has allocated is not\n"
		"  known here. `nbdinfo --map URI` shows the map. With TLS, e.g.:\n"
		"    nbdcopy 'nbds://alice@127.0.0.1:10809/NAME?tls-psk-file=keys.psk' out.img\n"
		"    nbdcopy 'nbds://127.0.0.1:10809/NAME?tls-certificates=DIR' out.img\n"
		"    qemu-img convert -O raw \\\n"
		"      --object tls-creds-psk,id=tls0,endpoint=client,dir=DIR,username=alice \\\n"
		"      --image-opts driver=nbd,host=127.0.0.1,port=10809,export=NAME,tls-creds=tls0 \\\n"
		"      out.img    (DIR holds keys.psk; tls-creds-x509: DIR as libnbd's)\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int nbd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "export", required_argument, 0, 'e' },
		{ "socket", required_argument, 0, 's' },
		{ "port", required_argument, 0, 'p' },
		{ "bind", required_argument, 0, 'b' },
		{ "read-only", no_argument, 0, 'r' },
		{ "blk-socket", required_argument, 0, 'k' },
		{ "depth", required_argument, 0, 'd' },
		{ "max-connections", required_argument, 0, 'm' },
		{ "tls-psk", required_argument, 0, 'P' },
		{ "tls-certificates", required_argument, 0, 'C' },
		{ "insecure", no_argument, 0, 'I' },
		{ "allow-user", required_argument, 0, 'u' },
		{ "allow-group", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *sock = NULL;
	unsigned port = 0, dummy;
	int opt, lfd, status = 0;
	char err[512];

	cfg.depth = 32;
	cfg.max_conns = DEFAULT_CONNS;
	access_init(&peers);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (cfg.nexports == MAX_EXPORTS) {
				fprintf(stderr, "dde nbd: at most %d exports\n", MAX_EXPORTS);
				return 2;
			}
			if (!*optarg || strlen(optarg) >= DDEBLK_NAME_MAX) {
				fprintf(stderr, "dde nbd: '%s' is not a disk or partition name\n", optarg);
				return 2;
			}
			cfg.exports[cfg.nexports++] = optarg;
			break;
		case 's': sock = optarg; break;
		case 'p':
			if (parse_uint(optarg, 0, 65535, &dummy)) {
				fprintf(stderr, "dde nbd: --port wants 0..65535, not '%s'\n", optarg);
				return 2;
			}
			cfg.port = optarg;
			break;
		case 'b': cfg.bind = optarg; break;
		case 'r': cfg.read_only = 1; break;
		case 'k': cfg.server = optarg; break;
		case 'd':
			if (parse_uint(optarg, 1, MAX_DEPTH, &cfg.depth)) {
				fprintf(stderr, "dde nbd: --depth wants 1..256, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_uint(optarg, 1, 1024, &cfg.max_conns)) {
				fprintf(stderr, "dde nbd: --max-connections wants 1..1024, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'P': cfg.tls_psk = optarg; break;
		case 'C': cfg.tls_certs = optarg; break;
		case 'I': cfg.insecure = 1; break;
		case 'u':
		case 'g':
			if (access_allow(&peers, opt == 'g', optarg, err, sizeof(err))) {
				fprintf(stderr, "dde nbd: %s\n", err);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dde nbd: unknown or incomplete option '%s' (see dde nbd --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde nbd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!cfg.nexports) {
		fprintf(stderr, "dde nbd: what to export? Give --export NAME (see dde disks)\n");
		return 2;
	}
	if (sock && cfg.port) {
		fprintf(stderr, "dde nbd: --socket or --port, not both\n");
		return 2;
	}
	if (cfg.bind && !cfg.port) {
		fprintf(stderr, "dde nbd: --bind goes with --port\n");
		return 2;
	}
	int tls = cfg.tls_psk || cfg.tls_certs, shared = peers.nusers || peers.ngroups;

	if (cfg.insecure && (tls || !cfg.port)) {
		fprintf(stderr, "dde nbd: --insecure (plain TCP) goes with --port and without "
			"--tls-psk/--tls-certificates\n");
		return 2;
	}
	if (cfg.port && !tls && !cfg.insecure) {
		fprintf(stderr, "dde nbd: --port serves anyone who reaches it: give --tls-psk FILE "
			"or --tls-certificates DIR (or --insecure for plain, unauthenticated TCP)\n");
		return 2;
	}
	if (cfg.port && shared) {
		/* TCP has no peer credentials: there, TLS decides who is served */
		fprintf(stderr, "dde nbd: --allow-user and --allow-group go with the Unix socket; "
			"on TCP the TLS key or certificate decides who is served\n");
		return 2;
	}
	if (!cfg.server && !(getenv("DDE_BLK") && *getenv("DDE_BLK"))) {
		fprintf(stderr, "dde nbd: which block server? Set DDE_BLK (dde run prints it) "
			"or give --blk-socket PATH\n");
		return 2;
	}
	if (nbd_tls_load(cfg.tls_psk, cfg.tls_certs, err, sizeof(err))) {
		fprintf(stderr, "dde nbd: %s\n", err);
		return 2;
	}

	/* every export must exist now: a typo is an error here, not at a client */
	struct ddeblk_entry ent[MAX_EXPORTS];

	for (int i = 0; i < cfg.nexports; i++) {
		struct ddeblk *b;
		struct ddeblk_info info;
		int r = ddeblk_open(cfg.server, cfg.exports[i], 1, DDEBLK_OPEN_RDONLY, &b);

		if (r) {
			fprintf(stderr, "dde nbd: %s: %s\n", cfg.exports[i],
				r == -ENOENT ? "no such disk or partition at the block server (see dde disks)" :
				r == -ECONNREFUSED ? "no block server answers (is dde run running?)" :
				strerror(-r));
			nbd_tls_unload();
			return 1;
		}
		ddeblk_info(b, &info);
		ent[i] = info.entry;
		ddeblk_close(b);
	}

	if (cfg.port) {
		lfd = listen_tcp(cfg.bind ? cfg.bind : "127.0.0.1", cfg.port, &port);
	} else {
		if (!sock) {
			const char *tmp = getenv("TMPDIR");

			snprintf(cfg.sock_path, sizeof(cfg.sock_path), "%s/dde-nbd-%d.sock",
				 tmp && *tmp ? tmp : "/tmp", (int)getpid());
		} else {
			snprintf(cfg.sock_path, sizeof(cfg.sock_path), "%s", sock);
		}
		lfd = listen_unix(cfg.sock_path, shared ? 0666 : 0600);
	}
	if (lfd < 0) {
		nbd_tls_unload();
		return 1;
	}

	/* signals reach this thread only: poll() below returns on them */
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);

	const char *host = cfg.bind ? cfg.bind : "127.0.0.1", *tls_s = tls ? "s" : "";
	int v6 = !!strchr(host, ':');

	for (int i = 0; i < cfg.nexports; i++) {
		if (cfg.port)
			printf("dde nbd: %s (%" PRIu64 " bytes, %s) at nbd%s://%s%s%s:%u/%s\n",
			       ent[i].name, ent[i].size, ent[i].driver, tls_s, v6 ? "[" : "", host,
			       v6 ? "]" : "", port, ent[i].name);
		else
			printf("dde nbd: %s (%" PRIu64 " bytes, %s) at nbd%s+unix:///%s?socket=%s\n",
			       ent[i].name, ent[i].size, ent[i].driver, tls_s, ent[i].name, cfg.sock_path);
	}
	fflush(stdout);
	/* how a client gets in, or that anyone does */
	if (cfg.tls_psk)
		fprintf(stderr, "dde nbd: TLS with the keys of %s: clients add "
			"?tls-psk-file=FILE and USER@ to the URI\n", cfg.tls_psk);
	else if (cfg.tls_certs)
		fprintf(stderr, "dde nbd: TLS with the certificates of %s: clients add "
			"?tls-certificates=DIR (with ca-cert.pem, client-cert.pem, client-key.pem)\n",
			cfg.tls_certs);
	else if (cfg.insecure)
		fprintf(stderr, "dde nbd: warning: --insecure: no TLS, no authentication: "
			"anyone who reaches %s port %u %s the exports\n", host, port,
			cfg.read_only ? "reads" : "reads and writes");

	while (!stopping) {
		struct pollfd p = { lfd, POLLIN, 0 };

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&conns_lock);
		int full = nconns >= cfg.max_conns;

		if (!full)
			nconns++;
		pthread_mutex_unlock(&conns_lock);
		if (full) {
			fprintf(stderr, "dde nbd: %u connections already: one refused\n", cfg.max_conns);
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;
		pthread_attr_t attr;

		if (!c) {
			close(fd);
			pthread_mutex_lock(&conns_lock);
			nconns--;
			pthread_mutex_unlock(&conns_lock);
			continue;
		}
		c->io.fd = fd;
		if (ss.ss_family == AF_UNIX) {
			snprintf(c->peer, sizeof(c->peer), "client %u", ++nclients);
			/* here, not in its thread: the check looks up names (getpwuid) */
			if (access_check(&peers, fd, c->denied, sizeof(c->denied)))
				fprintf(stderr, "dde nbd: %s: %s\n", c->peer, c->denied);
		} else {
			char h[INET6_ADDRSTRLEN + 8], s[8];
			int one = 1;

			/*
			 * A reply's tail (TLS: its last record) must not wait
			 * for the client's delayed ACK of the data before it
			 */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

			getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), s, sizeof(s),
				    NI_NUMERICHOST | NI_NUMERICSERV);
			snprintf(c->peer, sizeof(c->peer), "%s:%s", h, s);
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		if (pthread_create(&t, &attr, nbd_conn_main, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&conns_lock);
			nconns--;
			pthread_mutex_unlock(&conns_lock);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	close(lfd);
	if (!cfg.port)
		unlink(cfg.sock_path);
	/* connections still running use the credentials until the process ends */
	pthread_mutex_lock(&conns_lock);
	if (!nconns)
		nbd_tls_unload();
	pthread_mutex_unlock(&conns_lock);
	fprintf(stderr, "dde nbd: stopped\n");
	return status;
}
