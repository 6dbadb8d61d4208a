/*
 * The device classes dde run serves, one table entry each: its server,
 * started when a driver of the class runs, and the message that hands the
 * server a driver's connection (the class's stub in the front end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/seqpacket.h"
#include "../../libddeblk/chan.h"
#include "../../libddenet/ring.h"
#include "../../libddeinput/proto.h"
#include "../../libddesnd/proto.h"
#include "run.h"

/* netd: the driver's connection is its interface, named by its unit */
static int attach_net(int control, const struct driver *d, int fd)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_CHANNEL, .value = DDENET_ROLE_DRIVER };

	snprintf(m.ifname, sizeof(m.ifname), "%s", d->unit);
	return seqpacket_send(control, &m, sizeof(m), &fd, 1);
}

/* bddf: the driver's connection serves its disks, named by its instance */
static int attach_block(int control, const struct driver *d, int fd)
{
	struct ddeblk_msg m = { .magic = DDEBLK_MAGIC, .version = DDEBLK_VERSION,
				.type = DDEBLK_MSG_CHANNEL, .value = DDEBLK_ROLE_DRIVER };

	snprintf(m.name, sizeof(m.name), "%.*s", (int)sizeof(m.name) - 1, d->instance);
	if (strlen(d->instance) >= sizeof(m.name))
		fprintf(stderr, "dde: driver %s is known to the block server as %s\n",
			d->instance, m.name);
	return seqpacket_send(control, &m, sizeof(m), &fd, 1);
}

/* netd: the interface of a driver that will not come back goes */
static int give_up_net(int control, const struct driver *d)
{
	struct ddenet_msg m = { .magic = DDENET_MAGIC, .version = DDENET_VERSION,
				.type = DDENET_GIVE_UP };

	snprintf(m.ifname, sizeof(m.ifname), "%s", d->unit);
	return seqpacket_send(control, &m, sizeof(m), NULL, 0);
}

/* A server's message on its control channel (descriptors are not expected:
 * closed): 1 if it is one of @len bytes, -1 if the server closed it, else 0. */
static int control_recv(int control, void *m, size_t len)
{
	int fds[3], nfds;
	long r = seqpacket_recv(control, m, len, fds, &nfds, MSG_DONTWAIT);

	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return r == 0 ? -1 : r == (long)len;
}

/* netd: an interface whose driver takes no frames, or misses its heartbeat */
static int report_net(int control, char *who, size_t cap, char *why, size_t wcap)
{
	struct ddenet_msg m;
	int r = control_recv(control, &m, sizeof(m));

	if (r <= 0 || m.magic != DDENET_MAGIC || m.type != DDENET_HUNG)
		return r < 0 ? -1 : 0;
	m.ifname[sizeof(m.ifname) - 1] = 0;
	snprintf(who, cap, "%s", m.ifname);
	if (m.mtu)
		snprintf(why, wcap, "hung: it took none of the %u frames queued to it for %d ms",
			 m.mtu, m.value);
	else
		snprintf(why, wcap, "hung: no heartbeat (report of its counters) for %d ms", m.value);
	return 1;
}

/* bddf: the disks of a driver that will not come back are gone */
static int give_up_block(int control, const struct driver *d)
{
	struct ddeblk_msg m = { .magic = DDEBLK_MAGIC, .version = DDEBLK_VERSION,
				.type = DDEBLK_MSG_GIVE_UP };

	snprintf(m.name, sizeof(m.name), "%.*s", (int)sizeof(m.name) - 1, d->instance);
	return seqpacket_send(control, &m, sizeof(m), NULL, 0);
}

/* bddf: a driver that holds a request too long, or hangs in its start */
static int report_block(int control, char *who, size_t cap, char *why, size_t wcap)
{
	struct ddeblk_msg m;
	int r = control_recv(control, &m, sizeof(m));

	if (r <= 0 || m.magic != DDEBLK_MAGIC || m.type != DDEBLK_MSG_HUNG)
		return r < 0 ? -1 : 0;
	m.name[sizeof(m.name) - 1] = 0;
	snprintf(who, cap, "%s", m.name);
	m.error[sizeof(m.error) - 1] = 0;
	snprintf(why, wcap, "hung: %s", m.error);
	return 1;
}

/* sndd: the driver's connection serves its card, named by its unit */
static int attach_sound(int control, const struct driver *d, int fd)
{
	struct ddesnd_msg m = { .magic = DDESND_MAGIC, .version = DDESND_VERSION,
				.type = DDESND_CHANNEL, .value = DDESND_ROLE_DRIVER };

	snprintf(m.name, sizeof(m.name), "%s", d->unit);
	return seqpacket_send(control, &m, sizeof(m), &fd, 1);
}

/* ALSA programs reach sndd through the plugin: its configuration from the build, or installed */
static void hint_sound(const struct dde_class *c)
{
	char conf[PATH_MAX], real[PATH_MAX];

	session_sibling("../share/alsa/dde.conf", conf, sizeof(conf));
	if (!access(conf, R_OK) && realpath(conf, real))
		fprintf(stderr, "dde: ALSA programs: DDE_SND=%s ALSA_CONFIG_PATH=/usr/share/alsa/"
			"alsa.conf:%s aplay -D dde FILE.wav\n", c->socket, real);
	else
		fprintf(stderr, "dde: ALSA programs: DDE_SND=%s aplay -D dde FILE.wav\n", c->socket);
}

/* inputd: the driver's connection serves its input devices, named by its unit */
static int attach_input(int control, const struct driver *d, int fd)
{
	struct ddeinput_msg m = { .magic = DDEINPUT_MAGIC, .version = DDEINPUT_VERSION,
				  .type = DDEINPUT_CHANNEL, .value = DDEINPUT_ROLE_DRIVER };

	snprintf(m.name, sizeof(m.name), "%s", d->unit);
	return seqpacket_send(control, &m, sizeof(m), &fd, 1);
}

static struct dde_class classes[] = {
	{ .name = "net", .what = "network", .prog = "netd", .tag = "net", .env = "DDE_NET",
	  .unit = "net", .unit_kind = "interface", .alone = true, .attach = attach_net,
	  .give_up = give_up_net, .report = report_net, .control = -1 },
	{ .name = "block", .what = "block", .prog = "bddf", .tag = "blk", .env = "DDE_BLK",
	  .expect = "--expect", .attach = attach_block, .give_up = give_up_block,
	  .report = report_block, .control = -1 },
	{ .name = "sound", .what = "sound", .prog = "sndd", .tag = "snd", .env = "DDE_SND",
	  .unit = "snd", .unit_kind = "card", .attach = attach_sound, .hint = hint_sound,
	  .control = -1 },
	{ .name = "input", .what = "input", .prog = "inputd", .tag = "inp", .env = "DDE_INPUT",
	  .unit = "usb", .unit_kind = "USB bus", .attach = attach_input, .control = -1 },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

struct dde_class *class_find(const char *name)
{
	for (unsigned i = 0; i < NCLASSES; i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

int class_set_socket(struct dde_class *c, const char *opt, const char *path)
{
	if (!*path || strlen(path) >= sizeof(c->socket)) {
		fprintf(stderr, "dde run: --%s: %s\n", opt, *path ? "path too long" : "empty path");
		return -1;
	}
	snprintf(c->socket, sizeof(c->socket), "%s", path);
	return 0;
}

int class_server_arg(struct dde_class *c, const char *opt, const char *value)
{
	if (c->argc + 2 > (int)(sizeof(c->argv) / sizeof(c->argv[0])) - 1) {
		fprintf(stderr, "dde run: too many options for the %s server\n", c->what);
		return -1;
	}
	c->argv[c->argc++] = (char *)opt;
	if (value)	/* else a flag */
		c->argv[c->argc++] = (char *)value;
	return 0;
}

void class_add_driver(struct driver *d)
{
	struct dde_class *c = d->cls;

	if (!c)
		return;
	if (c->unit)
		snprintf(d->unit, sizeof(d->unit), "%s%d", c->unit, c->ndrivers);
	if (c->expect)	/* the server numbers what the drivers serve in this order */
		class_server_arg(c, c->expect, d->instance);
	c->ndrivers++;
	if (d->also) {	/* the second server knows the driver by its instance */
		if (d->also->expect)
			class_server_arg(d->also, d->also->expect, d->instance);
		d->also->ndrivers++;
	}
}

/* Start @c's server with its socket and its control channel; wait until it accepts. */
static int start_server(struct dde_class *c)
{
	char path[PATH_MAX], ctltext[16];
	pid_t parent = getpid();
	int ctl[2];

	session_sibling(c->prog, path, sizeof(path));
	if (!c->socket[0])
		snprintf(c->socket, sizeof(c->socket), "@dde-%s-%d", c->tag, (int)parent);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl))
		return -1;
	snprintf(ctltext, sizeof(ctltext), "%d", ctl[1]);
	c->pid = fork();
	if (c->pid == 0) {
		char *argv[sizeof(c->argv) / sizeof(c->argv[0]) + 2 * ACCESS_MAX + 8];
		sigset_t none;
		int n = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(ctl[1], F_SETFD, 0);
		argv[n++] = path;
		argv[n++] = "--socket";
		argv[n++] = c->socket;
		argv[n++] = "--control-fd";
		argv[n++] = ctltext;
		if (run_opts.no_sandbox)
			argv[n++] = "--open-drivers";
		n += access_argv(&run_opts.access, argv + n, 2 * ACCESS_MAX);
		for (int i = 0; i < c->argc; i++)
			argv[n++] = c->argv[i];
		argv[n] = NULL;
		execv(path, argv);
		fprintf(stderr, "dde run: cannot start %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(ctl[1]);
	c->control = ctl[0];
	if (c->pid < 0)
		return -1;
	/* serving once its socket accepts */
	for (int t = 0; t < 500; t++) {
		int fd = seqpacket_connect(c->socket);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
			c->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	return -1;
}

static void stop_server(struct dde_class *c)
{
	if (c->control >= 0) {
		close(c->control);
		c->control = -1;
	}
	session_reap(c->pid, 2000);
	c->pid = 0;
}

/* A server started: where its clients find it. */
static void announce(const struct dde_class *c)
{
	fprintf(stderr, "dde: %s server on %s (clients: %s=%s)\n", c->what, c->socket, c->env,
		c->socket);
	if (c->hint)
		c->hint(c);
}

int classes_start(void)
{
	for (unsigned i = 0; i < NCLASSES; i++) {
		struct dde_class *c = &classes[i];

		if (!c->ndrivers && !(c->alone && c->argc))
			continue;
		if (start_server(c)) {
			fprintf(stderr, "dde run: the %s server did not start\n", c->what);
			classes_stop();
			return -1;
		}
		announce(c);
	}
	return 0;
}

int class_start(struct dde_class *c)
{
	static char hang[16];

	if (c->pid)
		return 0;
	if (run_opts.hang_ms && run_opts.restarts && c->report) {
		snprintf(hang, sizeof(hang), "%u", run_opts.hang_ms);
		if (class_server_arg(c, "--hang-ms", hang))
			return -1;
	}
	if (start_server(c))
		return -1;
	announce(c);
	return 0;
}

void classes_stop(void)
{
	for (unsigned i = 0; i < NCLASSES; i++)
		stop_server(&classes[i]);
}

struct dde_class *class_of_server(pid_t pid)
{
	for (unsigned i = 0; i < NCLASSES; i++)
		if (pid > 0 && classes[i].pid == pid)
			return &classes[i];
	return NULL;
}

/* A new connection of @d's to server @c: its end into @fd; 0 or -1 */
static int connect_one(struct driver *d, struct dde_class *c, int *fd)
{
	int sp[2];

	*fd = -1;
	if (!c)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "dde run: socketpair: %s\n", strerror(errno));
		return -1;
	}
	if (c->control < 0 || c->attach(c->control, d, sp[0])) {
		fprintf(stderr, "dde run: the %s server did not take a connection for %s\n",
			c->what, d->instance);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(sp[0]);
	*fd = sp[1];
	return 0;
}

int class_connect(struct driver *d)
{
	if (connect_one(d, d->cls, &d->class_fd))
		return -1;
	if (connect_one(d, d->also, &d->also_fd)) {
		if (d->class_fd >= 0)
			close(d->class_fd);
		d->class_fd = -1;
		return -1;
	}
	return 0;
}

void class_give_up(const struct driver *d)
{
	if (d->cls && d->cls->give_up && d->cls->control >= 0)
		d->cls->give_up(d->cls->control, d);
	if (d->also && d->also->give_up && d->also->control >= 0)
		d->also->give_up(d->also->control, d);
}

int class_control_fds(int *fds, struct dde_class **cls, int max)
{
	int n = 0;

	for (unsigned i = 0; i < NCLASSES && n < max; i++)
		if (classes[i].control >= 0 && classes[i].report) {
			fds[n] = classes[i].control;
			cls[n++] = &classes[i];
		}
	return n;
}

struct driver *class_hung(struct dde_class *c, struct driver *drv, int ndrv, char *why,
			  size_t cap, bool *closed)
{
	char who[256];
	int r = c->report(c->control, who, sizeof(who), why, cap);

	*closed = r < 0;
	if (r <= 0)
		return NULL;
	/* bddf knows a driver by its instance (cut to its names' length), netd by its unit */
	for (int i = 0; i < ndrv; i++)
		if (c->unit ? drv[i].cls == c && !strcmp(drv[i].unit, who) :
		    (drv[i].cls == c || drv[i].also == c) &&
		    !strncmp(drv[i].instance, who, DDEBLK_NAME_MAX - 1))
			return &drv[i];
	return NULL;
}
