/*
 * dde run's parts: the device classes and their servers (classes.c), the
 * drivers, chosen, confined and started (launch.c), and the command that
 * ties them to a machine (run.c).
 *
 * A class is one entry of a table: its server program, its socket, the
 * environment variable its drivers and clients find it by, and the one
 * function that hands the server a new driver's connection. Adding a
 * device class (sound, input) to dde run is adding an entry.
 */
#ifndef DDE_RUN_H
#define DDE_RUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <ddeio/protocol.h>

#include "../../common/access.h"
#include "../../common/machine.h"
#include "sandbox.h"
#include "session.h"

#define MAX_DRIVERS 16
#define MAX_DRIVER_ARGS 16
#define EFI_MAX_STACK 4		/* UEFI drivers in one host (a stack: SATA + ATA + ATA bus) */

struct dde_class;

struct driver {
	char spec[256];		/* as given: NAME[,ARG...]@SLOT[,SLOT...] */
	char name[64];
	char path[PATH_MAX];
	char slots[128];	/* "00:02.0,00:03.0" */
	char module[PATH_MAX + 80];	/* ko:NAME: the binary module's file */
	char image[EFI_MAX_STACK][PATH_MAX];	/* efi:NAME[+NAME...]: the UEFI drivers' files */
	int nimages;
	char *args[MAX_DRIVER_ARGS + 6];
	int nargs;
	char argbuf[256];
	pid_t pid;
	int status;
	struct dde_class *cls;	/* the class server it attaches to, or NULL (selftest) */
	char unit[16];		/* its unit at that server where it has one: net0, net1, ... */
	char instance[200];	/* NAME@SLOTS: how the driver names itself (DDE_DRIVER) */
	int io_fd, class_fd;	/* its connections to ddeio and to its class server */
	struct sandbox sb;
};

/* How dde run was asked to run drivers. */
struct run_options {
	char engine[16];	/* --engine: how binary modules run (native, dbt) */
	char stubs[8];		/* --allow-stubs: what missing imports get (refuse, allow) */
	bool no_sandbox;	/* drivers unconfined, and may be started by hand */
	bool manual;		/* only the --driver ones */
	bool prefer_ko;		/* binary modules before source drivers */
	struct access_policy access;	/* who else may connect to the servers */
};
extern struct run_options run_opts;

/* A device class dde run serves, and the state of its server. */
struct dde_class {
	const char *name;	/* as a driver's NAME.class and the driver index say: "net" */
	const char *what;	/* for messages: "network" */
	const char *prog;	/* its server, a sibling of dde: "netd" */
	const char *tag;	/* its default socket: @dde-TAG-PID */
	const char *env;	/* drivers and clients find it by it: DDE_NET; a driver's
				 * unit, if any, is in ENV_NAME */
	const char *unit;	/* its drivers' units are UNIT0, UNIT1, ... (or NULL) */
	const char *unit_kind;	/* what a unit is, for messages: "interface" */
	const char *expect;	/* the server's option naming each driver before it
				 * starts, in order (bddf's --expect), or NULL */
	bool alone;		/* the server starts for its options alone (netd's --tap) */
	/* hand the server, on its control channel @control, driver @d's end
	 * @fd of a new connection; 0 or -1 */
	int (*attach)(int control, const struct driver *d, int fd);
	/* more for the server's line: how else clients reach it (or NULL) */
	void (*hint)(const struct dde_class *c);

	/* state */
	char socket[108];
	char *argv[2 * MAX_DRIVERS + 24];
	int argc;
	int ndrivers;
	pid_t pid;
	int control;		/* our end of its control channel */
};

/* classes.c */
struct dde_class *class_find(const char *name);
/* Set the class's socket (--net-socket ...); -1 after one line. */
int class_set_socket(struct dde_class *c, const char *opt, const char *path);
/* Pass the class's server an option; -1 after one line if too many. */
int class_server_arg(struct dde_class *c, const char *opt, const char *value);
/* Count driver @d in its class (its unit, the server's --expect). */
void class_add_driver(struct driver *d);
/* Start the server of every class that has drivers; -1 after one line. */
int classes_start(void);
void classes_stop(void);
/* The class whose server is @pid, or NULL. */
struct dde_class *class_of_server(pid_t pid);
/* A new connection between driver @d and its class server: its end, in
 * d->class_fd (-1 for a driver of no class); 0 or -1 after one line. */
int class_connect(struct driver *d);

/* launch.c */
/* NAME[,ARG...]@SLOT[,SLOT...] into @d: found, checked; -1 after one line. */
int parse_driver(struct driver *d, const char *spec);
/* The drivers built and the binary modules, for --help. */
void list_linux_drivers(FILE *out);
/* Every slot the drivers name exists on the machine and is theirs to claim. */
int check_slots(const struct ddeio_device *devs, int n, struct driver *drv, int ndrv);
/* A driver for every device no --driver names, from the driver index. */
int auto_drivers(const struct ddeio_device *devs, int n, const struct machine_config *cfg,
		 struct driver *drv, int *ndrv);
/* Open @d's connections, plan its sandbox (the @index-th driver) and start it. */
int launch_driver(struct session *s, struct driver *d, int index);
void describe_exit(const struct driver *d);
/* SIGTERM, then SIGKILL what did not stop; waits for all. */
void stop_drivers(struct driver *drv, int ndrv);

#endif
