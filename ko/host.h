/*
 * The binary driver host's parts (ko/host.c: loading, the engines,
 * stopping; ko/watch.c: module code at run time) and what they share.
 */
#ifndef KO_HOST_H
#define KO_HOST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <ko/exports.h>
#include <ko/file.h>
#include <ko/load.h>

#define MAX_MODULES 32	/* a USB host: its controller, usbcore, HID, usb-storage, SCSI: 16 */

struct host_module {
	char path[PATH_MAX];
	struct ko_file file;
	struct ko_module m;
	const char *name;
};

extern struct host_module mods[MAX_MODULES];
extern unsigned nmods;
extern int translated;		/* --engine dbt */
extern char driver_name[64];

/* the library's exports by address (for naming a place in the library) */
extern const struct ko_export_entry **by_address;
int by_addr(const void *a, const void *b);

/* the import a stub stands for, if ADDR lies in one, else NULL */
const char *stub_name(unsigned long addr);

/* watch.c: WARN, BUG and faults in module code */
int describe(unsigned long addr, char *buf, unsigned long len);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int bug_at(unsigned long pc);
void report_stub(const char *name, const char *from);
void watch_module_code(void);

#endif
