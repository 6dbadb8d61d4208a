/*
 * Integration-test harness: starts the real I/O server (and so a real
 * QEMU) for a test, plays drivers through ddekit, and cleans up every
 * process, also when a test fails or crashes (ddeio dies with its parent,
 * QEMU dies with ddeio; the DMA memory is memfds, never files).
 */
#ifndef DDE_TEST_HARNESS_H
#define DDE_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ddeio/protocol.h>

struct harness {
	pid_t ddeio;
	char socket[64];	/* "@name" */
};

/*
 * Start ddeio with the NULL-terminated machine options @args (e.g.
 * "--nic", "e1000", NULL). Returns 0, or -1 after printing why.
 */
int harness_start(struct harness *h, const char *const *args);
/* The same, with ddeio's log (not --quiet) in the file @log. */
int harness_start_logged(struct harness *h, const char *const *args, const char *log);
void harness_stop(struct harness *h);

/* The QEMU process ddeio started (0 if none is found). */
pid_t harness_qemu_pid(const struct harness *h);

/* Path of a built program, relative to the build dir (e.g. "bin/dde"). */
void harness_path(const char *rel, char *out, size_t cap);

/* Become a driver for @slots ("00:02.0[,..]") in this process (ddekit_init). */
int harness_driver(const struct harness *h, const char *slots, const char *name);

/*
 * Run @fn(@arg) as a driver for @slots in a child process; returns its
 * pid. The child exits with fn's return value (0 = success).
 */
pid_t harness_fork_driver(const struct harness *h, const char *slots,
			  int (*fn)(void *arg), void *arg);

/* Wait for a child; returns its exit status, or 128+signal. */
int harness_wait(pid_t pid);

/* All devices on the machine (as a tool client); returns the count. */
int harness_list(const struct harness *h, struct ddeio_device *out, unsigned cap);

/* Find a device by vendor:device; NULL if absent. */
const struct ddeio_device *harness_find(const struct ddeio_device *devs, int n,
					uint16_t vendor, uint16_t device);

/* Slot text "BB:SS.F" of a device. */
const char *harness_slot(const struct ddeio_device *d);

/* A raw image file of @mib MiB filled with a deterministic pattern. */
int harness_image(char *path_out, size_t cap, unsigned mib, unsigned seed);

/* Two free UDP ports on 127.0.0.1, and a socket bound to the second. */
int harness_udp_peer(uint16_t *qemu_port, uint16_t *peer_port);

/* Is process @pid still there (and not a zombie)? */
bool harness_alive(pid_t pid);

/* The benchmarks' name for this machine's CPU (/proc/cpuinfo's model name). */
void harness_cpu_model(char *out, size_t cap);

#endif
