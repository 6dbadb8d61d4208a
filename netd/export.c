/* netd's exports to the host: a TAP device and a pcap capture. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../common/logline.h"
#include "netd.h"

void netd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("netd", fmt, ap);
	va_end(ap);
}

struct tap {
	int fd;
	char name[IFNAMSIZ];
	unsigned long long dropped;
};

struct tap *tap_open(const char *name, const uint8_t mac[6])
{
	struct ifreq r = { 0 };
	struct tap *t;

	if (strlen(name) >= IFNAMSIZ) {
		netd_log("TAP name %s is too long", name);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		netd_log("cannot open /dev/net/tun: %s", strerror(errno));
		free(t);
		return NULL;
	}
	r.ifr_flags = IFF_TAP | IFF_NO_PI;
	strcpy(r.ifr_name, name);
	if (ioctl(t->fd, TUNSETIFF, &r) < 0) {
		netd_log("cannot create TAP %s: %s", name, strerror(errno));
		close(t->fd);
		free(t);
		return NULL;
	}
	strcpy(t->name, r.ifr_name);
	tap_address(t, mac);
	tap_carrier(t, 0);
	netd_log("TAP %s created", t->name);
	return t;
}

void tap_address(struct tap *t, const uint8_t mac[6])
{
	struct ifreq r = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* the host sees the NIC itself: the same address */
	strcpy(r.ifr_name, t->name);
	r.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(r.ifr_hwaddr.sa_data, mac, 6);
	if (s < 0 || ioctl(s, SIOCSIFHWADDR, &r) < 0)
		netd_log("TAP %s: cannot set its address: %s", t->name, strerror(errno));
	if (s >= 0)
		close(s);
}

int tap_fd(const struct tap *t)
{
	return t->fd;
}

int tap_read(struct tap *t, uint8_t *buf, int max)
{
	ssize_t n = read(t->fd, buf, (size_t)max);

	return n > 0 ? (int)n : 0;
}

void tap_write(struct tap *t, const uint8_t *frame, int len)
{
	if (write(t->fd, frame, (size_t)len) != len)
		t->dropped++;	/* the host's queue is full (or the TAP is down) */
}

void tap_carrier(struct tap *t, int up)
{
	int on = up != 0;

	ioctl(t->fd, TUNSETCARRIER, &on);
}

void tap_close(struct tap *t)
{
	netd_log("TAP %s removed", t->name);
	close(t->fd);
	free(t);
}

struct pcap {
	FILE *f;
};

struct pcap *pcap_open(const char *path)
{
	/* the classic pcap header: microseconds, snap length 65535, Ethernet */
	static const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	struct pcap *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->f = fopen(path, "we");
	if (!p->f || fwrite(hdr, sizeof(hdr), 1, p->f) != 1) {
		netd_log("cannot write pcap file %s: %s", path, strerror(errno));
		if (p->f)
			fclose(p->f);
		free(p);
		return NULL;
	}
	netd_log("capturing into %s", path);
	return p;
}

void pcap_write(struct pcap *p, const uint8_t *frame, int len)
{
	struct timeval tv;
	uint32_t rec[4];

	gettimeofday(&tv, NULL);
	rec[0] = (uint32_t)tv.tv_sec;
	rec[1] = (uint32_t)tv.tv_usec;
	rec[2] = rec[3] = (uint32_t)len;
	fwrite(rec, sizeof(rec), 1, p->f);
	fwrite(frame, (size_t)len, 1, p->f);
}

void pcap_close(struct pcap *p)
{
	fclose(p->f);
	free(p);
}
