/*
 * The driver index: loading and matching (index.h).
 */
#include "index.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

int index_load(struct driver_index *ix, char *err, size_t cap)
{
	char path[PATH_MAX], line[256], prev[64] = "";
	unsigned room = 0;
	FILE *f;

	memset(ix, 0, sizeof(*ix));
	session_sibling("../share/dde/drivers.index", path, sizeof(path));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, cap, "driver index %s: %s (run make)", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct index_line l = { 0 };
		char kind[8];

		if (line[0] == '#' || sscanf(line, "%7s %63s %7s %95s", kind, l.name, l.cls,
					     l.pattern) != 4)
			continue;
		l.source = !strcmp(kind, "src");
		if (!l.source && strcmp(prev, l.name)) {
			ix->modules++;
			snprintf(prev, sizeof(prev), "%s", l.name);
		}
		if (ix->n == room) {
			struct index_line *bigger;

			room = room ? 2 * room : 4096;
			bigger = realloc(ix->line, room * sizeof(*bigger));
			if (!bigger) {
				fclose(f);
				index_free(ix);
				snprintf(err, cap, "driver index: out of memory");
				return -1;
			}
			ix->line = bigger;
		}
		ix->line[ix->n++] = l;
	}
	fclose(f);
	return 0;
}

void index_free(struct driver_index *ix)
{
	free(ix->line);
	memset(ix, 0, sizeof(*ix));
}

void index_modalias(const struct ddeio_device *d, char *out, size_t cap)
{
	snprintf(out, cap, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", d->vendor, d->device,
		 d->subsystem_vendor, d->subsystem_device, d->class_code >> 16 & 0xff,
		 d->class_code >> 8 & 0xff, d->class_code & 0xff);
}

/*
 * How exactly a pattern names a device: its exact fields, weighted so that
 * a device id beats a vendor, a vendor beats a subsystem, and any of them
 * beats a class ("v00008086d00007010..." before "v00008086d*...bc01sc01").
 */
static int specificity(const char *pattern)
{
	static const int weight[] = { 16, 32, 4, 4, 1, 1, 1 };	/* v d sv sd bc sc i */
	const char *p = strchr(pattern, ':');
	int n = 0;

	for (unsigned f = 0; p && *++p && f < 7; f++) {
		while (*p >= 'a' && *p <= 'z')	/* the field's name */
			p++;
		if (*p != '*')
			n += weight[f];
		while (p[1] && !(p[1] >= 'a' && p[1] <= 'z'))
			p++;	/* to the value's last character */
	}
	return n;
}

/*
 * A virtio device on PCI (1af4:1000-107f): its virtio modalias, as
 * virtio_pci registers the device ("virtio:d00000001v00001AF4": the device
 * type, from the subsystem id of a transitional device or the PCI device id
 * of a modern one, and the subsystem vendor). 0, or -1 for any other.
 */
static int virtio_alias(const char *pci, char *out, size_t cap)
{
	unsigned v, d, sv, sd;

	if (sscanf(pci, "pci:v%8Xd%8Xsv%8Xsd%8X", &v, &d, &sv, &sd) != 4 || v != 0x1af4 ||
	    d < 0x1000 || d > 0x107f)
		return -1;
	snprintf(out, cap, "virtio:d%08Xv%08X", d >= 0x1040 ? d - 0x1040 : sd, sv);
	return 0;
}

unsigned index_match(const struct driver_index *ix, const char *modalias, struct candidate *out,
		     unsigned cap)
{
	unsigned n = 0;
	char virtio[48];
	const char *aliases[2] = { modalias, virtio_alias(modalias, virtio, sizeof(virtio)) ? NULL
										 : virtio };

	for (int pass = 0; pass < 2; pass++) {	/* source drivers first */
		unsigned first = n;

		for (unsigned i = 0; i < ix->n; i++) {
			const struct index_line *l = &ix->line[i];
			int score;
			unsigned k;

			if (l->source != (pass == 0) || (fnmatch(l->pattern, aliases[0], 0) &&
				(!aliases[1] || fnmatch(l->pattern, aliases[1], 0))))
				continue;
			score = specificity(l->pattern);
			for (k = first; k < n; k++)
				if (!strcmp(out[k].name, l->name))
					break;
			if (k < n) {
				if (score > out[k].specific)
					out[k].specific = score;
				continue;
			}
			if (n == cap)
				continue;
			out[n].source = l->source;
			snprintf(out[n].name, sizeof(out[n].name), "%s", l->name);
			snprintf(out[n].cls, sizeof(out[n].cls), "%s", l->cls);
			out[n].specific = score;
			n++;
		}
		/* most exact first, stable (insertion sort: a handful) */
		for (unsigned a = first + 1; a < n; a++)
			for (unsigned b = a; b > first && out[b].specific > out[b - 1].specific; b--) {
				struct candidate t = out[b];

				out[b] = out[b - 1];
				out[b - 1] = t;
			}
	}
	return n;
}

const struct index_line *index_find(const struct driver_index *ix, const char *name, bool source)
{
	for (unsigned i = 0; i < ix->n; i++)
		if (ix->line[i].source == source && !strcmp(ix->line[i].name, name))
			return &ix->line[i];
	return NULL;
}

bool index_runnable(const struct candidate *c, char *why, size_t cap)
{
	char rel[128], path[PATH_MAX];

	if (!c->source && !strcmp(c->cls, "-")) {
		snprintf(why, cap, "no class server serves its kind of device");
		return false;
	}
	snprintf(rel, sizeof(rel), c->source ? "../drivers/%s" : "../drivers/ko-%s",
		 c->source ? c->name : c->cls);
	session_sibling(rel, path, sizeof(path));
	if (access(path, X_OK) == 0)
		return true;
	if (c->source)
		snprintf(why, cap, "not built (%s)", path);
	else
		snprintf(why, cap, "no driver host for binary %s modules yet (ko-%s)", c->cls, c->cls);
	return false;
}

const struct candidate *index_choose(const struct candidate *c, unsigned n, bool prefer_ko)
{
	char why[PATH_MAX + 64];

	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++)
			if (c[i].source == (pass == (prefer_ko ? 1 : 0)) &&
			    index_runnable(&c[i], why, sizeof(why)))
				return &c[i];
	return NULL;
}
