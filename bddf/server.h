/*
 * bddf's server, shared by its files: the connections and the event loop
 * (bddf.c), requests between clients and drivers (requests.c), and disk
 * and partition names (names.c).
 */
#ifndef BDDF_SERVER_H
#define BDDF_SERVER_H

#include <stdint.h>

#include "../common/access.h"
#include "../libddeblk/chan.h"
#include "bddf.h"

/* what a driver says of its disk */
#define DISK_FLAGS (DDEBLK_DISK_RO | DDEBLK_DISK_WC | DDEBLK_DISK_FUA | DDEBLK_DISK_DISCARD)
#define MAX_IO (1u << 20)
#define MAX_DISKS 64
#define DRIVER_DISKS 16

enum kind { K_LISTEN, K_SOCK, K_BELL, K_CONTROL };

struct handle {
	enum kind kind;
	void *obj;
};

struct disk;
struct client;

/* A client request, split into driver requests ("parts"). */
struct creq {
	struct client *cl;
	uint64_t cookie;
	int parts, status;
	int flush_after;	/* FUA on a disk without FUA: a flush follows */
	int replays;		/* times its parts were sent again to a restarted driver */
	uint16_t op;
	uint32_t slot;		/* the client's data slot */
};

/* what one part asks of the driver: kept until done, to be replayed */
struct part {
	struct creq *cr;	/* NULL: bddf's own (a table read) */
	struct disk *dk;
	uint16_t op, flags;
	uint64_t offset;	/* on the disk */
	uint32_t off;		/* into the client's slot */
	uint32_t len;
	int tries;		/* restarts of its driver it was in flight at */
	struct part *next;	/* in a driver's replay list */
};

/* a driver channel slot in flight */
struct dslot {
	int used;
	long long since;	/* sent to the driver then (monotonic ms) */
	struct part p;
	int done, status;	/* bddf's own */
};

struct driver {
	struct handle h_sock, h_bell;
	int sock, role;
	struct ddeblk_chan c;
	char name[64];
	struct dslot *slot;
	unsigned inflight;
	int gone, kick;
	/* attached on dde's connection: when its process dies, dde restarts
	 * it; its requests wait for the new process (replay) unless dde gives
	 * up on it (given_up) */
	int supervised, given_up;
	unsigned restarts;
	struct part *replay, **replay_tail;	/* parts to send again */
	int hung_told;		/* dde was told it hangs; until it completes something */
	long long gone_ms;	/* when it last went away */
	long long back_ms;	/* when its restarted process attached */
	long long channel_ms;	/* gone: when dde opened its successor's connection */
	int recovering;		/* gone, and no request done since */
	struct disk *disk[DRIVER_DISKS];
};

struct disk {
	struct ddeblk_entry e;	/* name, size, sector size, flags, table */
	struct driver *drv;
	unsigned index;		/* the driver's */
	uint32_t max_io;
	int down;		/* its driver died; until the restarted one announces it */
	int orphan;		/* gone, and its driver's index has another disk: freed
				 * when no client holds it (disk_release) */
	char local[DDEBLK_NAME_MAX];	/* the driver's own name for it */
	struct bddf_table t;
};

struct client {
	struct handle h_sock, h_bell;
	int sock, role;
	struct ddeblk_chan c;
	struct disk *disk;
	struct ddeblk_entry e;	/* what was opened: start, size */
	int rdonly, dead, ring;
	unsigned inflight;
	char refused[128];	/* the access check said no: why */
	char driver[DDEBLK_NAME_MAX];	/* opened by dde for this driver instance */
	struct client *next;
};

/* the server's state (bddf.c) */
struct bddf_server {
	int ep, listen, control;
	struct access_policy access;
	int open_drivers;	/* drivers may attach over the socket */
	struct handle h_control;
	unsigned depth, client_depth;
	unsigned hang_ms;	/* a driver with requests and no completion this long hangs */
	struct handle h_listen;
	struct disk *disk[MAX_DISKS];
	int ndisks;
	struct client *clients;
	struct driver *drivers[64];
	/* --expect: the disk drivers `dde run` starts, in its order: their
	 * NVMe controllers are numbered in that order, whoever comes first */
	const char *expect[64];
	int nexpect, nvme_expected, vd_expected;
	/* --fault drop-write=DISK:SECTOR: writes over it are acknowledged, not
	 * done; --fault kill-at=DISK:SECTOR: a read over it has its driver
	 * reported hung at once (dde kills it): one its driver dies on each time */
	struct {
		char disk[DDEBLK_NAME_MAX];
		uint64_t sector;
		int kill;
	} drop[8];
	int ndrop;
};
extern struct bddf_server srv;

/* requests.c */
/* Take what clients queued, while their drivers have slots; ring drivers. */
void serve_clients(void);
void kick_drivers(void);
void ring_clients(void);
/* Take a driver's completions. */
void driver_completions(struct driver *dr);
/* A driver died: its requests wait for its restart (supervised) or fail,
 * its disks stay listed (gone, unless it comes back). */
void driver_gone(struct driver *dr);
/* dde gave up on a driver: what waited fails, its disks are gone. */
void driver_given_up(struct driver *dr);
/* A given-up driver whose disks no client holds: freed, its disks unlisted
 * (their names free again); 1 if so. */
int reap_driver(struct driver *dr);
/* A disk its restarted driver did not announce again: gone, what waited for it fails. */
void disk_not_back(struct disk *dk);
int disk_release(struct disk *dk);
/* A restarted driver announced disk @dk again: what waited for it goes. */
void disk_back(struct disk *dk);
/* Send what waits for a restarted driver, while it has slots. */
void replay_parts(struct driver *dr);
void disk_gone(struct disk *dk);
/* bddf's own synchronous read of a disk (its partition table) */
int scan_read(void *arg, uint64_t off, void *buf, uint32_t len);
struct scan {
	struct driver *dr;
	struct disk *dk;
};

/* bddf.c: tell dde that driver @dr hangs (@why, for the log); it kills it */
void report_hung(struct driver *dr, long long ms, const char *why);

/* names.c */
/* A driver announced a disk: name it, read its table, list it. */
void disk_added(struct driver *dr, const struct ddeblk_msg *m);
/* a driver instance's name without "ko:" */
const char *source_name(const char *instance);

#endif
