/*
 * The driver index (share/dde/drivers.index, made by tools/mkindex at build
 * time): which driver — built from source, or one of Debian's binary
 * modules — claims which PCI devices, matched as Linux matches modaliases.
 */
#ifndef DDE_INDEX_H
#define DDE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../ddekit/client.h"

struct index_line {
	bool source;		/* built from source (else a binary module) */
	char name[64];		/* the driver (drivers/NAME) or module (NAME.ko) */
	char cls[8];		/* net, block, sound, usb, input, or "-" */
	char pattern[96];	/* pci:v...d...sv...sd...bc..sc..i.., or "-" */
};

struct driver_index {
	struct index_line *line;
	unsigned n;
	unsigned modules;	/* distinct binary modules */
};

/* Read the index the build made next to this program; 0 or -1 + ERR. */
int index_load(struct driver_index *ix, char *err, size_t cap);
void index_free(struct driver_index *ix);

/* Linux's modalias of a PCI function (what /sys/.../modalias says) */
void index_modalias(const struct ddeio_device *d, char *out, size_t cap);

/* a candidate driver of a device: each driver once, source ones first */
struct candidate {
	bool source;
	char name[64];
	char cls[8];
	int specific;		/* how exactly its best pattern names the device */
};

/* The candidates for the device with MODALIAS; how many (at most CAP).
 * Source drivers first, then binary modules; within each, those naming the
 * device most exactly first (ata_piix's vendor and device before
 * ata_generic's "any IDE controller"). */
unsigned index_match(const struct driver_index *ix, const char *modalias, struct candidate *out,
		     unsigned cap);

/* the line of driver NAME (SOURCE or binary), or NULL if the index lacks it */
const struct index_line *index_find(const struct driver_index *ix, const char *name, bool source);

/*
 * Whether this build can run candidate C: a source driver's program exists
 * (drivers/NAME), or a binary module's class has a driver host
 * (drivers/ko-CLASS). WHY gets the reason when it cannot.
 */
bool index_runnable(const struct candidate *c, char *why, size_t cap);

/* The candidate `dde run` starts: the first runnable one, source drivers
 * first unless PREFER_KO; NULL if none is runnable. */
const struct candidate *index_choose(const struct candidate *c, unsigned n, bool prefer_ko);

#endif
