/*
 * ddekit — the host-neutral foundation every driver process stands on.
 *
 * This umbrella header pulls in one header per area. A driver (or the
 * Linux emulation on top of it) includes only this. Porting the project to
 * another host means reimplementing these functions, nothing else.
 *
 * Error convention: functions returning int give 0 on success or a negative
 * errno value; the reason is also logged and kept (ddekit_last_error()).
 */
#ifndef DDEKIT_H
#define DDEKIT_H

#include <ddekit/log.h>
#include <ddekit/memory.h>
#include <ddekit/thread.h>
#include <ddekit/lock.h>
#include <ddekit/timer.h>
#include <ddekit/interrupt.h>
#include <ddekit/io.h>
#include <ddekit/pci.h>

/*
 * Connect this process to the I/O server and claim its devices.
 * The I/O server's address, the device slots and the driver's name come
 * from the environment set up by `dde run` (DDE_IO, DDE_DEVICES,
 * DDE_DRIVER), so a driver can also be started by hand under gdb.
 * @name: driver name used in logs when DDE_DRIVER is not set.
 * Returns 0, or a negative errno after logging why (no server, device
 * already claimed by another driver, ...).
 */
int ddekit_init(const char *name);

/* Release every grant and disconnect; the devices can be claimed again. */
void ddekit_exit(void);

#endif
