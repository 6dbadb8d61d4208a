/*
 * efi/pe: reading and placing a UEFI driver image (PE32+, as the PE/COFF
 * specification and UEFI's image chapter define it), and finding one in a
 * PCI option ROM.
 *
 * efi_pe_parse() checks a whole image once: the DOS and PE headers, every
 * section's extent in the file and in memory, the data directories and
 * every relocation. Only then does anything else (dde efi info, the driver
 * host) look at it, so a truncated or corrupted image is refused with one
 * clear line and never half-read. Like ko_parse, it allocates nothing and
 * keeps pointers into the caller's bytes.
 */
#ifndef EFI_PE_H
#define EFI_PE_H

#include <stddef.h>
#include <stdint.h>

#define EFI_MAX_SECTIONS	96
/* larger than any driver (iPXE's whole stack is 700 KiB): a bound on what
 * a corrupted SizeOfImage may make a caller allocate */
#define EFI_MAX_IMAGE_SIZE	(64u << 20)

#define EFI_MACHINE_X86_64	0x8664
#define EFI_MACHINE_AARCH64	0xaa64

#define EFI_SUBSYSTEM_APPLICATION	10
#define EFI_SUBSYSTEM_BOOT_DRIVER	11
#define EFI_SUBSYSTEM_RUNTIME_DRIVER	12

/* COFF characteristics (IMAGE_FILE_*) */
#define EFI_FILE_RELOCS_STRIPPED	0x0001u	/* runs only at its ImageBase */
#define EFI_FILE_EXECUTABLE		0x0002u	/* an image, not an object file */

/* section characteristics (IMAGE_SCN_*) */
#define EFI_SCN_CODE		0x00000020u
#define EFI_SCN_DATA		0x00000040u
#define EFI_SCN_BSS		0x00000080u
#define EFI_SCN_EXECUTE		0x20000000u
#define EFI_SCN_READ		0x40000000u
#define EFI_SCN_WRITE		0x80000000u

/* little-endian fields of a file that need not be aligned */
static inline uint16_t efi_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t efi_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t efi_le64(const uint8_t *p)
{
	return (uint64_t)efi_le32(p) | (uint64_t)efi_le32(p + 4) << 32;
}

struct efi_section {
	char name[9];			/* printable, NUL-terminated */
	uint32_t vaddr;			/* RVA */
	uint32_t vsize;			/* bytes in memory (SizeOfRawData if the header says 0) */
	uint32_t raw_off, raw_size;	/* in the file; the loader copies min(raw_size, vsize) */
	uint32_t flags;			/* EFI_SCN_* */
};

struct efi_image {
	const uint8_t *data;		/* the file, kept by the caller while the image is used */
	size_t size;
	uint16_t machine;		/* EFI_MACHINE_*, or any other (efi_machine_supported) */
	uint16_t subsystem;		/* EFI_SUBSYSTEM_* */
	uint16_t characteristics;	/* EFI_FILE_* */
	uint64_t image_base;		/* where it was linked to run (0 for edk2's and iPXE's) */
	uint32_t image_size;		/* SizeOfImage: the bytes to allocate */
	uint32_t entry_rva;
	uint32_t header_size;		/* SizeOfHeaders: loaded at the start */
	uint32_t section_align, file_align;
	unsigned nsec;
	struct efi_section sec[EFI_MAX_SECTIONS];
	uint32_t reloc_rva, reloc_size;	/* the base relocation directory, 0/0 if none */
	uint32_t reloc_off;		/* where it is in the file */
	unsigned nreloc;		/* DIR64 fixups */
};

/* Checks and indexes the image DATA (SIZE bytes, kept by the caller while
 * IMG is used). Any machine is accepted (see efi_machine_supported).
 * 0, or -1 with one line in ERR. */
int efi_pe_parse(const void *data, size_t size, struct efi_image *img, char *err, size_t errlen);

/*
 * Places a parsed image in MEM (img->image_size bytes, allocated by the
 * caller and aligned to at least a page) so that it runs at address BASE:
 * the headers and every section copied, the rest zeroed, every DIR64
 * fixup moved by BASE - image_base. MEM is usually BASE itself; a
 * translated engine may place an image at an address other than its own.
 * 0, or -1 with one line in ERR.
 */
int efi_pe_load(const struct efi_image *img, void *mem, uint64_t base, char *err, size_t errlen);

/* for the readers (efi/pe.c, efi/rom.c): FMT as one line into ERR; -1 */
int efi_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "x86-64", "AArch64", "IA-32", "ARM", ... or "unknown machine" */
const char *efi_machine_name(uint16_t machine);
/* "Boot Service Driver", "Runtime Driver", "Application", ... or "unknown subsystem" */
const char *efi_subsystem_name(uint16_t subsystem);
/* 1 for the machines whose images we run (x86-64 natively, AArch64 translated) */
int efi_machine_supported(uint16_t machine);

/*
 * The known GUIDs (efi_guid_name) the image's section contents hold at
 * 4-byte aligned RVAs, as EFI_GUIDs are laid out: CB (if not NULL) is
 * called once per distinct GUID, in the order of first appearance, with
 * how often it occurs. Returns the number of distinct GUIDs.
 */
unsigned efi_pe_guids(const struct efi_image *img,
		      void (*cb)(const uint8_t guid[16], const char *name, unsigned count, void *ctx),
		      void *ctx);

/* one image of a PCI option ROM's chain that carries a UEFI driver */
struct efi_rom {
	size_t image_off, image_len;	/* the ROM image (0x55 0xAA ...) in the file */
	size_t pe_off, pe_len;		/* the PE32+ image in the file */
	unsigned index, count;		/* which image of the chain (from 0), of how many */
	uint16_t vendor, device;	/* from its PCIR structure */
	uint16_t subsystem, machine;	/* from its EFI ROM header */
};

/*
 * Walks the option ROM's image chain and finds its EFI image (code type
 * 3; the first of a supported machine if there are several). 0, or -1
 * with one line in ERR.
 */
int efi_rom_scan(const void *rom, size_t size, struct efi_rom *out, char *err, size_t errlen);
/* the same, giving only where the PE32+ image is in the file */
int efi_rom_find(const void *rom, size_t size, size_t *off, size_t *len, char *err, size_t errlen);

#endif
