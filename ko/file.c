/*
 * Module files: mapping and checking one, finding its dependencies, and
 * looking up its __versions and __ksymtab entries by name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ko/file.h>

int ko_open(const char *path, struct ko_file *f, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(f, 0, sizeof(*f));
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	f->size = (size_t)st.st_size;
	f->map = f->size ? mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (f->map == MAP_FAILED) {
		snprintf(err, errlen, "cannot map it: %s", strerror(errno));
		f->map = NULL;
		return -1;
	}
	if (ko_parse(f->map, f->size, &f->img, err, errlen) < 0) {
		if (f->map)
			munmap(f->map, f->size);
		f->map = NULL;
		return -1;
	}
	return 0;
}

void ko_close(struct ko_file *f)
{
	ko_free(&f->img);
	if (f->map)
		munmap(f->map, f->size);
	memset(f, 0, sizeof(*f));
}

void ko_dependency_path(const char *path, const char *dep, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');

	if (slash)
		snprintf(out, outlen, "%.*s/%s.ko", (int)(slash - path), path, dep);
	else
		snprintf(out, outlen, "%s.ko", dep);
}

const char *ko_companion(const char *name, unsigned nth)
{
	static const struct { const char *loaded, *companion; } table[] = {
		{ "scsi_mod", "sd_mod" },
		/* a virtio device's driver needs its transport, which claims the
		 * PCI device and registers the virtio device the driver takes */
		{ "virtio_net", "virtio_pci" },
		{ "virtio_blk", "virtio_pci" },
		/* QEMU's HD Audio codec has no vendor driver: Linux would load
		 * the generic parser on request (request_module) */
		{ "snd_hda_codec", "snd-hda-codec-generic" },
		/* USB's class drivers: Linux loads them for the devices the hub
		 * driver finds (by their modaliases); a host loads them up front */
		{ "usbcore", "usbhid" },
		{ "usbcore", "usb-storage" },
		{ "hid", "hid-generic" },
	};
	unsigned k = 0;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].loaded, name) && k++ == nth)
			return table[i].companion;
	return NULL;
}

const struct ko_version *ko_version_of(const struct ko_image *img, const char *name)
{
	for (unsigned i = 0; i < img->nver; i++)
		if (!strcmp(img->ver[i].name, name))
			return &img->ver[i];
	return NULL;
}

const struct ko_export *ko_export_of(const struct ko_image *img, const char *name)
{
	for (unsigned i = 0; i < img->nexp; i++)
		if (!strcmp(img->exp[i].name, name))
			return &img->exp[i];
	return NULL;
}
