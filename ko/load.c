/*
 * ko_load: place a checked module (ko_parse) in memory and link it.
 *
 * Debian's modules are built with -mcmodel=kernel: R_X86_64_32S holds an
 * address sign-extended from 32 bits, and calls reach ±2 GiB. In user
 * space that means the module and everything it references must lie below
 * 0x80000000 (FINDINGS.md §4): the module goes into one mapping in the low
 * 2 GiB (MAP_32BIT), and the service library is a static non-PIE program
 * near 0x400000. Every relocation is range-checked; one that does not fit
 * refuses the module, naming the symbol.
 *
 * Imports are resolved by the caller's function (the service library's
 * explicit export table, then modules loaded before): whatever it does not
 * know is collected, and the module is refused with the whole list.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <ko/ko.h>
#include <ko/load.h>

#include "fail.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a > 1 ? (v + a - 1) & ~(a - 1) : v;
}

/* Where each placed section goes: code first, then read-only, then data. */
static int layout(const struct ko_image *img, struct ko_module *m, char *err, size_t errlen)
{
	uint64_t off = 0;

	m->addr = calloc(img->nsec, sizeof(*m->addr));
	if (!m->addr)
		return ko_fail(err, errlen, "out of memory");
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < img->nsec; i++) {
			const struct ko_section *s = &img->sec[i];
			int placed, kind;

			ko_section_treatment(img, i, &placed);
			if (!placed)
				continue;
			kind = s->flags & SHF_EXECINSTR ? 0 : s->flags & SHF_WRITE ? 2 : 1;
			if (kind != pass)
				continue;
			off = align_up(off, s->align ? s->align : 1);
			m->addr[i] = off;	/* an offset until the mapping exists */
			off += s->size;
		}
		off = align_up(off, 4096);
		if (pass == 0)
			m->text_size = off;
		else if (pass == 1)
			m->ro_size = off - m->text_size;
	}
	m->size = off ? off : 4096;
	return 0;
}

static int place(const struct ko_image *img, struct ko_module *m, char *err, size_t errlen)
{
	void *base = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (base == MAP_FAILED)
		return ko_fail(err, errlen, "no room for %zu bytes below 2 GiB: %s", m->size,
			    strerror(errno));
	m->base = (uintptr_t)base;
	for (unsigned i = 0; i < img->nsec; i++) {
		const struct ko_section *s = &img->sec[i];
		int placed;

		ko_section_treatment(img, i, &placed);
		if (!placed) {
			m->addr[i] = 0;
			continue;
		}
		m->addr[i] += m->base;
		if (s->data)	/* NOBITS stays zero, as mmap gave it */
			memcpy((void *)(uintptr_t)m->addr[i], s->data, s->size);
	}
	return 0;
}

/* the address symbol I stands for, or 0 with *missing set */
static uint64_t symbol_value(const struct ko_image *img, const struct ko_module *m, unsigned i,
			     ko_resolve_fn resolve, void *ctx, int *missing)
{
	const struct ko_symbol *s = &img->sym[i];

	*missing = 0;
	if (s->shndx == SHN_ABS)
		return s->value;
	if (s->shndx != SHN_UNDEF)
		return m->addr[s->shndx] ? m->addr[s->shndx] + s->value : 0;
	if (!s->name[0])
		return 0;
	{
		uint64_t v = resolve(ctx, s->name);

		*missing = v == 0;
		return v;
	}
}

/* the imports nobody provides, as one list in ERR */
static int check_imports(const struct ko_image *img, ko_resolve_fn resolve, void *ctx,
			 char *err, size_t errlen)
{
	size_t n = 0;
	unsigned count = 0;

	for (unsigned i = 1; i < img->nsym; i++) {
		const struct ko_symbol *s = &img->sym[i];

		if (s->shndx != SHN_UNDEF || !s->name[0] || resolve(ctx, s->name))
			continue;
		if (s->bind == STB_WEAK)
			continue;	/* a weak import may stay 0 */
		if (!count++)
			n = (size_t)snprintf(err, errlen, "imports nobody provides:");
		if (n < errlen)
			n += (size_t)snprintf(err + n, errlen - n, " %s", s->name);
	}
	return count ? -1 : 0;
}

static int relocate(const struct ko_image *img, struct ko_module *m, ko_resolve_fn resolve,
		    void *ctx, char *err, size_t errlen)
{
	for (unsigned k = 0; k < img->nrel; k++) {
		const struct ko_relsec *rs = &img->rel[k];

		if (!m->addr[rs->target])
			continue;	/* a section not placed (ignored data) */
		for (unsigned i = 0; i < rs->count; i++) {
			const struct ko_reloc *r = &rs->r[i];
			uint64_t place = m->addr[rs->target] + r->offset;
			int missing;
			uint64_t sv = symbol_value(img, m, r->sym, resolve, ctx, &missing);
			uint64_t v = sv + (uint64_t)r->addend;
			int64_t rel = (int64_t)(v - place);
			const char *name = img->sym[r->sym].name[0] ? img->sym[r->sym].name :
					   img->sec[img->sym[r->sym].shndx < img->nsec ?
							    img->sym[r->sym].shndx : 0].name;

			if (!sv && r->type != R_X86_64_NONE && img->sym[r->sym].bind != STB_WEAK)
				return ko_fail(err, errlen,
					    "%s+%#llx: relocation against '%s', which has no address",
					    img->sec[rs->target].name, (unsigned long long)r->offset,
					    name);
			switch (r->type) {
			case R_X86_64_NONE:
				break;
			case R_X86_64_64:
				memcpy((void *)(uintptr_t)place, &v, 8);
				break;
			case R_X86_64_PC64:
				memcpy((void *)(uintptr_t)place, &rel, 8);
				break;
			case R_X86_64_32: {
				uint32_t w = (uint32_t)v;

				if (v != w)
					goto range;
				memcpy((void *)(uintptr_t)place, &w, 4);
				break;
			}
			case R_X86_64_32S: {
				int32_t w = (int32_t)v;

				if ((int64_t)v != w)
					goto range;
				memcpy((void *)(uintptr_t)place, &w, 4);
				break;
			}
			case R_X86_64_PC32:
			case R_X86_64_PLT32: {
				int32_t w = (int32_t)rel;

				if (rel != w)
					goto range;
				memcpy((void *)(uintptr_t)place, &w, 4);
				break;
			}
			default:	/* ko_parse let no other type through */
				return ko_fail(err, errlen, "relocation type %u", r->type);
			}
			m->relocs++;
			continue;
range:
			return ko_fail(err, errlen,
				    "%s+%#llx: '%s' at %#llx is out of reach of a type %u relocation "
				    "(a -mcmodel=kernel module needs it below 2 GiB)",
				    img->sec[rs->target].name, (unsigned long long)r->offset, name,
				    (unsigned long long)v, r->type);
		}
	}
	return 0;
}

int ko_load(const struct ko_image *img, ko_resolve_fn resolve, void *ctx, struct ko_module *m,
	    char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (img->machine != EM_X86_64)
		return ko_fail(err, errlen, "a module for %s: this engine runs x86-64 modules",
			    ko_machine_name(img->machine));
	if (check_imports(img, resolve, ctx, err, errlen) < 0)
		return -1;
	if (layout(img, m, err, errlen) < 0)
		return -1;
	if (place(img, m, err, errlen) < 0 || relocate(img, m, resolve, ctx, err, errlen) < 0) {
		ko_unload(m);
		return -1;
	}
	m->this_module = m->addr[img->this_module];
	/* code read-only and executable, the rest as the sections say */
	if (mprotect((void *)m->base, m->text_size, PROT_READ | PROT_EXEC) < 0 ||
	    (m->ro_size && mprotect((void *)(m->base + m->text_size), m->ro_size, PROT_READ) < 0)) {
		ko_fail(err, errlen, "mprotect: %s", strerror(errno));
		ko_unload(m);
		return -1;
	}
	return 0;
}

uint64_t ko_symbol_address(const struct ko_image *img, const struct ko_module *m, const char *name)
{
	for (unsigned i = 1; i < img->nsym; i++) {
		const struct ko_symbol *s = &img->sym[i];

		if (s->shndx != SHN_UNDEF && s->shndx < img->nsec && m->addr[s->shndx] &&
		    !strcmp(s->name, name))
			return m->addr[s->shndx] + s->value;
	}
	return 0;
}

uint64_t ko_export_address(const struct ko_image *img, const struct ko_module *m, unsigned i)
{
	const struct ko_export *x = &img->exp[i];

	return m->addr[x->section] ? m->addr[x->section] + x->offset : 0;
}

void ko_unload(struct ko_module *m)
{
	if (m->base)
		munmap((void *)m->base, m->size);
	free(m->addr);
	memset(m, 0, sizeof(*m));
}
