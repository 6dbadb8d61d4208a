/*
 * ko: reading a Linux binary kernel module (.ko, an ELF relocatable).
 *
 * ko_parse() checks a whole file once: headers, every section's extent,
 * the symbol and string tables, every relocation's symbol and place. Only
 * then does anything else (ko info, the loader) look at it, so a
 * truncated or corrupted module is refused with one clear line and never
 * half-read. It allocates nothing but the image's own tables and does
 * not execute or place anything (see ko/load.c for that).
 */
#ifndef KO_KO_H
#define KO_KO_H

#include <stddef.h>
#include <stdint.h>

struct ko_section {
	const char *name;
	uint32_t type;			/* SHT_* */
	uint64_t flags;			/* SHF_* */
	uint64_t size, align, entsize;
	uint32_t link, info;
	const uint8_t *data;		/* in the file; NULL for SHT_NOBITS */
};

struct ko_symbol {
	const char *name;
	uint8_t bind, type;		/* STB_*, STT_* */
	uint16_t shndx;			/* SHN_UNDEF: an import */
	uint64_t value, size;
};

struct ko_reloc {
	uint64_t offset;		/* in the target section */
	uint32_t type;			/* R_X86_64_* */
	uint32_t sym;			/* index into ko_image.sym */
	int64_t addend;
};

/* a SHT_RELA section, already checked: every entry in range */
struct ko_relsec {
	unsigned target;		/* the section the entries patch */
	unsigned count;
	struct ko_reloc *r;
};

/* one __versions entry: the CRC the module was built against */
struct ko_version {
	const char *name;
	uint32_t crc;
};

/* one entry of the module's own export table (__ksymtab, __ksymtab_gpl) */
struct ko_export {
	const char *name;
	unsigned section;		/* where the exported object is */
	uint64_t offset;		/* within that section */
	uint32_t crc;			/* __kcrctab, 0 when absent */
	int gpl, has_crc;
};

struct ko_image {
	const uint8_t *file;
	size_t size;
	uint16_t machine;		/* e_machine */
	unsigned nsec;
	struct ko_section *sec;
	unsigned nsym;
	struct ko_symbol *sym;
	unsigned nrel;
	struct ko_relsec *rel;
	unsigned nver;
	struct ko_version *ver;
	unsigned nexp;
	struct ko_export *exp;
	const char *modinfo;		/* NUL-separated key=value strings */
	size_t modinfo_size;
	size_t signature;		/* bytes of the appended signature, 0 if none */
	int this_module;		/* .gnu.linkonce.this_module, -1 if none */
};

/* Checks and indexes FILE (SIZE bytes, kept by the caller while IMG is
 * used). 0, or -1 with one line in ERR. */
int ko_parse(const void *file, size_t size, struct ko_image *img, char *err, size_t errlen);
void ko_free(struct ko_image *img);

/* The module's .modinfo values for KEY, one after another: pass NULL to
 * get the first, the previous result to get the next. */
const char *ko_modinfo(const struct ko_image *img, const char *key, const char *prev);

/* the index of the section called NAME, or -1 */
int ko_section_index(const struct ko_image *img, const char *name);

/* How the loader treats a section, in a few words, and whether it is
 * placed in memory (1) or only read or skipped (0). */
const char *ko_section_treatment(const struct ko_image *img, unsigned i, int *placed);

/* a name for an ELF machine number ("x86-64", "AArch64", ...) */
const char *ko_machine_name(uint16_t machine);

#endif
