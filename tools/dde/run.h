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
	struct dde_class *also;	/* a second one, or NULL (a USB host: input, and block) */
	char unit[16];		/* its unit at that server where it has one: net0, net1, ... */
	char instance[200];	/* NAME@SLOTS: how the driver names itself (DDE_DRIVER) */
	int io_fd, class_fd;	/* its connections to ddeio and to its class server */
	int also_fd;		/* ... and to the second (-1: none) */
	int ctl_fd, ctl_peer;	/* dde's control channel to it (dde pm): ours, its end */
	bool ctl;		/* ctl_fd is open */
	bool suspended;		/* dde pm suspend: its class server's hang reports wait */
	struct sandbox sb;
	/* supervision (supervise.c) */
	enum { DRV_RUNNING, DRV_WAITING, DRV_EXITED, DRV_GIVEN_UP,
	       DRV_STOPPED,	/* stopped on request (dde driver stop, its device leaving) */
	       DRV_REMOVED,	/* its device is gone: the entry is free */
	} state;
	unsigned restarts;	/* how often it was restarted */
	long long restart_at;	/* DRV_WAITING: when (monotonic ms) */
	long long fail_ms[16];	/* its last failures (a ring), for the window */
	unsigned nfail;
	char cause[160];	/* why it last failed */
	long long cause_ms;	/* when */
	char hang[160];		/* killed for a hang: the class server's words */
};

/* How dde run was asked to run drivers. */
struct run_options {
	char engine[16];	/* --engine: how binary modules run (native, dbt) */
	char stubs[8];		/* --allow-stubs: what missing imports get (refuse, allow) */
	bool no_sandbox;	/* drivers unconfined, and may be started by hand */
	bool manual;		/* only the --driver ones */
	bool prefer_ko;		/* binary modules before source drivers */
	int restarts;		/* --restarts: failures within the window before giving up */
	unsigned window_ms;	/* --restart-window */
	unsigned hang_ms;	/* --hang-timeout: the class servers report a driver hung */
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
	/* tell the server driver @d will not come back (or NULL); 0 or -1 */
	int (*give_up)(int control, const struct driver *d);
	/* a message from the server on @control: the key (instance or unit) of
	 * a driver it reports hung into @who, the reason into @why; 1 if so,
	 * 0 for anything else, -1 when the server closed it */
	int (*report)(int control, char *who, size_t cap, char *why, size_t wcap);

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
/* Start @c's server now (a driver of a class none had started); 0 or -1. */
int class_start(struct dde_class *c);
void classes_stop(void);
/* The class whose server is @pid, or NULL. */
struct dde_class *class_of_server(pid_t pid);
/* A new connection between driver @d and its class server: its end, in
 * d->class_fd (-1 for a driver of no class); 0 or -1 after one line. */
int class_connect(struct driver *d);
/* Tell @d's class server that @d will not come back. */
void class_give_up(const struct driver *d);
/* The driver of @drv that class @c's server reported hung on its control
 * channel (its reason in @why), or NULL; *closed set if the server closed it. */
struct driver *class_hung(struct dde_class *c, struct driver *drv, int ndrv, char *why,
			  size_t cap, bool *closed);
/* The classes' control channels, for poll: into @fds (at most @max), their classes into @cls. */
int class_control_fds(int *fds, struct dde_class **cls, int max);

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
/* Start @d again on its devices (new connections, the same sandbox). */
int respawn_driver(struct session *s, struct driver *d);
void describe_exit(const struct driver *d);
/* SIGTERM, then SIGKILL what did not stop; waits for all. */
void stop_drivers(struct driver *drv, int ndrv);

/* run.c */
/* The machine's devices, as ddeio lists them: how many (at most @max), or -1. */
int list_machine_devices(struct session *s, struct ddeio_device *devs, unsigned max);

/* supervise.c */
/* Run until the last driver has ended (on a machine without hot-plug
 * ports, no driver stopped on request) or a signal stops dde: restart
 * drivers that die or hang, answer `dde status` and the requests of
 * `dde hotplug` and `dde driver`. 1 if something failed. */
int supervise(struct session *s, struct driver *drv, int *ndrv, int sfd);

#endif
