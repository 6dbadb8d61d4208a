/* dde run's side of hotplug and of starting and stopping drivers (hotplug.c). */
#ifndef DDE_HOTPLUG_H
#define DDE_HOTPLUG_H

#include <stdbool.h>

#include "../../common/machine.h"
#include "session.h"

#define STATUS_TEXT_MAX 8192

struct driver;
struct answer;

/* The machine's hot-plug ports (@cfg) and dde run's own monitor of QEMU. */
void hotplug_init(const struct machine_config *cfg, const char *monitor);
/* Whether the machine has hot-plug ports. */
bool hotplug_ports(void);
/*
 * Ask ddeio what changed on the slots and act on it: drivers started for
 * new devices, stopped for leaving ones (which are then ejected); lines
 * into @a (NULL: only the log). The number of events, or -1.
 */
int hotplug_scan(struct session *s, struct driver *drv, int *ndrv, struct answer *a);
/* Serve one request on the status socket's connection @fd (hotplug add|del,
 * driver start|stop): the answer goes back on @fd. */
void hotplug_request(int fd, const char *req, struct session *s, struct driver *drv, int *ndrv);

int dde_hotplug(int argc, char **argv);
int dde_driver(int argc, char **argv);
int dde_pm(int argc, char **argv);
int dde_usb(int argc, char **argv);

#endif
