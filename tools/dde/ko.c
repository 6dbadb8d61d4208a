/*
 * dde ko info FILE.ko — what a binary module is and what it needs: name,
 * version magic, dependencies, parameters, the PCI ids it claims, every
 * import and who provides it (the service library's explicit export
 * table, or a module it depends on, found next to it), the modversions
 * check, and each section with what the loader does with it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ko/file.h>

#include "dde.h"
#include "index.h"
#include "session.h"

#define MAX_DEPS 8

/* the service library's exports, as tools/gen-exports wrote them */
struct library {
	char kernel[64];
	unsigned module_layout;		/* its CRC, 0 if unknown */
	unsigned n;
	char **name;
	unsigned *crc;
};

/* $(O)/share/dde/ksrv-CLASS.exports, found from this program's own place */
static int load_library(struct library *lib, const char *cls)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	unsigned cap = 0;

	memset(lib, 0, sizeof(*lib));
	char rel[64];

	snprintf(rel, sizeof(rel), "../share/dde/ksrv-%s.exports", cls);
	session_sibling(rel, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[200];
		unsigned crc;

		if (sscanf(line, "# kernel %63s", lib->kernel) == 1 ||
		    sscanf(line, "# module_layout %x", &lib->module_layout) == 1)
			continue;
		if (sscanf(line, "%199s %x", name, &crc) != 2)
			continue;
		if (lib->n == cap) {
			cap = cap ? cap * 2 : 1024;
			lib->name = realloc(lib->name, cap * sizeof(*lib->name));
			lib->crc = realloc(lib->crc, cap * sizeof(*lib->crc));
			if (!lib->name || !lib->crc)
				abort();
		}
		lib->name[lib->n] = strdup(name);
		lib->crc[lib->n++] = crc;
	}
	fclose(f);
	return 0;
}

static int library_find(const struct library *lib, const char *name)
{
	for (unsigned i = 0; i < lib->n; i++)
		if (!strcmp(lib->name[i], name))
			return (int)i;
	return -1;
}

struct dep {
	char name[64];
	struct ko_file file;
	int ok;
};

static const struct ko_export *dep_export(struct dep *deps, int ndeps, const char *name, int *which)
{
	for (int d = 0; d < ndeps; d++) {
		if (!deps[d].ok)
			continue;
		const struct ko_export *x = ko_export_of(&deps[d].file.img, name);

		if (x) {
			*which = d;
			return x;
		}
	}
	return NULL;
}

static void print_modinfo(const struct ko_image *img)
{
	const char *v;
	int n = 0;

	printf("parameters:");
	for (v = ko_modinfo(img, "parmtype", NULL); v; v = ko_modinfo(img, "parmtype", v)) {
		const char *colon = strchr(v, ':'), *d;
		int len = colon ? (int)(colon - v) : (int)strlen(v);

		printf("%s  %.*s (%s)", n++ ? "\n           " : "", len, v, colon ? colon + 1 : "?");
		for (d = ko_modinfo(img, "parm", NULL); d; d = ko_modinfo(img, "parm", d))
			if (!strncmp(d, v, (size_t)len) && d[len] == ':')
				printf(": %s", d + len + 1);
	}
	printf("%s\n", n ? "" : " none");

	n = 0;
	for (v = ko_modinfo(img, "alias", NULL); v; v = ko_modinfo(img, "alias", v))
		n += !strncmp(v, "pci:v", 5);
	printf("devices:    %d PCI id%s%s", n, n == 1 ? "" : "s", n ? ":" : "");
	for (v = ko_modinfo(img, "alias", NULL); v; v = ko_modinfo(img, "alias", v)) {
		unsigned ven, dev;
		char vs[9], ds[9];

		/* pci:v00008086d0000100Esv*sd*bc*sc*i* (a '*' matches any) */
		if (sscanf(v, "pci:v%8[0-9A-F*]d%8[0-9A-F*]", vs, ds) != 2)
			continue;
		if (strchr(vs, '*') || sscanf(vs, "%x", &ven) != 1)
			printf(" *:");
		else
			printf(" %04x:", ven);
		if (strchr(ds, '*') || sscanf(ds, "%x", &dev) != 1)
			printf("*");
		else
			printf("%04x", dev);
	}
	printf("\n");
}

static int info(const char *path, int verbose)
{
	struct ko_file file;
	const struct ko_image *img = &file.img;
	struct library lib;
	struct dep deps[MAX_DEPS];
	int ndeps = 0, have_lib;
	char err[256], cls[8];
	const char *name, *vermagic, *depends;
	unsigned provided = 0, from_dep = 0, missing = 0, crc_ok = 0, crc_bad = 0, crc_none = 0;

	if (ko_open(path, &file, err, sizeof(err)) < 0) {
		fprintf(stderr, "dde ko info: %s: %s\n", path, err);
		return 1;
	}
	name = ko_modinfo(img, "name", NULL);
	/* the library of the module's class (the driver index knows it; a
	 * module it lacks, or of a class without a host: the net library) */
	{
		struct driver_index ix;
		const struct index_line *l;
		char base[128], ixerr[PATH_MAX + 64], *dot;
		const char *slash = strrchr(path, '/');

		snprintf(base, sizeof(base), "%s", slash ? slash + 1 : path);
		if ((dot = strstr(base, ".ko")))
			*dot = 0;
		snprintf(cls, sizeof(cls), "net");
		if (index_load(&ix, ixerr, sizeof(ixerr)) == 0) {
			l = index_find(&ix, base, false);
			if (l && (!strcmp(l->cls, "net") || !strcmp(l->cls, "block") ||
				  !strcmp(l->cls, "sound") || !strcmp(l->cls, "usb")))
				snprintf(cls, sizeof(cls), "%s", l->cls);
			index_free(&ix);
		}
	}
	have_lib = load_library(&lib, cls) == 0;
	vermagic = ko_modinfo(img, "vermagic", NULL);
	depends = ko_modinfo(img, "depends", NULL);

	printf("module:     %s", name ? name : "(no name)");
	if (ko_modinfo(img, "description", NULL))
		printf(" - %s", ko_modinfo(img, "description", NULL));
	printf("\nfile:       %s, %zu bytes, %s, %s\n", path, file.size, ko_machine_name(img->machine),
	       img->signature ? "signed (signature not checked)" : "not signed");
	printf("license:    %s\n", ko_modinfo(img, "license", NULL) ? ko_modinfo(img, "license", NULL) : "(none)");
	printf("vermagic:   %s", vermagic ? vermagic : "(none)");
	if (have_lib && lib.kernel[0] && vermagic) {
		size_t k = strlen(lib.kernel);

		printf(!strncmp(vermagic, lib.kernel, k) && vermagic[k] == ' ' ?
		       " (the service library's kernel)\n" : " (NOT the service library's kernel, %s)\n",
		       lib.kernel);
	} else {
		printf("\n");
	}

	/* dependencies: modules next to this one */
	printf("depends:    %s", depends && *depends ? depends : "none");
	if (depends && *depends) {
		char list[256], *save = NULL, *d;

		snprintf(list, sizeof(list), "%s", depends);
		for (d = strtok_r(list, ",", &save); d && ndeps < MAX_DEPS; d = strtok_r(NULL, ",", &save)) {
			char dpath[PATH_MAX + 80];
			struct dep *x = &deps[ndeps++];

			memset(x, 0, sizeof(*x));
			snprintf(x->name, sizeof(x->name), "%s", d);
			ko_dependency_path(path, d, dpath, sizeof(dpath));
			if (ko_open(dpath, &x->file, err, sizeof(err)) == 0) {
				x->ok = 1;
				printf(" (%s.ko found beside it: %u exports)", d, x->file.img.nexp);
			} else {
				printf(" (%s.ko: not usable beside it)", d);
			}
		}
	}
	printf("\n");
	print_modinfo(img);

	if (img->machine != EM_X86_64) {
		printf("imports:    not resolved: a module for %s; this host runs x86-64 modules\n",
		       ko_machine_name(img->machine));
		goto sections;
	}
	if (!have_lib)
		printf("imports:    the service library's export table is not built (make)\n");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			printf("imports:    %u: %u from the %s service library, %u from dependencies, %u MISSING\n",
			       provided + from_dep + missing, provided, cls, from_dep, missing);
		provided = from_dep = missing = crc_ok = crc_bad = crc_none = 0;
		for (unsigned i = 0; i < img->nsym; i++) {
			const struct ko_symbol *s = &img->sym[i];
			const struct ko_version *v;
			const struct ko_export *x;
			int li, which = -1;
			const char *who, *crc;
			uint32_t want = 0;
			int has = 0;

			if (s->shndx != SHN_UNDEF || !s->name[0])
				continue;
			v = ko_version_of(img, s->name);
			li = have_lib ? library_find(&lib, s->name) : -1;
			x = li < 0 ? dep_export(deps, ndeps, s->name, &which) : NULL;
			if (li >= 0) {
				provided++;
				who = "service library";
				want = lib.crc[li];
				has = 1;
			} else if (x) {
				from_dep++;
				who = deps[which].name;
				want = x->crc;
				has = x->has_crc;
			} else {
				missing++;
				who = "MISSING";
			}
			if (!v || !has) {
				crc_none++;
				crc = v ? "" : "no CRC in the module";
			} else if (v->crc == want) {
				crc_ok++;
				crc = "crc ok";
			} else {
				crc_bad++;
				crc = "CRC MISMATCH";
			}
			if (pass == 1 && (verbose || li < 0 || (v && has && v->crc != want)))
				printf("    %-40s %-16s %s\n", s->name, who, crc);
		}
	}
	if (!verbose && provided)
		printf("    (%u from the service library not listed: -v lists them)\n", provided);
	{
		const struct ko_version *ml = ko_version_of(img, "module_layout");

		if (ml && have_lib && lib.module_layout) {
			if (ml->crc == lib.module_layout) {
				crc_ok++;
			} else {
				crc_bad++;
				printf("    %-40s %-16s %s\n", "module_layout (struct module)", "service library",
				       "CRC MISMATCH");
			}
		} else if (ml) {
			crc_none++;
		}
	}
	printf("modversions: %u CRCs in the module: %u match, %u differ, %u not checked%s\n", img->nver,
	       crc_ok, crc_bad, crc_none, crc_bad ? " -- the loader refuses this module" : "");
	if (img->nexp) {
		printf("exports:    %u (for modules loaded after it):", img->nexp);
		for (unsigned i = 0; i < img->nexp; i++)
			printf(" %s", img->exp[i].name);
		printf("\n");
	}
sections:
	printf("sections:\n");
	for (unsigned i = 1; i < img->nsec; i++) {
		int placed;
		const char *t = ko_section_treatment(img, i, &placed);

		if (!verbose && img->sec[i].type == SHT_RELA)
			continue;
		printf("    %-28s %8llu  %s\n", img->sec[i].name, (unsigned long long)img->sec[i].size, t);
	}
	if (!verbose)
		printf("    (relocation sections not listed: -v lists them)\n");

	for (int d = 0; d < ndeps; d++)
		if (deps[d].ok)
			ko_close(&deps[d].file);
	for (unsigned i = 0; i < lib.n; i++)
		free(lib.name[i]);
	free(lib.name);
	free(lib.crc);
	ko_close(&file);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde ko info [-v] FILE.ko\n"
		"\n"
		"Describe a binary Linux kernel module: name, version magic, dependencies\n"
		"(looked for beside it), parameters, PCI ids, every import and who provides\n"
		"it, the modversions check, and what the loader does with each section.\n"
		"-v also lists the imports the service library provides and the relocation\n"
		"sections.\n");
}

int dde_ko(int argc, char **argv)
{
	int verbose = 0, i = 2;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "info")) {
		fprintf(stderr, "dde ko: unknown subcommand '%s' (dde ko --help)\n", argv[1]);
		return 2;
	}
	if (i < argc && !strcmp(argv[i], "-v")) {
		verbose = 1;
		i++;
	}
	if (i != argc - 1) {
		fprintf(stderr, "dde ko info: give one module file (dde ko --help)\n");
		return 2;
	}
	return info(argv[i], verbose);
}
