/*
 * efi_pe_parse, efi_pe_load: a UEFI driver image (PE32+), checked whole
 * before anyone uses it, then placed and relocated.
 *
 * Every offset, size and count in the file is untrusted: each is checked
 * against the file's size or SizeOfImage in 64-bit arithmetic (so no sum
 * of two 32-bit fields can wrap) before it is followed. The file need not
 * be aligned: every field is read byte by byte (efi_le32), little-endian as
 * PE is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <efi/guids.h>
#include <efi/pe.h>

#define PE_DOS_SIZE		0x40	/* the DOS header, e_lfanew at 0x3c */
#define PE_COFF_SIZE		20
#define PE_OPT64_SIZE		112	/* PE32+ optional header without directories */
#define PE_SECTION_SIZE		40
#define PE_MAX_DIRS		16
#define PE_MAGIC_PE32		0x10b
#define PE_MAGIC_PE32PLUS	0x20b

#define PE_DIR_SECURITY		4	/* its "RVA" is a file offset */
#define PE_DIR_BASERELOC	5

#define PE_REL_ABSOLUTE		0
#define PE_REL_DIR64		10

int efi_fail(char *err, size_t errlen, const char *fmt, ...)
	     {
	     va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* [off, off+len) lies within SIZE bytes */
static int within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* the bytes the loader copies from the file into a section */
static uint32_t section_filled(const struct efi_section *s)
{
	return s->raw_size < s->vsize ? s->raw_size : s->vsize;
}

/*
 * Where LEN bytes at RVA are in the file, if the loader copies them from
 * it: the headers, or one section's file-backed part. 0, or -1.
 */
static int rva_to_file(const struct efi_image *img, uint32_t rva, uint32_t len, uint64_t *off)
{
	if (within(rva, len, img->header_size)) {
		*off = rva;
		return 0;
	}
	for (unsigned i = 0; i < img->nsec; i++) {
		const struct efi_section *s = &img->sec[i];

		if (rva >= s->vaddr && within(rva - s->vaddr, len, section_filled(s))) {
			*off = (uint64_t)s->raw_off + (rva - s->vaddr);
			return 0;
		}
	}
	return -1;
}

static const char *reloc_type_name(unsigned type)
{
	switch (type) {
	case 1: return "HIGH";
	case 2: return "LOW";
	case 3: return "HIGHLOW";
	case 4: return "HIGHADJ";
	case 5: return "MIPS_JMPADDR/ARM_MOV32/RISCV_HIGH20";
	case 7: return "THUMB_MOV32/RISCV_LOW12I";
	case 8: return "RISCV_LOW12S/LOONGARCH";
	case 9: return "MIPS_JMPADDR16";
	default: return "reserved";
	}
}

/*
 * Walks the base relocation directory in the file: every block and entry
 * checked, DIR64 fixups counted and, if MEM is given, each moved by DELTA
 * there. The entries are read from the file, never from MEM, so a fixup
 * cannot rewrite relocations still to be applied. Returns the number of
 * DIR64 fixups, or -1 with one line in ERR.
 */
static long walk_relocs(const struct efi_image *img, uint8_t *mem, uint64_t delta,
			char *err, size_t errlen)
{
	const uint8_t *dir = img->data + img->reloc_off;
	uint32_t pos = 0;
	long n = 0;

	while (pos < img->reloc_size) {
		uint32_t page, bsize, left = img->reloc_size - pos;

		if (left < 8)
			return efi_fail(err, errlen, "relocation block at RVA %#x: %u bytes left, "
					"less than a block header", img->reloc_rva + pos, left);
		page = efi_le32(dir + pos);
		bsize = efi_le32(dir + pos + 4);
		if (bsize == 0)
			return efi_fail(err, errlen, "relocation block at RVA %#x: size 0",
					img->reloc_rva + pos);
		if (bsize < 8)
			return efi_fail(err, errlen, "relocation block at RVA %#x: size %u, less than "
					"its 8-byte header", img->reloc_rva + pos, bsize);
		if (bsize & 1)
			return efi_fail(err, errlen, "relocation block at RVA %#x: odd size %u",
					img->reloc_rva + pos, bsize);
		if (bsize > left)
			return efi_fail(err, errlen, "relocation block at RVA %#x: %u bytes, past the end "
					"of the relocation directory (%u left)", img->reloc_rva + pos,
					bsize, left);
		for (uint32_t e = 8; e < bsize; e += 2) {
			uint16_t entry = efi_le16(dir + pos + e);
			unsigned type = entry >> 12;
			uint64_t at = (uint64_t)page + (entry & 0xfff);

			if (type == PE_REL_ABSOLUTE)
				continue;	/* padding */
			if (type != PE_REL_DIR64)
				return efi_fail(err, errlen, "relocation type %u (%s) at RVA %#llx: only "
						"DIR64 and ABSOLUTE are supported", type,
						reloc_type_name(type), (unsigned long long)at);
			if (!within(at, 8, img->image_size))
				return efi_fail(err, errlen, "relocation at RVA %#llx lies outside "
						"SizeOfImage %#x", (unsigned long long)at, img->image_size);
			if (mem)
				wr64(mem + at, efi_le64(mem + at) + delta);
			n++;
		}
		pos += bsize;
	}
	return n;
}

/* the COFF header's machine and the optional header's fixed fields */
static int parse_headers(const uint8_t *f, size_t size, struct efi_image *img,
			 uint64_t *opt_at, uint16_t *opt_size, uint32_t *ndirs,
			 char *err, size_t errlen)
{
	uint64_t pe, opt;
	uint32_t lfanew;
	uint16_t magic;

	if (size < PE_DOS_SIZE)
		return efi_fail(err, errlen, "file too short for a PE image (%zu bytes)", size);
	if (f[0] != 'M' || f[1] != 'Z')
		return efi_fail(err, errlen, "not a PE image: no 'MZ' DOS header");
	lfanew = efi_le32(f + 0x3c);
	if (lfanew < PE_DOS_SIZE)
		return efi_fail(err, errlen, "e_lfanew %#x points into the DOS header", lfanew);
	pe = lfanew;
	if (!within(pe, 4 + PE_COFF_SIZE, size))
		return efi_fail(err, errlen, "e_lfanew %#x: the PE header is beyond the end of the file "
				"(truncated?)", lfanew);
	if (memcmp(f + pe, "PE\0\0", 4))
		return efi_fail(err, errlen, "no 'PE' signature at e_lfanew %#x", lfanew);

	img->machine = efi_le16(f + pe + 4);
	img->nsec = efi_le16(f + pe + 6);
	*opt_size = efi_le16(f + pe + 20);
	img->characteristics = efi_le16(f + pe + 22);
	if (!(img->characteristics & EFI_FILE_EXECUTABLE))
		return efi_fail(err, errlen,
				"not an executable image (characteristics %#x: an object file?)",
				img->characteristics);

	opt = pe + 4 + PE_COFF_SIZE;
	*opt_at = opt;
	if (*opt_size < 2 || !within(opt, 2, size))
		return efi_fail(err, errlen, "no optional header: not an image");
	magic = efi_le16(f + opt);
	if (magic == PE_MAGIC_PE32)
		return efi_fail(err, errlen,
				"a PE32 (32-bit) image: only PE32+ (64-bit) images are supported");
	if (magic != PE_MAGIC_PE32PLUS)
		return efi_fail(err, errlen, "optional header magic %#x, not PE32+ (0x20b)", magic);
	if (*opt_size < PE_OPT64_SIZE)
		return efi_fail(err, errlen, "SizeOfOptionalHeader %u, too small for PE32+ (%u)",
				*opt_size, PE_OPT64_SIZE);
	if (!within(opt, *opt_size, size))
		return efi_fail(err, errlen, "optional header beyond the end of the file (truncated?)");
	*ndirs = efi_le32(f + opt + 108);
	if (*ndirs > PE_MAX_DIRS)
		return efi_fail(err, errlen, "NumberOfRvaAndSizes %u, more than %u", *ndirs, PE_MAX_DIRS);
	if (*opt_size != PE_OPT64_SIZE + 8 * *ndirs)
		return efi_fail(err, errlen,
				"SizeOfOptionalHeader %u does not match NumberOfRvaAndSizes %u (%u bytes)",
				*opt_size, *ndirs, PE_OPT64_SIZE + 8 * *ndirs);

	img->entry_rva = efi_le32(f + opt + 16);
	img->image_base = efi_le64(f + opt + 24);
	img->section_align = efi_le32(f + opt + 32);
	img->file_align = efi_le32(f + opt + 36);
	img->image_size = efi_le32(f + opt + 56);
	img->header_size = efi_le32(f + opt + 60);
	img->subsystem = efi_le16(f + opt + 68);

	if (!is_pow2(img->section_align) || img->section_align > 0x10000)
		return efi_fail(err, errlen, "SectionAlignment %#x: not a power of two up to 64 KiB",
				img->section_align);
	if (!is_pow2(img->file_align) || img->file_align > img->section_align)
		return efi_fail(err, errlen,
				"FileAlignment %#x: not a power of two up to SectionAlignment %#x",
				img->file_align, img->section_align);
	if (img->image_size == 0)
		return efi_fail(err, errlen, "SizeOfImage is 0");
	if (img->image_size > EFI_MAX_IMAGE_SIZE)
		return efi_fail(err, errlen, "SizeOfImage %#x: more than %u MiB, not a driver",
				img->image_size, EFI_MAX_IMAGE_SIZE >> 20);
	if (img->image_base & (img->section_align - 1))
		return efi_fail(err, errlen, "ImageBase %#llx not aligned to SectionAlignment %#x",
				(unsigned long long)img->image_base, img->section_align);
	if (img->image_base > UINT64_MAX - img->image_size)
		return efi_fail(err, errlen,
				"ImageBase %#llx: the image would wrap around the address space",
				(unsigned long long)img->image_base);
	return 0;
}

/* the section table: each section inside the file and SizeOfImage, in order */
static int parse_sections(const uint8_t *f, size_t size, struct efi_image *img, uint64_t table,
			  char *err, size_t errlen)
{
	uint64_t prev_end = img->header_size;

	if (img->nsec == 0)
		return efi_fail(err, errlen, "no sections");
	if (img->nsec > EFI_MAX_SECTIONS)
		return efi_fail(err, errlen, "%u sections (at most %u)", img->nsec, EFI_MAX_SECTIONS);
	if (!within(table, (uint64_t)img->nsec * PE_SECTION_SIZE, size))
		return efi_fail(err, errlen, "section table beyond the end of the file (truncated?)");
	if (img->header_size > size)
		return efi_fail(err, errlen, "SizeOfHeaders %#x beyond the end of the file (truncated?)",
				img->header_size);
	if (table + (uint64_t)img->nsec * PE_SECTION_SIZE > img->header_size)
		return efi_fail(err, errlen, "SizeOfHeaders %#x does not cover the section table",
				img->header_size);
	if (img->header_size > img->image_size)
		return efi_fail(err, errlen, "SizeOfHeaders %#x larger than SizeOfImage %#x",
				img->header_size, img->image_size);

	for (unsigned i = 0; i < img->nsec; i++) {
		const uint8_t *h = f + table + (uint64_t)i * PE_SECTION_SIZE;
		struct efi_section *s = &img->sec[i];
		unsigned k;

		/* the name as printed: up to 8 bytes, anything unprintable a '?' */
		for (k = 0; k < 8 && h[k]; k++)
			s->name[k] = h[k] > 0x20 && h[k] < 0x7f ? (char)h[k] : '?';
		s->name[k] = 0;
		s->vsize = efi_le32(h + 8);
		s->vaddr = efi_le32(h + 12);
		s->raw_size = efi_le32(h + 16);
		s->raw_off = efi_le32(h + 20);
		s->flags = efi_le32(h + 36);
		if (s->vsize == 0)
			s->vsize = s->raw_size;	/* some linkers leave it to the raw size */

		if (s->raw_size && !within(s->raw_off, s->raw_size, size))
			return efi_fail(err, errlen, "section %s: file data %#x+%#x beyond the end "
					"of the file (%#zx bytes; truncated?)", s->name, s->raw_off,
					s->raw_size, size);
		if (!within(s->vaddr, s->vsize, img->image_size))
			return efi_fail(err, errlen, "section %s: RVA %#x+%#x lies outside SizeOfImage %#x",
					s->name, s->vaddr, s->vsize, img->image_size);
		if (s->vaddr < prev_end)
			return efi_fail(err, errlen,
					"section %s: RVA %#x overlaps the %s before it (ends at %#llx)",
					s->name, s->vaddr, i ? "section" : "headers",
					(unsigned long long)prev_end);
		prev_end = (uint64_t)s->vaddr + s->vsize;
	}
	return 0;
}

/* the data directories' extents; the relocations, every block and entry */
static int parse_directories(const uint8_t *f, size_t size, struct efi_image *img, uint64_t dirs,
			     uint32_t ndirs, char *err, size_t errlen)
{
	uint64_t off;
	long n;

	for (uint32_t d = 0; d < ndirs; d++) {
		uint32_t rva = efi_le32(f + dirs + 8 * d), len = efi_le32(f + dirs + 8 * d + 4);

		if (!len)
			continue;
		if (d == PE_DIR_SECURITY ? !within(rva, len, size) : !within(rva, len, img->image_size))
			return efi_fail(err, errlen, "data directory %u (%#x+%#x) lies outside the %s", d,
					rva, len, d == PE_DIR_SECURITY ? "file" : "image");
		if (d == PE_DIR_BASERELOC) {
			img->reloc_rva = rva;
			img->reloc_size = len;
		}
	}
	if (!img->reloc_size)
		return 0;
	if (rva_to_file(img, img->reloc_rva, img->reloc_size, &off))
		return efi_fail(err, errlen,
				"relocation directory %#x+%#x is not in one section's file data",
				img->reloc_rva, img->reloc_size);
	img->reloc_off = (uint32_t)off;
	n = walk_relocs(img, NULL, 0, err, errlen);
	if (n < 0)
		return -1;
	img->nreloc = (unsigned)n;
	return 0;
}

int efi_pe_parse(const void *data, size_t size, struct efi_image *img, char *err, size_t errlen)
{
	const uint8_t *f = data;
	uint64_t opt = 0;
	uint16_t opt_size = 0;
	uint32_t ndirs = 0;
	int exec = 0;

	memset(img, 0, sizeof(*img));
	img->data = f;
	img->size = size;
	if (parse_headers(f, size, img, &opt, &opt_size, &ndirs, err, errlen) ||
	    parse_sections(f, size, img, opt + opt_size, err, errlen) ||
	    parse_directories(f, size, img, opt + PE_OPT64_SIZE, ndirs, err, errlen))
		return -1;

	for (unsigned i = 0; i < img->nsec && !exec; i++) {
		const struct efi_section *s = &img->sec[i];

		exec = (s->flags & EFI_SCN_EXECUTE) && img->entry_rva >= s->vaddr &&
		       img->entry_rva - s->vaddr < s->vsize;
	}
	if (!exec)
		return efi_fail(err, errlen, "entry point %#x is not in an executable section",
				img->entry_rva);
	return 0;
}

int efi_pe_load(const struct efi_image *img, void *mem, uint64_t base, char *err, size_t errlen)
{
	uint8_t *m = mem;

	if (base & (img->section_align - 1))
		return efi_fail(err, errlen, "load address %#llx is not aligned to the image's "
				"SectionAlignment %#x", (unsigned long long)base, img->section_align);
	if (base != img->image_base && (img->characteristics & EFI_FILE_RELOCS_STRIPPED))
		return efi_fail(err, errlen, "relocations stripped: the image runs only at %#llx",
				(unsigned long long)img->image_base);
	memset(m, 0, img->image_size);
	memcpy(m, img->data, img->header_size);
	for (unsigned i = 0; i < img->nsec; i++) {
		const struct efi_section *s = &img->sec[i];

		memcpy(m + s->vaddr, img->data + s->raw_off, section_filled(s));
	}
	if (img->reloc_size && walk_relocs(img, m, base - img->image_base, err, errlen) < 0)
		return -1;
	return 0;
}

const char *efi_machine_name(uint16_t machine)
{
	switch (machine) {
	case 0x014c: return "IA-32";
	case 0x0200: return "Itanium";
	case 0x01c0:
	case 0x01c2:
	case 0x01c4: return "ARM";
	case 0x0ebc: return "EFI Byte Code";
	case 0x5032: return "RISC-V 32";
	case 0x5064: return "RISC-V 64";
	case 0x5128: return "RISC-V 128";
	case 0x6232: return "LoongArch32";
	case 0x6264: return "LoongArch64";
	case EFI_MACHINE_X86_64: return "x86-64";
	case EFI_MACHINE_AARCH64: return "AArch64";
	default: return "unknown machine";
	}
}

const char *efi_subsystem_name(uint16_t subsystem)
{
	switch (subsystem) {
	case EFI_SUBSYSTEM_APPLICATION: return "Application";
	case EFI_SUBSYSTEM_BOOT_DRIVER: return "Boot Service Driver";
	case EFI_SUBSYSTEM_RUNTIME_DRIVER: return "Runtime Driver";
	case 13: return "ROM";
	default: return "unknown subsystem";
	}
}

int efi_machine_supported(uint16_t machine)
{
	return machine == EFI_MACHINE_X86_64 || machine == EFI_MACHINE_AARCH64;
}

/* more distinct known GUIDs than any driver references */
#define MAX_GUIDS 256

unsigned efi_pe_guids(const struct efi_image *img,
		      void (*cb)(const uint8_t guid[16], const char *name, unsigned count, void *ctx),
		      void *ctx)
{
	struct {
		const uint8_t *guid;
		const char *name;
		unsigned count;
	} found[MAX_GUIDS];
	unsigned n = 0;

	for (unsigned i = 0; i < img->nsec; i++) {
		const struct efi_section *s = &img->sec[i];
		const uint8_t *p = img->data + s->raw_off;
		uint32_t len = section_filled(s);

		/* EFI_GUID is 4-aligned (its first field is a UINT32) in the loaded image */
		for (uint32_t k = (4 - (s->vaddr & 3)) & 3; len >= 16 && k <= len - 16; k += 4) {
			const char *name = efi_guid_name(p + k);
			unsigned j;

			if (!name)
				continue;
			for (j = 0; j < n && memcmp(found[j].guid, p + k, 16); j++)
				;
			if (j < n) {
				found[j].count++;
			} else if (n < MAX_GUIDS) {
				found[n].guid = p + k;
				found[n].name = name;
				found[n++].count = 1;
			}
		}
	}
	for (unsigned j = 0; cb && j < n; j++)
		cb(found[j].guid, found[j].name, found[j].count, ctx);
	return n;
}
