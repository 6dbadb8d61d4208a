/*
 * The module reader and loader on Debian's own modules (DDE_KO_DIR, set by
 * tests/run from the build): parse, place, link against a stand-in export
 * table, and check what the relocations wrote; then truncated and
 * corrupted copies, which must be refused or loaded without harm.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <ko/ko.h>
#include <ko/load.h>

struct file {
	uint8_t *p;
	size_t size;
};

static struct file read_module(const char *name)
{
	const char *dir = getenv("DDE_KO_DIR");
	char path[4096];
	struct file f = { 0 };
	struct stat st;
	int fd;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
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

/* A stand-in service library: one page per import name, below 2 GiB. */
struct fake_lib {
	uint8_t *area;
	size_t size;
	char names[512][64];
	unsigned n;
	const char *refuse[4];		/* names it does not provide */
	int far;			/* hand out addresses above 4 GiB */
};

static uint64_t fake_resolve(void *ctx, const char *name)
{
	struct fake_lib *l = ctx;
	unsigned i;

	for (i = 0; i < 4; i++)
		if (l->refuse[i] && !strcmp(l->refuse[i], name))
			return 0;
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			break;
	if (i == l->n) {
		assert_true(l->n < 512);
		snprintf(l->names[l->n++], 64, "%s", name);
	}
	if (l->far)
		return 0x7f0000000000ull + i * 16;
	return (uint64_t)(uintptr_t)l->area + i * 16;
}

static struct fake_lib *fake_lib(void)
{
	struct fake_lib *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	l->size = 512 * 16;
	l->area = mmap(NULL, l->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	assert_true(l->area != MAP_FAILED);
	return l;
}

static void free_lib(struct fake_lib *l)
{
	munmap(l->area, l->size);
	free(l);
}

static unsigned count_imports(const struct ko_image *img)
{
	unsigned n = 0;

	for (unsigned i = 1; i < img->nsym; i++)
		n += img->sym[i].shndx == SHN_UNDEF && img->sym[i].name[0];
	return n;
}

static void test_parse_e1000(void **state)
{
	struct file f = read_module("e1000.ko");
	struct ko_image img;
	char err[256];

	(void)state;
	assert_int_equal(ko_parse(f.p, f.size, &img, err, sizeof(err)), 0);
	assert_int_equal(img.machine, EM_X86_64);
	assert_string_equal(ko_modinfo(&img, "name", NULL), "e1000");
	assert_string_equal(ko_modinfo(&img, "license", NULL), "GPL v2");
	assert_int_equal(count_imports(&img), 154);
	assert_int_equal(img.nver, 155);	/* the imports + module_layout */
	assert_true(img.signature > 0);
	assert_int_equal(img.sec[img.this_module].size, 896);
	ko_free(&img);
	free(f.p);
}

/* Every relocation of .text wrote S + A - P (or S + A) for its symbol. */
static void test_load_e1000_relocations(void **state)
{
	struct file f = read_module("e1000.ko");
	struct ko_image img;
	struct ko_module m;
	struct fake_lib *lib = fake_lib();
	char err[512];
	int text = -1;
	unsigned checked = 0, patched = 0;
	uint64_t init, exit_fn;

	(void)state;
	assert_int_equal(ko_parse(f.p, f.size, &img, err, sizeof(err)), 0);
	if (ko_load(&img, fake_resolve, lib, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(m.base + m.size < 0x80000000ull);
	assert_true(m.relocs > 1000);
	text = ko_section_index(&img, ".text");
	for (unsigned k = 0; k < img.nrel; k++) {
		if (img.rel[k].target != (unsigned)text)
			continue;
		for (unsigned i = 0; i < img.rel[k].count; i++) {
			const struct ko_reloc *r = &img.rel[k].r[i];
			const struct ko_symbol *s = &img.sym[r->sym];
			uint64_t place = m.addr[text] + r->offset, sv;
			int32_t w;

			const uint8_t *b = (const uint8_t *)(uintptr_t)place;

			/* the call sites ko_load patches as Linux does */
			if (!strcmp(s->name, "__fentry__")) {
				assert_memory_equal(b - 1, "\x0f\x1f\x44\x00\x00", 5);
				patched++;
				continue;
			}
			if (!strcmp(s->name, "__x86_return_thunk")) {
				assert_true(b[-1] == 0xc3 || (b[-1] == 0x01 && b[0] == 0xc3));
				patched++;
				continue;
			}
			if (!strncmp(s->name, "__x86_indirect_thunk_", 21)) {
				patched++;
				continue;
			}
			sv = s->shndx == SHN_UNDEF ? fake_resolve(lib, s->name) :
						    m.addr[s->shndx] + s->value;
			memcpy(&w, (void *)(uintptr_t)place, 4);
			if (r->type == R_X86_64_PC32 || r->type == R_X86_64_PLT32)
				assert_true((int64_t)(sv + (uint64_t)r->addend - place) == w);
			else if (r->type == R_X86_64_32S)
				assert_true((int64_t)(sv + (uint64_t)r->addend) == w);
			else
				continue;
			checked++;
		}
	}
	assert_true(checked > 1000);
	/* every site listed in __mcount_loc, .return_sites and .retpoline_sites
	 * (one relocation each, in .text and elsewhere) was patched */
	assert_int_equal(m.patched,
			 img.sec[ko_section_index(&img, "__mcount_loc")].size / 8 +
			 img.sec[ko_section_index(&img, ".return_sites")].size / 4 +
			 img.sec[ko_section_index(&img, ".retpoline_sites")].size / 4);
	assert_true(patched > 300);
	/* struct module: init at +0x138, exit at +0x350 (FINDINGS.md §4) */
	memcpy(&init, (void *)(uintptr_t)(m.this_module + 0x138), 8);
	memcpy(&exit_fn, (void *)(uintptr_t)(m.this_module + 0x350), 8);
	assert_int_equal(init, ko_symbol_address(&img, &m, "init_module"));
	assert_int_equal(exit_fn, ko_symbol_address(&img, &m, "cleanup_module"));
	assert_true(init >= m.base && init < m.base + m.text_size);
	ko_unload(&m);
	ko_free(&img);
	free_lib(lib);
	free(f.p);
}

static void test_missing_imports_listed(void **state)
{
	struct file f = read_module("e1000.ko");
	struct ko_image img;
	struct ko_module m;
	struct fake_lib *lib = fake_lib();
	char err[512];

	(void)state;
	lib->refuse[0] = "napi_gro_frags";
	lib->refuse[1] = "pcix_set_mmrbc";
	assert_int_equal(ko_parse(f.p, f.size, &img, err, sizeof(err)), 0);
	assert_int_equal(ko_load(&img, fake_resolve, lib, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "imports nobody provides:"));
	assert_non_null(strstr(err, " napi_gro_frags"));
	assert_non_null(strstr(err, " pcix_set_mmrbc"));
	assert_int_equal(m.base, 0);
	ko_free(&img);
	free_lib(lib);
	free(f.p);
}

static void test_out_of_reach_refused(void **state)
{
	struct file f = read_module("mii.ko");
	struct ko_image img;
	struct ko_module m;
	struct fake_lib *lib = fake_lib();
	char err[512];

	(void)state;
	lib->far = 1;
	assert_int_equal(ko_parse(f.p, f.size, &img, err, sizeof(err)), 0);
	assert_int_equal(ko_load(&img, fake_resolve, lib, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of reach"));
	ko_free(&img);
	free_lib(lib);
	free(f.p);
}

static void test_module_exports(void **state)
{
	struct file f = read_module("mii.ko");
	struct ko_image img;
	struct ko_module m;
	struct fake_lib *lib = fake_lib();
	char err[512];
	int found = 0;

	(void)state;
	assert_int_equal(ko_parse(f.p, f.size, &img, err, sizeof(err)), 0);
	assert_int_equal(img.nexp, 10);
	assert_int_equal(ko_load(&img, fake_resolve, lib, &m, err, sizeof(err)), 0);
	for (unsigned i = 0; i < img.nexp; i++) {
		assert_true(img.exp[i].has_crc);
		assert_int_equal(ko_export_address(&img, &m, i),
				 ko_symbol_address(&img, &m, img.exp[i].name));
		found += !strcmp(img.exp[i].name, "mii_link_ok");
	}
	assert_int_equal(found, 1);
	ko_unload(&m);
	ko_free(&img);
	free_lib(lib);
	free(f.p);
}

/* parse (and, if accepted, load) a damaged copy: refused or harmless */
static void try_damaged(const uint8_t *p, size_t size, struct fake_lib *lib, unsigned *refused)
{
	struct ko_image img;
	struct ko_module m;
	char err[512];

	if (ko_parse(p, size, &img, err, sizeof(err)) != 0) {
		assert_true(err[0] != 0);
		(*refused)++;
		return;
	}
	if (ko_load(&img, fake_resolve, lib, &m, err, sizeof(err)) == 0)
		ko_unload(&m);
	ko_free(&img);
}

static void test_truncated_copies(void **state)
{
	struct file f = read_module("mii.ko");
	struct fake_lib *lib = fake_lib();
	unsigned refused = 0, tries = 0;

	(void)state;
	for (size_t n = 0; n < f.size; n += 61, tries++) {
		uint8_t *copy = malloc(n ? n : 1);	/* exactly n bytes: ASan sees overreads */

		memcpy(copy, f.p, n);
		try_damaged(copy, n, lib, &refused);
		free(copy);
	}
	/* everything short of the section headers is refused */
	assert_true(refused > tries / 2);
	free_lib(lib);
	free(f.p);
}

static void test_corrupted_copies(void **state)
{
	struct file f = read_module("mii.ko");
	struct fake_lib *lib = fake_lib();
	uint8_t *copy = malloc(f.size);
	unsigned refused = 0;

	(void)state;
	srand(1);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, f.p, f.size);
		for (int k = 0; k < 4; k++) {
			/* mostly the headers and tables, where the offsets are */
			size_t at = rand() % 2 ? (size_t)rand() % 64 :
				    f.size - 1 - (size_t)rand() % (f.size / 3);
			copy[at] ^= (uint8_t)(1u << (rand() % 8));
		}
		try_damaged(copy, f.size, lib, &refused);
	}
	assert_true(refused > 0);
	free(copy);
	free_lib(lib);
	free(f.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_e1000),
		cmocka_unit_test(test_load_e1000_relocations),
		cmocka_unit_test(test_missing_imports_listed),
		cmocka_unit_test(test_out_of_reach_refused),
		cmocka_unit_test(test_module_exports),
		cmocka_unit_test(test_truncated_copies),
		cmocka_unit_test(test_corrupted_copies),
	};

	return cmocka_run_group_tests_name("ko", tests, NULL, NULL);
}
