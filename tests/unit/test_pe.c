/*
 * The PE32+ reader and loader (efi/pe.c) and the option ROM reader
 * (efi/rom.c): a small PE32+ image built here, loaded and relocated and
 * checked byte for byte, then mutated field by field and truncated, each
 * copy refused with the line that names its fault; a two-image option
 * ROM around it. With DDE_EFI_DIR (tools/fetch-efi's directory), also
 * OVMF's and AAVMF's NvmExpressDxe and iPXE's e1000 ROM, placed twice at
 * different addresses: exactly their DIR64 fixups differ, by the distance.
 *
 * DDE_PE_SEED_DIR=DIR writes the synthetic image and ROM there (the fuzz
 * seeds in tests/fuzz/corpus_pe are made so).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <efi/guids.h>
#include <efi/pe.h>

/* --- a synthetic image: headers, .text, .data, .reloc --- */

#define LFANEW		0x80
#define COFF		(LFANEW + 4)
#define OPT		(COFF + 20)
#define DIRS		(OPT + 112)
#define DIR_RELOC	(DIRS + 5 * 8)
#define SEC(i)		(OPT + 240 + 40 * (i))
#define HEADERS		0x400
#define TEXT_FILE	0x400
#define DATA_FILE	0x600
#define RELOC_FILE	0x800
#define FILE_SIZE	0xa00
#define IMAGE_SIZE	0x5000
#define IMAGE_BASE	0x10000000ull
#define ENTRY		0x1010

static const uint8_t pci_io[16] = { 0x00, 0xb2, 0xf5, 0x4c, 0xb8, 0x68, 0xa5, 0x4c,
				    0x9e, 0xec, 0xb2, 0x3e, 0x3f, 0x50, 0x02, 0x9a };
static const uint8_t binding[16] = { 0xab, 0x31, 0xa0, 0x18, 0x43, 0xb4, 0x1a, 0x4d,
				     0xa5, 0xc0, 0x0c, 0x09, 0x26, 0x1e, 0x9f, 0x71 };
static const uint8_t block_io[16] = { 0x21, 0x5b, 0x4e, 0x96, 0x59, 0x64, 0xd2, 0x11,
				      0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b };

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, (uint16_t)v);
	w16(p + 2, (uint16_t)(v >> 16));
}

static void w64(uint8_t *p, uint64_t v)
{
	w32(p, (uint32_t)v);
	w32(p + 4, (uint32_t)(v >> 32));
}

static void section(uint8_t *f, int i, const char *name, uint32_t vaddr, uint32_t vsize,
		    uint32_t raw_off, uint32_t raw_size, uint32_t flags)
{
	uint8_t *h = f + SEC(i);

	memcpy(h, name, strlen(name));
	w32(h + 8, vsize);
	w32(h + 12, vaddr);
	w32(h + 16, raw_size);
	w32(h + 20, raw_off);
	w32(h + 36, flags);
}

/* FILE_SIZE bytes: .text at 0x1000 (0x100 of its 0x200 file bytes loaded),
 * .data at 0x2000 (0x1800, 0x200 from the file) with two pointers to
 * relocate and three GUIDs, .reloc at 0x4000: one block, DIR64 x2 and
 * ABSOLUTE padding */
static void build_image(uint8_t *f)
{
	uint8_t *d = f + DATA_FILE, *r = f + RELOC_FILE;

	memset(f, 0, FILE_SIZE);
	f[0] = 'M';
	f[1] = 'Z';
	w32(f + 0x3c, LFANEW);
	memcpy(f + LFANEW, "PE\0\0", 4);
	w16(f + COFF, EFI_MACHINE_X86_64);
	w16(f + COFF + 2, 3);
	w16(f + COFF + 16, 240);		/* SizeOfOptionalHeader: 16 directories */
	w16(f + COFF + 18, 0x2e);		/* executable, as edk2's GenFw sets */
	w16(f + OPT, 0x20b);
	w32(f + OPT + 16, ENTRY);
	w64(f + OPT + 24, IMAGE_BASE);
	w32(f + OPT + 32, 0x1000);
	w32(f + OPT + 36, 0x200);
	w32(f + OPT + 56, IMAGE_SIZE);
	w32(f + OPT + 60, HEADERS);
	w16(f + OPT + 68, EFI_SUBSYSTEM_BOOT_DRIVER);
	w32(f + OPT + 108, 16);
	w32(f + DIR_RELOC, 0x4000);
	w32(f + DIR_RELOC + 4, 16);
	section(f, 0, ".text", 0x1000, 0x100, TEXT_FILE, 0x200,
		EFI_SCN_CODE | EFI_SCN_EXECUTE | EFI_SCN_READ);
	section(f, 1, ".data", 0x2000, 0x1800, DATA_FILE, 0x200,
		EFI_SCN_DATA | EFI_SCN_READ | EFI_SCN_WRITE);
	section(f, 2, ".reloc", 0x4000, 16, RELOC_FILE, 0x200, EFI_SCN_DATA | EFI_SCN_READ);

	memset(f + TEXT_FILE, 0xcc, 0x200);	/* its second half must not be loaded */
	w64(d + 0x00, IMAGE_BASE + 0x1000);
	w64(d + 0x08, IMAGE_BASE + 0x2010);
	w64(d + 0x10, 0x1122334455667788ull);	/* no fixup: stays */
	memcpy(d + 0x40, pci_io, 16);
	memcpy(d + 0x80, pci_io, 16);
	memcpy(d + 0x100, binding, 16);
	memcpy(d + 0x112, block_io, 16);	/* not 4-aligned: not a GUID */
	w32(r, 0x2000);
	w32(r + 4, 16);
	w16(r + 8, 0xa000);
	w16(r + 10, 0xa008);			/* and two ABSOLUTE (0) */
}

static int parse(const uint8_t *f, size_t size, struct efi_image *img, char *err, size_t errlen)
{
	err[0] = 0;
	return efi_pe_parse(f, size, img, err, errlen);
}

static void test_synthetic_parse(void **state)
{
	static uint8_t f[FILE_SIZE];
	struct efi_image img;
	char err[256];

	build_image(f);
	assert_int_equal(parse(f, sizeof(f), &img, err, sizeof(err)), 0);
	assert_int_equal(img.machine, EFI_MACHINE_X86_64);
	assert_int_equal(img.subsystem, EFI_SUBSYSTEM_BOOT_DRIVER);
	assert_true(img.image_base == IMAGE_BASE);
	assert_int_equal(img.image_size, IMAGE_SIZE);
	assert_int_equal(img.entry_rva, ENTRY);
	assert_int_equal(img.header_size, HEADERS);
	assert_int_equal(img.nsec, 3);
	assert_string_equal(img.sec[0].name, ".text");
	assert_string_equal(img.sec[2].name, ".reloc");
	assert_int_equal(img.sec[1].vaddr, 0x2000);
	assert_int_equal(img.sec[1].vsize, 0x1800);
	assert_int_equal(img.reloc_rva, 0x4000);
	assert_int_equal(img.reloc_size, 16);
	assert_int_equal(img.nreloc, 2);
	assert_true(efi_machine_supported(img.machine));
	assert_string_equal(efi_machine_name(img.machine), "x86-64");
	assert_string_equal(efi_subsystem_name(img.subsystem), "Boot Service Driver");
}

static void test_synthetic_load(void **state)
{
	static uint8_t f[FILE_SIZE];
	const uint64_t base = 0x7f1234560000ull;
	struct efi_image img;
	char err[256];
	uint8_t *m = aligned_alloc(4096, IMAGE_SIZE);

	assert_non_null(m);
	build_image(f);
	assert_int_equal(parse(f, sizeof(f), &img, err, sizeof(err)), 0);
	memset(m, 0xee, IMAGE_SIZE);		/* the loader must clear it */
	assert_int_equal(efi_pe_load(&img, m, base, err, sizeof(err)), 0);

	assert_memory_equal(m, f, HEADERS);
	for (unsigned i = HEADERS; i < 0x1000; i++)
		assert_int_equal(m[i], 0);
	for (unsigned i = 0x1000; i < 0x1100; i++)
		assert_int_equal(m[i], 0xcc);
	for (unsigned i = 0x1100; i < 0x2000; i++)	/* beyond .text's VirtualSize */
		assert_int_equal(m[i], 0);
	/* the fixups moved by base - ImageBase, nothing else */
	assert_true(efi_le64(m + 0x2000) == base + 0x1000);
	assert_true(efi_le64(m + 0x2008) == base + 0x2010);
	assert_true(efi_le64(m + 0x2010) == 0x1122334455667788ull);
	assert_memory_equal(m + 0x2018, f + DATA_FILE + 0x18, 0x200 - 0x18);
	for (unsigned i = 0x2200; i < 0x4000; i++)	/* .data beyond its file bytes */
		assert_int_equal(m[i], 0);
	assert_memory_equal(m + 0x4000, f + RELOC_FILE, 16);
	for (unsigned i = 0x4010; i < IMAGE_SIZE; i++)
		assert_int_equal(m[i], 0);

	/* at its own base nothing moves */
	assert_int_equal(efi_pe_load(&img, m, IMAGE_BASE, err, sizeof(err)), 0);
	assert_true(efi_le64(m + 0x2000) == IMAGE_BASE + 0x1000);

	/* SectionAlignment is a promise to the code (page-relative addressing) */
	assert_int_equal(efi_pe_load(&img, m, base + 0x800, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not aligned"));
	/* an image without relocations runs only at its base */
	w16(f + COFF + 18, 0x2f);		/* IMAGE_FILE_RELOCS_STRIPPED */
	assert_int_equal(parse(f, sizeof(f), &img, err, sizeof(err)), 0);
	assert_int_equal(efi_pe_load(&img, m, base, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "relocations stripped"));
	free(m);
}

struct found {
	unsigned n, pci_io, binding, other;
};

static void note_guid(const uint8_t guid[16], const char *name, unsigned count, void *ctx)
{
	struct found *x = ctx;

	assert_non_null(name);
	assert_ptr_equal(efi_guid_name(guid), name);
	x->n++;
	if (!memcmp(guid, pci_io, 16))
		x->pci_io = count;
	else if (!memcmp(guid, binding, 16))
		x->binding = count;
	else
		x->other++;
}

static void test_synthetic_guids(void **state)
{
	static uint8_t f[FILE_SIZE];
	struct efi_image img;
	struct found x = { 0 };
	char err[256];

	build_image(f);
	assert_int_equal(parse(f, sizeof(f), &img, err, sizeof(err)), 0);
	assert_non_null(strstr(efi_guid_name(pci_io), "PCI_IO"));
	assert_int_equal(efi_pe_guids(&img, note_guid, &x), 2);
	assert_int_equal(x.n, 2);
	assert_int_equal(x.pci_io, 2);
	assert_int_equal(x.binding, 1);
	assert_int_equal(x.other, 0);		/* Block I/O's is not 4-aligned */
	assert_int_equal(efi_pe_guids(&img, NULL, NULL), 2);
}

/* one field of the image changed, and the phrase its refusal must hold */
struct mutation {
	const char *what;
	unsigned off, width;
	uint64_t value;
	const char *phrase;
};

static const struct mutation mutations[] = {
	{ "bad MZ", 0, 1, 'X', "no 'MZ'" },
	{ "e_lfanew into the DOS header", 0x3c, 4, 0x10, "DOS header" },
	{ "e_lfanew past the end", 0x3c, 4, 0x10000, "e_lfanew 0x10000" },
	{ "bad PE signature", LFANEW + 1, 1, 'F', "no 'PE' signature" },
	{ "an object file", COFF + 18, 2, 0x20, "not an executable image" },
	{ "PE32 magic", OPT, 2, 0x10b, "PE32 (32-bit)" },
	{ "other magic", OPT, 2, 0x107, "not PE32+" },
	{ "SizeOfOptionalHeader", COFF + 16, 2, 232, "does not match NumberOfRvaAndSizes" },
	{ "NumberOfRvaAndSizes", OPT + 108, 4, 17, "more than 16" },
	{ "SectionAlignment", OPT + 32, 4, 0x3000, "SectionAlignment 0x3000" },
	{ "FileAlignment", OPT + 36, 4, 0x2000, "FileAlignment 0x2000" },
	{ "SizeOfImage 0", OPT + 56, 4, 0, "SizeOfImage is 0" },
	{ "SizeOfImage huge", OPT + 56, 4, 0x8000000, "more than 64 MiB" },
	{ "ImageBase unaligned", OPT + 24, 8, 0x10000800, "ImageBase 0x10000800 not aligned" },
	{ "ImageBase wraps", OPT + 24, 8, 0xfffffffffffff000ull, "would wrap" },
	{ "no sections", COFF + 2, 2, 0, "no sections" },
	{ "huge NumberOfSections", COFF + 2, 2, 0xffff, "65535 sections (at most 96)" },
	{ "SizeOfHeaders past the file", OPT + 60, 4, 0x10000, "SizeOfHeaders 0x10000 beyond" },
	{ "SizeOfHeaders short", OPT + 60, 4, 0x100, "does not cover the section table" },
	{ "section past end of file", SEC(1) + 20, 4, 0x900, ".data: file data 0x900+0x200 beyond the end" },
	{ "section file data overflows", SEC(1) + 20, 4, 0xffffff00, "beyond the end of the file" },
	{ "section outside SizeOfImage", SEC(2) + 12, 4, 0x4ff8, ".reloc: RVA 0x4ff8+0x10 lies outside SizeOfImage" },
	{ "VirtualAddress+VirtualSize overflows", SEC(1) + 8, 4, 0xfffff000, "lies outside SizeOfImage" },
	{ "sections overlap", SEC(1) + 12, 4, 0x1080, ".data: RVA 0x1080 overlaps the section" },
	{ "sections unsorted", SEC(0) + 12, 4, 0x3000, ".data: RVA 0x2000 overlaps" },
	{ "section over the headers", SEC(0) + 12, 4, 0x200, "overlaps the headers" },
	{ "entry in .data", OPT + 16, 4, 0x2000, "entry point 0x2000 is not in an executable section" },
	{ "entry past .text", OPT + 16, 4, 0x1100, "not in an executable section" },
	{ ".text not executable", SEC(0) + 36, 4, EFI_SCN_CODE | EFI_SCN_READ, "not in an executable section" },
	{ "directory outside the image", DIR_RELOC + 4, 4, 0x2000, "data directory 5" },
	{ "relocations in no section's file data", DIR_RELOC, 4, 0x3000, "not in one section's file data" },
	{ "reloc block size 0", RELOC_FILE + 4, 4, 0, "size 0" },
	{ "reloc block odd size", RELOC_FILE + 4, 4, 15, "odd size 15" },
	{ "reloc block smaller than its header", RELOC_FILE + 4, 4, 6, "size 6, less than its 8-byte header" },
	{ "reloc block past the end", RELOC_FILE + 4, 4, 24, "past the end of the relocation directory" },
	{ "reloc HIGHLOW", RELOC_FILE + 8, 2, 0x3000, "relocation type 3 (HIGHLOW)" },
	{ "reloc type 5", RELOC_FILE + 10, 2, 0x5008, "relocation type 5" },
	{ "reloc outside the image", RELOC_FILE, 4, 0x4ffc, "relocation at RVA 0x4ffc lies outside" },
	{ "reloc page overflows", RELOC_FILE, 4, 0xfffffff8, "lies outside SizeOfImage" },
};

static void mutate(uint8_t *buf, const struct mutation *m)
{
	for (unsigned b = 0; b < m->width; b++)
		buf[m->off + b] = (uint8_t)(m->value >> (8 * b));
}

/* RC and ERR: refused, in one line holding the mutation's phrase */
static void check_refused(const struct mutation *m, int rc, const char *err)
{
	if (rc != -1 || !strstr(err, m->phrase))
		fail_msg("%s: %s, \"%s\" (wanted \"%s\")", m->what, rc ? "refused" : "accepted", err,
			 m->phrase);
	assert_null(strchr(err, '\n'));
}

static void test_mutations_refused(void **state)
{
	static uint8_t f[FILE_SIZE];
	struct efi_image img;
	char err[256];

	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		build_image(f);
		mutate(f, &mutations[i]);
		check_refused(&mutations[i], parse(f, sizeof(f), &img, err, sizeof(err)), err);
	}
}

static void test_truncated_refused(void **state)
{
	static uint8_t f[FILE_SIZE];
	struct efi_image img;
	char err[256];

	build_image(f);
	/* every copy shorter than the last section's file data is refused */
	for (size_t size = 0; size < FILE_SIZE; size++) {
		uint8_t *copy = malloc(size ? size : 1);	/* ASan sees any read past it */

		assert_non_null(copy);
		memcpy(copy, f, size);
		assert_int_equal(parse(copy, size, &img, err, sizeof(err)), -1);
		assert_true(err[0]);
		free(copy);
	}
	assert_int_equal(parse(f, 0x30, &img, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too short"));
	assert_int_equal(parse(f, 0x90, &img, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PE header is beyond the end of the file"));
	assert_int_equal(parse(f, 0x900, &img, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ".reloc: file data 0x800+0x200 beyond the end of the file"));
}

static void test_other_machine(void **state)
{
	static uint8_t f[FILE_SIZE];
	struct efi_image img;
	char err[256];

	build_image(f);
	w16(f + COFF, 0x1c2);
	assert_int_equal(parse(f, sizeof(f), &img, err, sizeof(err)), 0);
	assert_int_equal(img.machine, 0x1c2);
	assert_false(efi_machine_supported(img.machine));
	assert_string_equal(efi_machine_name(img.machine), "ARM");
	assert_true(efi_machine_supported(EFI_MACHINE_AARCH64));
	assert_string_equal(efi_machine_name(0x1234), "unknown machine");
}

/* --- option ROMs --- */

#define ROM_EFI		0x200		/* the second image */
#define ROM_PE		(ROM_EFI + 0x40)
#define ROM_SIZE	(ROM_EFI + 0xc00)

static void pcir(uint8_t *img, unsigned units, uint8_t code, uint8_t indicator)
{
	uint8_t *p = img + 0x1c;

	img[0] = 0x55;
	img[1] = 0xaa;
	w16(img + 0x18, 0x1c);
	memcpy(p, "PCIR", 4);
	w16(p + 4, 0x8086);
	w16(p + 6, 0x100e);
	w16(p + 0x0a, 0x18);
	w16(p + 0x10, (uint16_t)units);
	p[0x14] = code;
	p[0x15] = indicator;
}

/* a legacy image (code type 0) of 512 bytes, then an EFI one of 0xc00 */
static void build_rom(uint8_t *r)
{
	memset(r, 0, ROM_SIZE);
	pcir(r, 1, 0, 0);
	r[2] = 1;
	pcir(r + ROM_EFI, 6, 3, 0x80);
	w16(r + ROM_EFI + 2, 6);
	w32(r + ROM_EFI + 4, 0x0ef1);
	w16(r + ROM_EFI + 8, EFI_SUBSYSTEM_BOOT_DRIVER);
	w16(r + ROM_EFI + 0x0a, EFI_MACHINE_X86_64);
	w16(r + ROM_EFI + 0x16, 0x40);
	build_image(r + ROM_PE);
}

static const struct mutation rom_mutations[] = {
	{ "compressed", ROM_EFI + 0x0c, 2, 1, "compressed (compression type 1, UEFI compression)" },
	{ "unknown compression", ROM_EFI + 0x0c, 2, 7, "unknown compression type 7" },
	{ "no EFI image", ROM_EFI + 0x1c + 0x14, 1, 0,
	  "no EFI image in the option ROM (2 images: PC-AT BIOS, PC-AT BIOS)" },
	{ "EFI signature", ROM_EFI + 4, 4, 0x1234, "image 2: EFI signature 0x1234" },
	{ "EfiImageHeaderOffset", ROM_EFI + 0x16, 2, 0x2000, "EfiImageHeaderOffset 0x2000" },
	{ "PCIR signature", ROM_EFI + 0x1c + 3, 1, 'X', "image 2: no 'PCIR'" },
	{ "PCIR too short", ROM_EFI + 0x1c + 0x0a, 2, 0x10, "PCI data structure of 16 bytes" },
	{ "PCIR past the end", ROM_EFI + 0x18, 2, 0xfff0, "PCI data structure at 0x101f0 beyond" },
	{ "image length 0", 0x1c + 0x10, 2, 0, "image 1: length 0" },
	{ "image past the end", ROM_EFI + 0x1c + 0x10, 2, 7, "beyond the end of the file" },
	{ "chain broken", ROM_EFI, 1, 0, "image 2 at 0x200: no 0x55 0xAA" },
	{ "not a ROM", 1, 1, 0xab, "not a PCI option ROM" },
};

static void test_rom(void **state)
{
	static uint8_t r[ROM_SIZE];
	struct efi_image img;
	struct efi_rom info;
	size_t off, len;
	char err[256];

	build_rom(r);
	assert_int_equal(efi_rom_find(r, sizeof(r), &off, &len, err, sizeof(err)), 0);
	assert_int_equal(off, ROM_PE);
	assert_int_equal(len, 0xc00 - 0x40);
	assert_int_equal(parse(r + off, len, &img, err, sizeof(err)), 0);
	assert_int_equal(img.nreloc, 2);
	assert_int_equal(efi_rom_scan(r, sizeof(r), &info, err, sizeof(err)), 0);
	assert_int_equal(info.index, 1);
	assert_int_equal(info.count, 2);
	assert_int_equal(info.image_off, ROM_EFI);
	assert_int_equal(info.vendor, 0x8086);
	assert_int_equal(info.device, 0x100e);
	assert_int_equal(info.machine, EFI_MACHINE_X86_64);

	for (size_t i = 0; i < sizeof(rom_mutations) / sizeof(rom_mutations[0]); i++) {
		build_rom(r);
		mutate(r, &rom_mutations[i]);
		check_refused(&rom_mutations[i], efi_rom_find(r, sizeof(r), &off, &len, err, sizeof(err)),
			      err);
	}
	/* every shorter copy is refused */
	build_rom(r);
	for (size_t size = 0; size < sizeof(r); size++)
		assert_int_equal(efi_rom_find(r, size, &off, &len, err, sizeof(err)), -1);
}

/* --- Debian's images (DDE_EFI_DIR) --- */

struct file {
	uint8_t *p;
	size_t size;
};

/* DDE_EFI_DIR/NAME, or skip the test if the directory is not given */
static struct file read_image(const char *name)
{
	const char *dir = getenv("DDE_EFI_DIR");
	char path[4096];
	struct file f = { 0 };
	struct stat st;
	int fd;

	if (!dir || !*dir) {
		print_message("DDE_EFI_DIR not set (tools/fetch-efi's directory): %s skipped\n", name);
		skip();
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, R_OK)) {
		print_message("no %s: skipped\n", path);
		skip();
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	f.size = (size_t)st.st_size;
	f.p = malloc(f.size);
	assert_non_null(f.p);
	assert_int_equal(read(fd, f.p, f.size), (ssize_t)f.size);
	close(fd);
	return f;
}

/*
 * IMG placed at two addresses: the bytes differ exactly at its DIR64
 * fixups (read here from the directory, independently of the loader),
 * by the distance between the two; elsewhere the image is the file's.
 */
static void check_relocation(const struct efi_image *img)
{
	const uint64_t a = 0x100000000ull, b = 0x7f0012340000ull;
	size_t space = ((size_t)img->image_size + 65535) & ~(size_t)65535;
	uint8_t *ma = aligned_alloc(65536, space);
	uint8_t *mb = aligned_alloc(65536, space);
	uint8_t *fixed = calloc(img->image_size, 1);
	const uint8_t *dir = img->data + img->reloc_off;
	unsigned n = 0;
	char err[256];

	assert_non_null(ma);
	assert_non_null(mb);
	assert_non_null(fixed);
	assert_int_equal(efi_pe_load(img, ma, a, err, sizeof(err)), 0);
	assert_int_equal(efi_pe_load(img, mb, b, err, sizeof(err)), 0);
	assert_memory_equal(ma, img->data, img->header_size);
	for (uint32_t pos = 0; pos < img->reloc_size;) {
		uint32_t page = efi_le32(dir + pos), size = efi_le32(dir + pos + 4);

		for (uint32_t e = 8; e < size; e += 2) {
			uint16_t entry = efi_le16(dir + pos + e);
			uint32_t at = page + (entry & 0xfff);

			if (entry >> 12 != 10)
				continue;
			assert_true(efi_le64(mb + at) - efi_le64(ma + at) == b - a);
			memset(fixed + at, 1, 8);
			n++;
		}
		pos += size;
	}
	assert_int_equal(n, img->nreloc);
	for (uint32_t i = 0; i < img->image_size; i++)
		if (!fixed[i] && ma[i] != mb[i])
			fail_msg("byte %#x differs but is no fixup's", i);
	free(fixed);
	free(ma);
	free(mb);
}

static void test_ovmf_nvme(void **state)
{
	struct file f = read_image("x64/NvmExpressDxe.efi");
	struct efi_image img;
	char err[256];

	assert_int_equal(parse(f.p, f.size, &img, err, sizeof(err)), 0);
	/* the pinned OVMF build (efi/efi.pin) */
	assert_int_equal(img.machine, EFI_MACHINE_X86_64);
	assert_int_equal(img.subsystem, EFI_SUBSYSTEM_BOOT_DRIVER);
	assert_true(img.image_base == 0);
	assert_int_equal(img.section_align, 0x40);
	assert_int_equal(img.nsec, 3);
	assert_string_equal(img.sec[0].name, ".text");
	assert_true(img.nreloc > 0);
	assert_true(efi_pe_guids(&img, NULL, NULL) >= 3);	/* PCI I/O, Driver Binding, Block I/O */
	check_relocation(&img);
	free(f.p);
}

static void test_aavmf_nvme(void **state)
{
	struct file f = read_image("aa64/NvmExpressDxe.efi");
	struct efi_image img;
	char err[256];

	assert_int_equal(parse(f.p, f.size, &img, err, sizeof(err)), 0);
	assert_int_equal(img.machine, EFI_MACHINE_AARCH64);
	assert_string_equal(efi_machine_name(img.machine), "AArch64");
	assert_int_equal(img.subsystem, EFI_SUBSYSTEM_BOOT_DRIVER);
	assert_int_equal(img.section_align, 0x1000);
	assert_true(img.nreloc > 0);
	assert_true(efi_pe_guids(&img, NULL, NULL) >= 3);
	check_relocation(&img);
	free(f.p);
}

static void test_ipxe_rom(void **state)
{
	struct file f = read_image("ipxe/e1000.rom");
	struct efi_image img;
	struct efi_rom rom;
	char err[256];

	assert_int_equal(efi_rom_scan(f.p, f.size, &rom, err, sizeof(err)), 0);
	assert_int_equal(rom.vendor, 0x8086);
	assert_int_equal(rom.device, 0x100e);
	assert_int_equal(rom.index, 1);
	assert_int_equal(parse(f.p + rom.pe_off, rom.pe_len, &img, err, sizeof(err)), 0);
	assert_int_equal(img.machine, EFI_MACHINE_X86_64);
	assert_int_equal(img.nsec, 7);
	assert_true(img.nreloc > 1000);
	check_relocation(&img);
	free(f.p);
}

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t size)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (!out || fwrite(p, size, 1, out) != 1 || fclose(out))
		fprintf(stderr, "test_pe: cannot write %s\n", path);
}

/* DDE_PE_SEED_DIR: the synthetic image and ROM as files */
static void write_seeds(const char *dir)
{
	static uint8_t f[FILE_SIZE], r[ROM_SIZE];

	build_image(f);
	build_rom(r);
	write_seed(dir, "synthetic.efi", f, sizeof(f));
	write_seed(dir, "synthetic.rom", r, sizeof(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_parse),
		cmocka_unit_test(test_synthetic_load),
		cmocka_unit_test(test_synthetic_guids),
		cmocka_unit_test(test_mutations_refused),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_other_machine),
		cmocka_unit_test(test_rom),
		cmocka_unit_test(test_ovmf_nvme),
		cmocka_unit_test(test_aavmf_nvme),
		cmocka_unit_test(test_ipxe_rom),
	};

	if (getenv("DDE_PE_SEED_DIR"))
		write_seeds(getenv("DDE_PE_SEED_DIR"));
	return cmocka_run_group_tests_name("pe", tests, NULL, NULL);
}
