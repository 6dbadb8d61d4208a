/*
 * The frame of a class server (classsrv.h): command line, listening
 * socket, control channel, loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "classsrv.h"
#include "logline.h"
#include "seqpacket.h"

static struct classsrv *running;	/* for the signal handler */
static struct classsrv_handle h_listen = { CS_LISTEN, NULL }, h_control = { CS_CONTROL, NULL };

static void say(const struct classsrv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(s->prog, fmt, ap);
	va_end(ap);
}

static void on_signal(int sig)
{
	if (running)
		running->stop = 1;
}

static int usage(const struct classsrv *s)
{
	fprintf(stderr, "usage: %s --socket PATH [--control-fd N [--open-drivers]] %s%s"
		"[--allow-user U]... [--allow-group G]...\n", s->prog, s->usage ? s->usage : "",
		s->usage ? " " : "");
	return 2;
}

static int parse(struct classsrv *s, int argc, char **argv)
{
	char err[200];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--socket") && v) {
			s->path = v;
			i++;
		} else if (!strcmp(a, "--control-fd") && v) {
			s->control = atoi(v);
			i++;
		} else if (!strcmp(a, "--open-drivers")) {
			s->open_drivers = 1;
		} else if ((!strcmp(a, "--allow-user") || !strcmp(a, "--allow-group")) && v) {
			if (access_allow(&s->access, a[8] == 'g', v, err, sizeof(err))) {
				fprintf(stderr, "%s: %s\n", s->prog, err);
				return 2;
			}
			i++;
		} else if (!s->option || !s->option(a)) {
			return usage(s);
		}
	}
	if (!s->path) {
		fprintf(stderr, "%s: --socket PATH is required\n", s->prog);
		return 2;
	}
	return 0;
}

void classsrv_watch(struct classsrv *s, int fd, struct classsrv_handle *h)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = h };

	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e);
}

int classsrv_start(struct classsrv *s, int argc, char **argv)
{
	int r;

	access_init(&s->access);
	s->control = -1;
	r = parse(s, argc, argv);
	if (r)
		return r;
	running = s;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	s->lfd = seqpacket_listen(s->path, 0);
	if (s->lfd < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", s->prog, s->path, strerror(errno));
		return 1;
	}
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	classsrv_watch(s, s->lfd, &h_listen);
	if (s->control < 0) {
		s->open_drivers = 1;	/* by hand: drivers attach over the socket */
	} else {
		fcntl(s->control, F_SETFD, FD_CLOEXEC);
		fcntl(s->control, F_SETFL, O_NONBLOCK);
		classsrv_watch(s, s->control, &h_control);
	}
	return 0;
}

static void on_listen(struct classsrv *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char why[160];

	if (fd < 0)
		return;
	/* refused: told why at its hello, then dropped */
	if (access_check(&s->access, fd, why, sizeof(why))) {
		say(s, "refused a connection: %s", why);
		s->connected(fd, why, NULL);
	} else {
		s->connected(fd, NULL, NULL);
	}
}

/* dde on its control channel: a connection for the driver of one unit */
static void on_control(struct classsrv *s)
{
	char msg[s->channel_msg];
	const char *unit = NULL;
	int fd, r = seqpacket_recv_fd(s->control, msg, sizeof(msg), &fd);

	if (r == 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->control, NULL);	/* dde is gone */
		close(s->control);
		s->control = -1;
		if (s->channel_closed)
			s->channel_closed();
		return;
	}
	if (r > 0 && !(unit = s->channel_unit(msg))) {
		close(fd);
		r = -EPROTO;
	}
	if (r == -EPROTO)
		say(s, "malformed message on the control channel: ignored");
	if (r <= 0)
		return;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	s->connected(fd, NULL, unit);
}

void classsrv_serve(struct classsrv *s)
{
	while (!s->stop) {
		/* one event at a time: handling one may free what another names
		 * (all are level-triggered, so nothing is lost) */
		struct epoll_event ev;
		int n = epoll_wait(s->ep, &ev, 1, -1);

		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		struct classsrv_handle *h = ev.data.ptr;

		if (h->kind == CS_LISTEN)
			on_listen(s);
		else if (h->kind == CS_SOCK)
			s->readable(h->obj);
		else
			on_control(s);
		s->after();
	}
}

void classsrv_end(struct classsrv *s)
{
	if (s->path[0] != '@')
		unlink(s->path);
}
