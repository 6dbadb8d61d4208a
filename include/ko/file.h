/*
 * ko/file.c: module files as both the inspector (dde ko info) and the
 * driver host (ko/host.c) find and read them.
 */
#ifndef KO_FILE_H
#define KO_FILE_H

#include <stddef.h>

#include <ko/ko.h>

/* a module file, mapped read-only and checked (ko_parse) */
struct ko_file {
	void *map;
	size_t size;
	struct ko_image img;
};

/* 0, or -1 with one line in ERR (the file's name is the caller's to add) */
int ko_open(const char *path, struct ko_file *f, char *err, size_t errlen);
void ko_close(struct ko_file *f);

/* Where dependency DEP (a `depends=` name) of the module at PATH is: beside it. */
void ko_dependency_path(const char *path, const char *dep, char *out, size_t outlen);

/*
 * The module Linux's udev would load for the devices module NAME creates
 * (scsi_mod's SCSI disks: sd_mod), or that NAME needs to see its device at
 * all (virtio_net's transport: virtio_pci), which no module depends on; or
 * NULL.
 * The driver host loads it, found beside the driver, as a dependency.
 * A module may have several (usbcore: usbhid, usb-storage): the @nth one,
 * from 0, or NULL past the last.
 */
const char *ko_companion(const char *name, unsigned nth);

/* the CRC the module was built against for NAME (__versions), or NULL */
const struct ko_version *ko_version_of(const struct ko_image *img, const char *name);

/* the module's own export NAME (__ksymtab), or NULL */
const struct ko_export *ko_export_of(const struct ko_image *img, const char *name);

#endif
