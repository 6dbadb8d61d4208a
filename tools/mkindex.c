/*
 * mkindex — the driver index's lines, made at build time (docs/drivers.md).
 *
 *   mkindex source NAME CLASS TABLE... -- OBJECT...
 *	the PCI ids a driver built from source claims: each TABLE is the
 *	name of a `MODULE_DEVICE_TABLE(pci, TABLE)` of its Linux files,
 *	read out of the compiled OBJECTs (struct pci_device_id entries up
 *	to the all-zero one) and written as modalias patterns, the way
 *	Linux's modpost writes them into a module (scripts/mod/file2alias.c)
 *   mkindex ids NAME CLASS VVVV:DDDD...
 *	a source driver whose recipe names the devices it takes (`pci` lines:
 *	its Linux tables claim more, as virtio_pci's claims every virtio
 *	device whatever its kind)
 *   mkindex modules TREE
 *	every module under TREE (the package's lib/modules/VERSION/kernel):
 *	its name, its class (from where it lives in the tree) and the
 *	`alias=pci:` and `alias=virtio:` lines of its .modinfo
 *
 * Output lines: KIND NAME CLASS PATTERN, KIND "src" or "ko"; a module
 * with no PCI alias gets one line with pattern "-" so that the index
 * knows every module by name.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct elf {
	const uint8_t *p;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
};

static int elf_open(const char *path, struct elf *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(e, 0, sizeof(*e));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return -1;
	}
	e->size = (size_t)st.st_size;
	e->p = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (e->p == MAP_FAILED) {
		e->p = NULL;
		return -1;
	}
	e->eh = (const Elf64_Ehdr *)e->p;
	if (memcmp(e->eh->e_ident, ELFMAG, SELFMAG) || e->eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->eh->e_shentsize != sizeof(Elf64_Shdr) || e->eh->e_shoff > e->size ||
	    (size_t)e->eh->e_shnum * sizeof(Elf64_Shdr) > e->size - e->eh->e_shoff ||
	    e->eh->e_shstrndx >= e->eh->e_shnum) {
		munmap((void *)e->p, e->size);
		e->p = NULL;
		errno = ENOEXEC;
		return -1;
	}
	e->sh = (const Elf64_Shdr *)(e->p + e->eh->e_shoff);
	return 0;
}

static void elf_close(struct elf *e)
{
	if (e->p)
		munmap((void *)e->p, e->size);
}

/* a section's bytes, or NULL if it has none in the file or lies outside */
static const uint8_t *section_data(const struct elf *e, unsigned i, size_t *len)
{
	const Elf64_Shdr *s = &e->sh[i];

	if (s->sh_type == SHT_NOBITS || s->sh_offset > e->size || s->sh_size > e->size - s->sh_offset)
		return NULL;
	*len = s->sh_size;
	return e->p + s->sh_offset;
}

static const char *section_name(const struct elf *e, unsigned i)
{
	size_t len;
	const char *names = (const char *)section_data(e, e->eh->e_shstrndx, &len);

	if (!names || e->sh[i].sh_name >= len)
		return "";
	return names + e->sh[i].sh_name;
}

/* --- PCI ids as modalias patterns (the format of file2alias.c) ------------ */

#define PCI_ANY_ID 0xffffffffu

struct pci_id {		/* struct pci_device_id, x86-64 */
	uint32_t vendor, device, subvendor, subdevice, class, class_mask;
	uint64_t driver_data;
	uint32_t override_only, pad;
};

static void field(char *out, const char *sep, int present, unsigned width, unsigned v)
{
	strcat(out, sep);
	if (present)
		sprintf(out + strlen(out), "%0*X", (int)width, v);
	else
		strcat(out, "*");
}

/* 0 and the pattern in OUT, or -1 for a class mask modpost refuses too */
static int pci_pattern(const struct pci_id *id, char *out)
{
	unsigned bc = id->class >> 16 & 0xff, sc = id->class >> 8 & 0xff, pi = id->class & 0xff;
	unsigned bm = id->class_mask >> 16 & 0xff, sm = id->class_mask >> 8 & 0xff,
		 im = id->class_mask & 0xff;

	if ((bm != 0 && bm != 0xff) || (sm != 0 && sm != 0xff) || (im != 0 && im != 0xff))
		return -1;
	strcpy(out, "pci:");
	field(out, "v", id->vendor != PCI_ANY_ID, 8, id->vendor);
	field(out, "d", id->device != PCI_ANY_ID, 8, id->device);
	field(out, "sv", id->subvendor != PCI_ANY_ID, 8, id->subvendor);
	field(out, "sd", id->subdevice != PCI_ANY_ID, 8, id->subdevice);
	field(out, "bc", bm == 0xff, 2, bc);
	field(out, "sc", sm == 0xff, 2, sc);
	field(out, "i", im == 0xff, 2, pi);
	if (out[strlen(out) - 1] != '*')
		strcat(out, "*");
	return 0;
}

/* Print the entries of table SYM if OBJECT defines it; the count, or -1. */
static int table_from_object(const char *obj, const char *sym, const char *name,
			     const char *cls)
{
	struct elf e;
	int found = 0;

	if (elf_open(obj, &e)) {
		fprintf(stderr, "mkindex: %s: %s\n", obj, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < e.eh->e_shnum && !found; i++) {
		size_t len = 0, strlen_ = 0;
		const Elf64_Sym *syms;
		const char *str;

		if (e.sh[i].sh_type != SHT_SYMTAB || e.sh[i].sh_link >= e.eh->e_shnum)
			continue;
		syms = (const Elf64_Sym *)section_data(&e, i, &len);
		str = (const char *)section_data(&e, e.sh[i].sh_link, &strlen_);
		if (!syms || !str)
			continue;
		for (size_t k = 0; k < len / sizeof(*syms); k++) {
			const Elf64_Sym *s = &syms[k];
			const uint8_t *data;
			size_t dlen;

			if (s->st_name >= strlen_ || strcmp(str + s->st_name, sym) ||
			    s->st_shndx == SHN_UNDEF || s->st_shndx >= e.eh->e_shnum)
				continue;
			data = section_data(&e, s->st_shndx, &dlen);
			if (!data || s->st_value > dlen || s->st_size > dlen - s->st_value ||
			    s->st_size % sizeof(struct pci_id)) {
				fprintf(stderr, "mkindex: %s: %s is not a table of struct pci_device_id\n",
					obj, sym);
				elf_close(&e);
				return -1;
			}
			for (size_t off = 0; off < s->st_size; off += sizeof(struct pci_id)) {
				struct pci_id id;
				char pat[128];

				memcpy(&id, data + s->st_value + off, sizeof(id));
				if (!id.vendor && !id.device && !id.subvendor && !id.class_mask)
					break;	/* the terminating entry */
				if (pci_pattern(&id, pat) == 0) {
					printf("src %s %s %s\n", name, cls, pat);
					found++;
				}
			}
			if (!found)
				found = -2;	/* defined, but empty */
			break;
		}
	}
	elf_close(&e);
	return found == -2 ? 0 : found;
}

static int do_source(int argc, char **argv)
{
	const char *name = argv[0], *cls = argv[1];
	int sep = -1, total = 0;

	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	if (sep < 0) {
		fprintf(stderr, "usage: mkindex source NAME CLASS TABLE... -- OBJECT...\n");
		return 2;
	}
	for (int t = 2; t < sep; t++) {
		int n = 0;

		for (int o = sep + 1; o < argc && !n; o++) {
			n = table_from_object(argv[o], argv[t], name, cls);
			if (n < 0)
				return 1;
		}
		if (!n) {
			fprintf(stderr, "mkindex: %s: no PCI ids in table %s of its objects\n",
				name, argv[t]);
			return 1;
		}
		total += n;
	}
	if (!total)	/* a driver without a PCI table (selftest): known by name */
		printf("src %s %s -\n", name, cls);
	return 0;
}

/* --- every module of the package --------------------------------------- */

static size_t tree_len;
static unsigned nmodules, naliases, nbad;

/* Where a module lives says what it serves. */
static const char *module_class(const char *rel)
{
	static const struct { const char *prefix, *cls; } map[] = {
		{ "drivers/net/", "net" },
		{ "drivers/nvme/", "block" }, { "drivers/ata/", "block" },
		{ "drivers/scsi/", "block" }, { "drivers/block/", "block" },
		{ "sound/", "sound" },
		{ "drivers/usb/", "usb" },
		{ "drivers/input/", "input" }, { "drivers/hid/", "input" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(rel, map[i].prefix, strlen(map[i].prefix)))
			return map[i].cls;
	return "-";
}

static int one_module(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);
	char name[256];
	const char *base = path + ftw->base, *rel = path + tree_len, *cls;
	struct elf e;
	unsigned aliases = 0;

	(void)st;
	if (type != FTW_F || n < 3 || strcmp(path + n - 3, ".ko"))
		return 0;
	nmodules++;
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(base) - 3), base);
	while (*rel == '/')
		rel++;
	cls = module_class(rel);
	if (elf_open(path, &e)) {
		fprintf(stderr, "mkindex: %s: %s (left out of the index)\n", path, strerror(errno));
		nbad++;
		return 0;
	}
	for (unsigned i = 0; i < e.eh->e_shnum; i++) {
		size_t len;
		const char *info;

		if (strcmp(section_name(&e, i), ".modinfo") || !(info = (const char *)section_data(&e, i, &len)))
			continue;
		for (size_t off = 0; off < len; off += strnlen(info + off, len - off) + 1) {
			const char *kv = info + off;
			size_t kl = strnlen(kv, len - off);

			/* PCI ids, and virtio ids (virtio_net, virtio_blk: reached
			 * through virtio_pci, which claims the PCI device) */
			if (kl > 10 && kl < 200 && (!strncmp(kv, "alias=pci:", 10) ||
						    !strncmp(kv, "alias=virtio:", 13))) {
				printf("ko %s %s %.*s\n", name, cls, (int)(kl - 6), kv + 6);
				aliases++;
			}
		}
	}
	elf_close(&e);
	if (!aliases)
		printf("ko %s %s -\n", name, cls);
	naliases += aliases;
	return 0;
}

static int do_modules(const char *tree)
{
	tree_len = strlen(tree);
	if (nftw(tree, one_module, 32, FTW_PHYS)) {
		fprintf(stderr, "mkindex: %s: %s\n", tree, strerror(errno));
		return 1;
	}
	if (!nmodules) {
		fprintf(stderr, "mkindex: no modules under %s\n", tree);
		return 1;
	}
	fprintf(stderr, "mkindex: %u modules, %u PCI aliases%s\n", nmodules, naliases,
		nbad ? " (some unreadable: above)" : "");
	return nbad ? 1 : 0;
}

static int do_ids(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		unsigned v, d;
		char tail;

		if (sscanf(argv[i], "%4x:%4x%c", &v, &d, &tail) != 2) {
			fprintf(stderr, "mkindex: %s: bad PCI id '%s' (want VVVV:DDDD)\n", argv[0],
				argv[i]);
			return 1;
		}
		printf("src %s %s pci:v%08Xd%08Xsv*sd*bc*sc*i*\n", argv[0], argv[1], v, d);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "source"))
		return do_source(argc - 2, argv + 2);
	if (argc >= 5 && !strcmp(argv[1], "ids"))
		return do_ids(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "modules"))
		return do_modules(argv[2]);
	fprintf(stderr, "usage: mkindex source NAME CLASS TABLE... -- OBJECT...\n"
			"       mkindex ids NAME CLASS VVVV:DDDD...\n"
			"       mkindex modules TREE\n");
	return 2;
}
