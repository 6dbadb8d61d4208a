/*
 * dde efi info FILE — what a UEFI driver image is: machine, subsystem,
 * layout in memory, entry point, sections, relocations and the protocols
 * and GUIDs it references. FILE is a PE32+ image (.efi, an edk2 driver as
 * UEFIExtract leaves it) or a PCI option ROM (.rom) carrying one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <efi/guids.h>
#include <efi/pe.h>

#include "dde.h"

#define USAGE "dde efi info FILE.efi|FILE.rom"

/* FILE, mapped read-only; NULL with one line in ERR */
static void *map_file(const char *path, size_t *size, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "empty file");
		close(fd);
		return NULL;
	}
	*size = (size_t)st.st_size;
	p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map it: %s", strerror(errno));
		return NULL;
	}
	return p;
}

static void print_guid(const uint8_t guid[16], const char *name, unsigned count, void *ctx)
{
	struct efi_guid g = { efi_le32(guid), efi_le16(guid + 4), efi_le16(guid + 6), { 0 } };
	char text[37];

	(void)ctx;
	memcpy(g.d4, guid + 8, 8);
	printf("    %-44s %s", name, efi_guid_text(&g, text));
	if (count > 1)
		printf("  (%u times)", count);
	printf("\n");
}

static int info(const char *path)
{
	struct efi_image img;
	struct efi_rom rom = { 0 };
	const uint8_t *file;
	size_t size, off = 0, len;
	char err[256];
	int is_rom;
	unsigned n;

	file = map_file(path, &size, err, sizeof(err));
	if (!file)
		goto bad;
	len = size;
	is_rom = size >= 2 && file[0] == 0x55 && file[1] == 0xaa;
	if (is_rom) {
		if (efi_rom_scan(file, size, &rom, err, sizeof(err)))
			goto bad_unmap;
		off = rom.pe_off;
		len = rom.pe_len;
	}
	if (efi_pe_parse(file + off, len, &img, err, sizeof(err)))
		goto bad_unmap;
	if (!efi_machine_supported(img.machine)) {
		snprintf(err, sizeof(err), "image is for %s (%#x), not x86-64 or AArch64",
			 efi_machine_name(img.machine), img.machine);
		goto bad_unmap;
	}

	printf("file:       %s, %zu bytes, %s\n", path, size, is_rom ? "PCI option ROM" : "PE32+ image");
	if (is_rom)
		printf("rom:        image %u of %u at %#zx (PCI %04x:%04x), "
		       "its PE32+ image at %#zx, %zu bytes\n", rom.index + 1, rom.count,
		       rom.image_off, rom.vendor, rom.device, rom.pe_off, rom.pe_len);
	printf("machine:    %s (%#x)\n", efi_machine_name(img.machine), img.machine);
	printf("subsystem:  %s (%u)\n", efi_subsystem_name(img.subsystem), img.subsystem);
	printf("image:      base 0x%llx, %u bytes in memory (%#x), headers %#x, section alignment %#x, "
	       "file alignment %#x\n", (unsigned long long)img.image_base, img.image_size,
	       img.image_size, img.header_size, img.section_align, img.file_align);
	printf("entry:      RVA %#x", img.entry_rva);
	for (unsigned i = 0; i < img.nsec; i++) {
		const struct efi_section *s = &img.sec[i];

		if (img.entry_rva >= s->vaddr && img.entry_rva - s->vaddr < s->vsize)
			printf(" (%s+%#x)", s->name, img.entry_rva - s->vaddr);
	}
	printf("\nsections:   %u\n", img.nsec);
	printf("    %-8s %10s %10s %10s  %s\n", "name", "rva", "size", "file size", "flags");
	for (unsigned i = 0; i < img.nsec; i++) {
		const struct efi_section *s = &img.sec[i];

		printf("    %-8s %#10x %#10x %#10x  %c%c%c\n", s->name, s->vaddr, s->vsize, s->raw_size,
		       s->flags & EFI_SCN_READ ? 'r' : '-', s->flags & EFI_SCN_WRITE ? 'w' : '-',
		       s->flags & EFI_SCN_EXECUTE ? 'x' : '-');
	}
	if (img.reloc_size)
		printf("relocations: %u DIR64 (directory at RVA %#x, %u bytes)\n", img.nreloc,
		       img.reloc_rva, img.reloc_size);
	else
		printf("relocations: none%s\n", img.characteristics & EFI_FILE_RELOCS_STRIPPED ?
		       " (stripped: the image runs only at its base)" : "");
	n = efi_pe_guids(&img, NULL, NULL);
	printf("GUIDs:      %u known%s\n", n, n ? ":" : "");
	efi_pe_guids(&img, print_guid, NULL);
	munmap((void *)file, size);
	return 0;

bad_unmap:
	munmap((void *)file, size);
bad:
	fprintf(stderr, "dde: %s: %s\n", path, err);
	return 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " USAGE "\n"
		"\n"
		"Describe a UEFI driver image (PE32+), or the one in a PCI option ROM:\n"
		"machine, subsystem, layout in memory, entry point, sections, relocations\n"
		"and the protocols and GUIDs it references.\n");
}

int dde_efi(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "info")) {
		fprintf(stderr, "dde efi: unknown subcommand '%s' (usage: %s)\n", argv[1], USAGE);
		return 2;
	}
	if (argc != 3) {
		fprintf(stderr, "dde efi info: give one image file (usage: %s)\n", USAGE);
		return 2;
	}
	return info(argv[2]);
}
