/*
 * ko_parse: a Linux module file, checked whole before anyone uses it.
 * Every offset and count in the file is untrusted: each is checked against
 * the file's size (with overflow in mind) before it is followed.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ko/ko.h>

#include "fail.h"

#define SIG_MAGIC "~Module signature appended~\n"

int ko_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* [off, off+len) lies within a file of SIZE bytes */
static int within(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* a NUL-terminated string at OFF in the string section S, or NULL */
static const char *string_at(const struct ko_section *s, uint64_t off)
{
	if (!s->data || off >= s->size || !memchr(s->data + off, 0, s->size - off))
		return NULL;
	return (const char *)s->data + off;
}

/* the appended module signature: data, struct module_signature (12 bytes,
 * sig_len big-endian at its end), then the magic string */
static size_t signature_size(const uint8_t *p, size_t size)
{
	size_t m = sizeof(SIG_MAGIC) - 1, sig;

	if (size < m + 12 || memcmp(p + size - m, SIG_MAGIC, m))
		return 0;
	sig = (size_t)p[size - m - 4] << 24 | (size_t)p[size - m - 3] << 16 |
	      (size_t)p[size - m - 2] << 8 | p[size - m - 1];
	if (sig > size - m - 12)
		return 0;
	return sig + 12 + m;
}

static int parse_sections(const Elf64_Ehdr *eh, struct ko_image *img, char *err, size_t errlen)
{
	const uint8_t *f = img->file;
	const Elf64_Shdr *sh;
	const struct ko_section *names;

	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return ko_fail(err, errlen, "section header size %u, not %zu", eh->e_shentsize,
			    sizeof(Elf64_Shdr));
	if (eh->e_shnum == 0 || eh->e_shnum >= SHN_LORESERVE)
		return ko_fail(err, errlen, "%u sections: not a module", eh->e_shnum);
	if (!within(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), img->size))
		return ko_fail(err, errlen, "section headers beyond the end of the file (truncated?)");
	if (eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum)
		return ko_fail(err, errlen, "no section name table");
	img->nsec = eh->e_shnum;
	img->sec = calloc(img->nsec, sizeof(*img->sec));
	if (!img->sec)
		return ko_fail(err, errlen, "out of memory");
	sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	for (unsigned i = 0; i < img->nsec; i++) {
		struct ko_section *s = &img->sec[i];
		Elf64_Shdr h;

		memcpy(&h, &sh[i], sizeof(h));	/* the file need not be aligned */
		s->type = h.sh_type;
		s->flags = h.sh_flags;
		s->size = h.sh_size;
		s->align = h.sh_addralign;
		s->entsize = h.sh_entsize;
		s->link = h.sh_link;
		s->info = h.sh_info;
		if (s->align > 4096 || (s->align & (s->align - 1)))
			return ko_fail(err, errlen, "section %u: alignment %llu", i,
				    (unsigned long long)s->align);
		if (s->type != SHT_NOBITS && s->type != SHT_NULL) {
			if (!within(h.sh_offset, h.sh_size, img->size))
				return ko_fail(err, errlen,
					    "section %u: %llu bytes at %llu, beyond the end of the file (truncated?)",
					    i, (unsigned long long)h.sh_size,
					    (unsigned long long)h.sh_offset);
			s->data = f + h.sh_offset;
		}
		if (s->size > (1u << 30))
			return ko_fail(err, errlen, "section %u: %llu bytes", i, (unsigned long long)s->size);
		s->name = (const char *)(uintptr_t)h.sh_name;	/* resolved below */
	}
	names = &img->sec[eh->e_shstrndx];
	if (names->type != SHT_STRTAB)
		return ko_fail(err, errlen, "the section name table is not a string table");
	for (unsigned i = 0; i < img->nsec; i++) {
		const char *n = string_at(names, (uint64_t)(uintptr_t)img->sec[i].name);

		if (!n)
			return ko_fail(err, errlen, "section %u: bad name", i);
		img->sec[i].name = n;
	}
	return 0;
}

static int parse_symbols(struct ko_image *img, char *err, size_t errlen)
{
	int symtab = -1;
	const struct ko_section *s, *strs;

	for (unsigned i = 0; i < img->nsec; i++) {
		if (img->sec[i].type == SHT_SYMTAB) {
			if (symtab >= 0)
				return ko_fail(err, errlen, "two symbol tables");
			symtab = (int)i;
		}
	}
	if (symtab < 0)
		return ko_fail(err, errlen, "no symbol table (stripped?)");
	s = &img->sec[symtab];
	if (s->entsize != sizeof(Elf64_Sym) || s->size % sizeof(Elf64_Sym))
		return ko_fail(err, errlen, "symbol table entry size %llu", (unsigned long long)s->entsize);
	if (s->link >= img->nsec || img->sec[s->link].type != SHT_STRTAB)
		return ko_fail(err, errlen, "symbol table without its string table");
	strs = &img->sec[s->link];
	img->nsym = (unsigned)(s->size / sizeof(Elf64_Sym));
	img->sym = calloc(img->nsym ? img->nsym : 1, sizeof(*img->sym));
	if (!img->sym)
		return ko_fail(err, errlen, "out of memory");
	for (unsigned i = 0; i < img->nsym; i++) {
		Elf64_Sym e;
		struct ko_symbol *y = &img->sym[i];

		memcpy(&e, s->data + i * sizeof(e), sizeof(e));
		y->name = string_at(strs, e.st_name);
		if (!y->name)
			return ko_fail(err, errlen, "symbol %u: bad name", i);
		y->bind = ELF64_ST_BIND(e.st_info);
		y->type = ELF64_ST_TYPE(e.st_info);
		y->shndx = e.st_shndx;
		y->value = e.st_value;
		y->size = e.st_size;
		if (y->shndx != SHN_UNDEF && y->shndx != SHN_ABS && y->shndx != SHN_COMMON &&
		    y->shndx >= img->nsec)
			return ko_fail(err, errlen, "symbol '%s': section %u of %u", y->name, y->shndx,
				    img->nsec);
		if (y->shndx == SHN_COMMON)
			return ko_fail(err, errlen, "symbol '%s' is COMMON (modules have none)", y->name);
		if (y->shndx != SHN_UNDEF && y->shndx != SHN_ABS &&
		    y->value > img->sec[y->shndx].size)
			return ko_fail(err, errlen, "symbol '%s' lies beyond its section", y->name);
	}
	return 0;
}

/* bytes a relocation of TYPE writes; 0 for a type the loader does not know */
static unsigned reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_NONE:
		return 1;	/* writes nothing; 1 keeps the range check simple */
	case R_X86_64_64:
	case R_X86_64_PC64:
		return 8;
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		return 4;
	default:
		return 0;
	}
}

static int parse_relocs(struct ko_image *img, char *err, size_t errlen)
{
	for (unsigned i = 0; i < img->nsec; i++) {
		const struct ko_section *s = &img->sec[i];

		if (s->type == SHT_REL)
			return ko_fail(err, errlen, "section %s: REL relocations (x86-64 modules use RELA)",
				    s->name);
		if (s->type == SHT_RELA)
			img->nrel++;
	}
	img->rel = calloc(img->nrel ? img->nrel : 1, sizeof(*img->rel));
	if (!img->rel)
		return ko_fail(err, errlen, "out of memory");
	img->nrel = 0;
	for (unsigned i = 0; i < img->nsec; i++) {
		const struct ko_section *s = &img->sec[i];
		struct ko_relsec *rs;

		if (s->type != SHT_RELA)
			continue;
		if (s->entsize != sizeof(Elf64_Rela) || s->size % sizeof(Elf64_Rela))
			return ko_fail(err, errlen, "%s: entry size %llu", s->name,
				    (unsigned long long)s->entsize);
		if (s->info == 0 || s->info >= img->nsec)
			return ko_fail(err, errlen, "%s: patches section %u of %u", s->name, s->info,
				    img->nsec);
		if (s->link >= img->nsec || img->sec[s->link].type != SHT_SYMTAB)
			return ko_fail(err, errlen, "%s: not tied to the symbol table", s->name);
		rs = &img->rel[img->nrel++];
		rs->target = s->info;
		rs->count = (unsigned)(s->size / sizeof(Elf64_Rela));
		rs->r = calloc(rs->count ? rs->count : 1, sizeof(*rs->r));
		if (!rs->r)
			return ko_fail(err, errlen, "out of memory");
		for (unsigned k = 0; k < rs->count; k++) {
			Elf64_Rela e;
			struct ko_reloc *r = &rs->r[k];
			unsigned w;

			memcpy(&e, s->data + k * sizeof(e), sizeof(e));
			r->offset = e.r_offset;
			r->type = ELF64_R_TYPE(e.r_info);
			r->sym = ELF64_R_SYM(e.r_info);
			r->addend = e.r_addend;
			w = reloc_width(r->type);
			if (!w)
				return ko_fail(err, errlen, "%s: relocation type %u is not supported",
					    s->name, r->type);
			if (r->sym >= img->nsym)
				return ko_fail(err, errlen, "%s: relocation %u names symbol %u of %u",
					    s->name, k, r->sym, img->nsym);
			if (r->offset > img->sec[rs->target].size ||
			    w > img->sec[rs->target].size - r->offset)
				return ko_fail(err, errlen, "%s: relocation %u at %llu, beyond %s",
					    s->name, k, (unsigned long long)r->offset,
					    img->sec[rs->target].name);
		}
	}
	return 0;
}

static int parse_versions(struct ko_image *img, char *err, size_t errlen)
{
	int v = ko_section_index(img, "__versions");
	const struct ko_section *s;

	if (v < 0)
		return 0;
	s = &img->sec[v];
	if (!s->data || s->size % 64)
		return ko_fail(err, errlen, "__versions: %llu bytes, not 64-byte entries",
			    (unsigned long long)s->size);
	img->nver = (unsigned)(s->size / 64);
	img->ver = calloc(img->nver ? img->nver : 1, sizeof(*img->ver));
	if (!img->ver)
		return ko_fail(err, errlen, "out of memory");
	for (unsigned i = 0; i < img->nver; i++) {
		const uint8_t *e = s->data + i * 64;
		uint64_t crc;

		memcpy(&crc, e, 8);
		if (!memchr(e + 8, 0, 56))
			return ko_fail(err, errlen, "__versions: entry %u has no name", i);
		img->ver[i].name = (const char *)e + 8;
		img->ver[i].crc = (uint32_t)crc;
	}
	return 0;
}

/* the relocation of RS at offset OFF: the symbol plus addend it stands for */
static const struct ko_reloc *reloc_at(const struct ko_image *img, unsigned target, uint64_t off)
{
	for (unsigned i = 0; i < img->nrel; i++) {
		if (img->rel[i].target != target)
			continue;
		for (unsigned k = 0; k < img->rel[i].count; k++)
			if (img->rel[i].r[k].offset == off)
				return &img->rel[i].r[k];
	}
	return NULL;
}

/*
 * The module's exports (for modules that later ones need: mii, 8390):
 * struct kernel_symbol { int value_offset, name_offset, namespace_offset; }
 * with PC-relative offsets, so in the file each field is a relocation
 * against a section symbol; the CRCs are in __kcrctab in the same order.
 */
static int parse_exports_of(struct ko_image *img, const char *tab, const char *crctab, int gpl,
			    char *err, size_t errlen)
{
	int t = ko_section_index(img, tab), c = ko_section_index(img, crctab);
	const struct ko_section *s;
	unsigned n;

	if (t < 0)
		return 0;
	s = &img->sec[t];
	if (s->size % 12)
		return ko_fail(err, errlen, "%s: %llu bytes, not 12-byte entries", tab,
			    (unsigned long long)s->size);
	n = (unsigned)(s->size / 12);
	if (c >= 0 && img->sec[c].size != (uint64_t)n * 4)
		return ko_fail(err, errlen, "%s: %u CRCs for %u exports", crctab,
			    (unsigned)(img->sec[c].size / 4), n);
	for (unsigned i = 0; i < n; i++) {
		const struct ko_reloc *rv = reloc_at(img, (unsigned)t, i * 12ull);
		const struct ko_reloc *rn = reloc_at(img, (unsigned)t, i * 12ull + 4);
		struct ko_export *x = &img->exp[img->nexp];
		const struct ko_symbol *sv, *sn;
		int64_t name_off;

		if (!rv || !rn || rv->type != R_X86_64_PC32 || rn->type != R_X86_64_PC32)
			return ko_fail(err, errlen, "%s: entry %u is not PC-relative", tab, i);
		sv = &img->sym[rv->sym];
		sn = &img->sym[rn->sym];
		if (sv->shndx == SHN_UNDEF || sv->shndx >= img->nsec || sn->shndx >= img->nsec ||
		    sn->shndx == SHN_UNDEF)
			return ko_fail(err, errlen, "%s: entry %u points outside the module", tab, i);
		/* the name: its section symbol plus the addend (which PC32 offsets by the field) */
		name_off = (int64_t)sn->value + rn->addend;
		if (name_off < 0 || !string_at(&img->sec[sn->shndx], (uint64_t)name_off))
			return ko_fail(err, errlen, "%s: entry %u has no name", tab, i);
		x->name = string_at(&img->sec[sn->shndx], (uint64_t)name_off);
		x->section = sv->shndx;
		x->offset = sv->value + (uint64_t)rv->addend;
		x->gpl = gpl;
		if (c >= 0 && img->sec[c].data) {
			memcpy(&x->crc, img->sec[c].data + i * 4, 4);
			x->has_crc = 1;
		}
		img->nexp++;
	}
	return 0;
}

static int parse_exports(struct ko_image *img, char *err, size_t errlen)
{
	int a = ko_section_index(img, "__ksymtab"), b = ko_section_index(img, "__ksymtab_gpl");
	size_t n = (a >= 0 ? img->sec[a].size / 12 : 0) + (b >= 0 ? img->sec[b].size / 12 : 0);

	img->exp = calloc(n ? n : 1, sizeof(*img->exp));
	if (!img->exp)
		return ko_fail(err, errlen, "out of memory");
	if (parse_exports_of(img, "__ksymtab", "__kcrctab", 0, err, errlen) < 0)
		return -1;
	return parse_exports_of(img, "__ksymtab_gpl", "__kcrctab_gpl", 1, err, errlen);
}

int ko_parse(const void *file, size_t size, struct ko_image *img, char *err, size_t errlen)
{
	const uint8_t *f = file;
	Elf64_Ehdr eh;
	int mi;

	memset(img, 0, sizeof(*img));
	img->file = f;
	img->size = size;
	img->this_module = -1;
	if (size < EI_NIDENT || memcmp(f, ELFMAG, SELFMAG))
		return ko_fail(err, errlen, "not an ELF file");
	if (f[EI_CLASS] != ELFCLASS64)
		return ko_fail(err, errlen, "a 32-bit ELF file: not a module of a 64-bit kernel");
	if (f[EI_DATA] != ELFDATA2LSB)
		return ko_fail(err, errlen, "a big-endian ELF file");
	if (size < sizeof(eh))
		return ko_fail(err, errlen, "truncated in the ELF header");
	memcpy(&eh, f, sizeof(eh));
	img->machine = eh.e_machine;
	if (eh.e_type != ET_REL)
		return ko_fail(err, errlen, "ELF type %u, not a relocatable object (ET_REL): not a module",
			    eh.e_type);
	img->signature = signature_size(f, size);
	if (parse_sections(&eh, img, err, errlen) < 0 || parse_symbols(img, err, errlen) < 0)
		goto bad;
	/* another ISA: readable (ko info), but its relocations are not ours */
	if (img->machine == EM_X86_64 &&
	    (parse_relocs(img, err, errlen) < 0 || parse_exports(img, err, errlen) < 0))
		goto bad;
	if (parse_versions(img, err, errlen) < 0)
		goto bad;
	mi = ko_section_index(img, ".modinfo");
	if (mi >= 0 && img->sec[mi].data) {
		img->modinfo = (const char *)img->sec[mi].data;
		img->modinfo_size = img->sec[mi].size;
	}
	img->this_module = ko_section_index(img, ".gnu.linkonce.this_module");
	if (img->this_module < 0) {
		ko_fail(err, errlen, "no .gnu.linkonce.this_module: not a kernel module");
		goto bad;
	}
	return 0;
bad:
	ko_free(img);
	return -1;
}

void ko_free(struct ko_image *img)
{
	for (unsigned i = 0; i < img->nrel && img->rel; i++)
		free(img->rel[i].r);
	free(img->rel);
	free(img->sec);
	free(img->sym);
	free(img->ver);
	free(img->exp);
	img->rel = NULL;
	img->sec = NULL;
	img->sym = NULL;
	img->ver = NULL;
	img->exp = NULL;
	img->nrel = img->nsec = img->nsym = img->nver = img->nexp = 0;
}

const char *ko_modinfo(const struct ko_image *img, const char *key, const char *prev)
{
	const char *p, *end;
	size_t k = strlen(key);

	if (!img->modinfo)
		return NULL;
	end = img->modinfo + img->modinfo_size;
	p = img->modinfo;
	if (prev)	/* the entry after the one PREV is the value of */
		p = prev + strnlen(prev, (size_t)(end - prev)) + 1;
	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (n > k && !strncmp(p, key, k) && p[k] == '=' && p + n < end)
			return p + k + 1;
		p += n + 1;
	}
	return NULL;
}

int ko_section_index(const struct ko_image *img, const char *name)
{
	for (unsigned i = 0; i < img->nsec; i++)
		if (img->sec[i].name && !strcmp(img->sec[i].name, name))
			return (int)i;
	return -1;
}

const char *ko_section_treatment(const struct ko_image *img, unsigned i, int *placed)
{
	static const struct {
		const char *name, *what;	/* NAME: the section or, ending in '*', a prefix */
	} table[] = {
		{ ".gnu.linkonce.this_module", "struct module: its init and exit are called" },
		{ "__versions", "modversions CRCs, checked against the exports" },
		{ ".modinfo", "name, dependencies, parameters, device ids" },
		{ "__ksymtab*", "this module's exports, for modules loaded after it" },
		{ "__kcrctab*", "the CRCs of this module's exports" },
		{ "__bug_table", "WARN/BUG sites (ud2): a WARN logs and continues, a BUG stops the driver" },
		{ "__param", "module parameters, set before init" },
		{ ".init.*", "run once, at init" },
		{ ".altinstr*", "ignored: CPU-feature alternatives; the original code runs" },
		{ ".parainstructions", "ignored: paravirt patch sites; the pv_ops calls run" },
		{ ".smp_locks", "ignored: one CPU, lock prefixes are harmless" },
		{ ".static_call_sites", "ignored: static calls go through their trampolines" },
		{ "__jump_table", "ignored: static keys keep their default branch" },
		{ ".retpoline_sites", "read: calls through a retpoline thunk become indirect calls" },
		{ ".return_sites", "read: jumps to __x86_return_thunk become ret" },
		{ "__mcount_loc", "read: each call __fentry__ becomes a nop" },
		{ ".orc_unwind*", "ignored: ORC unwind data" },
		{ "__dyndbg*", "ignored: dynamic debug sites stay off" },
		{ ".BTF*", "ignored: type information" },
		{ ".note*", "ignored: notes" },
		{ ".comment", "ignored: compiler version" },
	};
	const struct ko_section *s = &img->sec[i];

	*placed = (s->flags & SHF_ALLOC) != 0;
	switch (s->type) {
	case SHT_NULL:
		return "";
	case SHT_RELA:
		/* (not by asking for the target's treatment: it may be this very
		 * section, or another SHT_RELA pointing back: found by make fuzz) */
		return s->info < img->nsec && (img->sec[s->info].flags & SHF_ALLOC) ?
			"relocations, applied" : "relocations of a section not placed, skipped";
	case SHT_SYMTAB:
		return "symbols: imports resolved against the exports";
	case SHT_STRTAB:
		return "names";
	}
	for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
		size_t n = strlen(table[k].name);

		if (table[k].name[n - 1] == '*' ? !strncmp(s->name, table[k].name, n - 1) :
						  !strcmp(s->name, table[k].name))
			return table[k].what;
	}
	if (!*placed)
		return "ignored: not allocated";
	if (s->flags & SHF_EXECINSTR)
		return "code";
	return s->type == SHT_NOBITS ? "zeroed data" : s->flags & SHF_WRITE ? "data" : "read-only data";
}

const char *ko_machine_name(uint16_t machine)
{
	switch (machine) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "i386";
	case EM_AARCH64: return "AArch64";
	case EM_ARM: return "ARM";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "PowerPC 64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	case EM_LOONGARCH: return "LoongArch";
	default: return "an unknown machine";
	}
}
