/* netd's parts: exports of an interface to the host (TAP, pcap) and logging. */
#ifndef NETD_H
#define NETD_H

#include <stdint.h>

#define DDENET_NAME 16

struct netd_export {
	char ifname[DDENET_NAME];
	const char *tap, *pcap;
};

void netd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A TAP device named @name with address @mac (the NIC's), for the host's stack. */
struct tap;
struct tap *tap_open(const char *name, const uint8_t mac[6]);
int tap_fd(const struct tap *t);
/* The NIC's address changed (a restarted driver): the TAP's follows. */
void tap_address(struct tap *t, const uint8_t mac[6]);
/* One frame, or 0 when none is waiting. */
int tap_read(struct tap *t, uint8_t *buf, int max);
void tap_write(struct tap *t, const uint8_t *frame, int len);
void tap_carrier(struct tap *t, int up);
void tap_close(struct tap *t);

/* A pcap file (Ethernet link type) of every frame in and out. */
struct pcap;
struct pcap *pcap_open(const char *path);
void pcap_write(struct pcap *p, const uint8_t *frame, int len);
void pcap_close(struct pcap *p);

#endif
