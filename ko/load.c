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

/*
 * The code-patching Linux itself does when it loads a module on a CPU that
 * needs neither ftrace nor the speculation mitigations: each `call
 * __fentry__` (__mcount_loc) becomes a 5-byte nop, each jump to
 * __x86_return_thunk (.return_sites) a ret, each call or jump through
 * __x86_indirect_thunk_REG (.retpoline_sites) an indirect call or jump
 * through REG. The module then runs its own code instead of a library call
 * per function entry and return; in the translated engine each of those
 * would leave the emulator. A site that is not the expected instruction is
 * left alone (and still works through the library's thunk).
 */
static const char *const thunk_reg[16] = {
	"rax", "rcx", "rdx", "rbx", NULL, "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* the destination of the rel32 jump/call/jcc at P, its length in *LEN */
static uint64_t branch_target(const uint8_t *p, unsigned *len, int *cc)
{
	int32_t d;

	*cc = -1;
	*len = 0;
	if (p[0] == 0xe8 || p[0] == 0xe9) {
		*len = 5;
		memcpy(&d, p + 1, 4);
	} else if (p[0] == 0x0f && (p[1] & 0xf0) == 0x80) {
		*len = 6;
		*cc = p[1] & 0x0f;
		memcpy(&d, p + 2, 4);
	} else {
		return 0;
	}
	return (uint64_t)(uintptr_t)p + *len + (uint64_t)(int64_t)d;
}

static int in_code(const struct ko_module *m, uint64_t a, unsigned len)
{
	return a >= m->base && a - m->base <= m->text_size && m->text_size - (a - m->base) >= len;
}

/* entry K of a table of N-byte entries at A (placed, maybe unaligned) */
static uint64_t entry64(uint64_t a, uint64_t k)
{
	uint64_t v;

	memcpy(&v, (const void *)(uintptr_t)(a + 8 * k), 8);
	return v;
}

/* the place entry K of a table of 32-bit self-relative offsets at A names */
static uint64_t entry_rel32(uint64_t a, uint64_t k)
{
	int32_t v;

	memcpy(&v, (const void *)(uintptr_t)(a + 4 * k), 4);
	return a + 4 * k + (uint64_t)(int64_t)v;
}

static void patch_sites(const struct ko_image *img, struct ko_module *m, ko_resolve_fn resolve,
			void *ctx)
{
	uint64_t fentry = resolve(ctx, "__fentry__"), ret = resolve(ctx, "__x86_return_thunk");
	uint64_t thunk[16] = { 0 };
	int i;

	for (unsigned r = 0; r < 16; r++) {
		char name[40];

		if (!thunk_reg[r])
			continue;
		snprintf(name, sizeof(name), "__x86_indirect_thunk_%s", thunk_reg[r]);
		thunk[r] = resolve(ctx, name);
	}
	i = ko_section_index(img, "__mcount_loc");
	if (i >= 0 && m->addr[i] && fentry) {
		for (uint64_t k = 0; k < img->sec[i].size / 8; k++) {
			uint64_t a = entry64(m->addr[i], k);
			uint8_t *p = (uint8_t *)(uintptr_t)a;
			unsigned len;
			int cc;

			if (in_code(m, a, 5) && p[0] == 0xe8 &&
			    branch_target(p, &len, &cc) == fentry) {
				memcpy(p, "\x0f\x1f\x44\x00\x00", 5);
				m->patched++;
			}
		}
	}
	i = ko_section_index(img, ".return_sites");
	if (i >= 0 && m->addr[i] && ret) {
		for (uint64_t k = 0; k < img->sec[i].size / 4; k++) {
			uint64_t a = entry_rel32(m->addr[i], k);
			uint8_t *p = (uint8_t *)(uintptr_t)a;
			unsigned len, n = 0;
			int cc;

			if (!in_code(m, a, 6) || p[0] == 0xe8 || branch_target(p, &len, &cc) != ret)
				continue;
			if (cc >= 0) {		/* jcc thunk: j!cc over a ret */
				p[n++] = (uint8_t)(0x70 | (cc ^ 1));
				p[n++] = 1;
			}
			p[n++] = 0xc3;
			while (n < len)
				p[n++] = 0xcc;
			m->patched++;
		}
	}
	i = ko_section_index(img, ".retpoline_sites");
	if (i >= 0 && m->addr[i]) {
		for (uint64_t k = 0; k < img->sec[i].size / 4; k++) {
			uint64_t a = entry_rel32(m->addr[i], k);
			uint8_t *p = (uint8_t *)(uintptr_t)a, insn[3];
			unsigned len, n = 0, r, il = 0, cs;
			uint64_t to;
			int cc;

			if (!in_code(m, a, 7))
				continue;
			cs = p[0] == 0x2e;	/* `cs call thunk` (-mindirect-branch-cs-prefix) */
			to = branch_target(p + cs, &len, &cc);
			len += cs;
			for (r = 0; r < 16 && !(thunk[r] && thunk[r] == to); r++)
				;
			if (r == 16)
				continue;
			if (r >= 8)
				insn[il++] = 0x41;	/* REX.B */
			insn[il++] = 0xff;
			/* call *%reg is ff /2, jmp *%reg ff /4 */
			insn[il++] = (uint8_t)((p[cs] == 0xe8 ? 0xd0 : 0xe0) | (r & 7));
			if (cc >= 0) {		/* jcc thunk: j!cc over a jmp *%reg */
				p[n++] = (uint8_t)(0x70 | (cc ^ 1));
				p[n++] = (uint8_t)il;
			}
			memcpy(p + n, insn, il);
			n += il;
			while (n < len)
				p[n++] = 0x90;
			m->patched++;
		}
	}
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
	patch_sites(img, m, resolve, ctx);
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

uint64_t ko_function_address(const struct ko_image *img, const struct ko_module *m, unsigned i)
{
	const struct ko_symbol *s = &img->sym[i];

	if (s->type != STT_FUNC || s->shndx == SHN_UNDEF || s->shndx >= img->nsec ||
	    !m->addr[s->shndx] || !(img->sec[s->shndx].flags & SHF_EXECINSTR) ||
	    s->value > img->sec[s->shndx].size || s->size > img->sec[s->shndx].size - s->value)
		return 0;
	return m->addr[s->shndx] + s->value;
}

void ko_unload(struct ko_module *m)
{
	if (m->base)
		munmap((void *)m->base, m->size);
	free(m->addr);
	memset(m, 0, sizeof(*m));
}
