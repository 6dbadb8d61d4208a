/*
 * sndctl — a card's mixer controls through libddesnd, without alsa-lib's
 * own checks in between (amixer clamps what it sends; this does not):
 *
 *   sndctl [--card UNIT] list            every element: numid, name, type, range, values
 *   sndctl [--card UNIT] set NAME V...   write element NAME (its first match)
 *
 * Exit 0, or 1 with one line: the server's or the driver's own words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddesnd/ddesnd.h>

static int fail(int err)
{
	fprintf(stderr, "sndctl: %s\n", ddesnd_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *card = NULL;
	struct ddesnd_ctl c;
	struct ddesnd *s;
	int r, a = 1;

	if (argc > 2 && !strcmp(argv[1], "--card")) {
		card = argv[2];
		a = 3;
	}
	if (a >= argc || (strcmp(argv[a], "list") && (strcmp(argv[a], "set") || a + 2 >= argc))) {
		fprintf(stderr, "usage: sndctl [--card UNIT] list | set NAME VALUE...\n");
		return 2;
	}
	r = ddesnd_connect(NULL, &s);
	if (r)
		return fail(r);
	for (unsigned i = 0;; i++) {
		r = ddesnd_ctl_info(s, card, i, &c);
		if (r == -ENOENT && i > 0)
			break;
		if (r)
			return fail(r);
		if (!strcmp(argv[a], "set")) {
			if (strcmp(c.name, argv[a + 1]))
				continue;
			for (int v = a + 2; v < argc && v - a - 2 < DDESND_CTL_VALUES; v++)
				c.value.integer[v - a - 2] = strtoll(argv[v], NULL, 0);
			r = ddesnd_ctl_write(s, card, &c);
			if (r < 0)
				return fail(r);
			printf("%s: %s\n", c.name, r ? "changed" : "unchanged");
			ddesnd_disconnect(s);
			return 0;
		}
		printf("%u '%s' type %u count %u range %lld..%lld", c.numid, c.name, c.type, c.count,
		       (long long)c.min, (long long)(c.items ? c.items - 1 : c.max));
		r = c.type == DDESND_CTL_BYTES || c.type == DDESND_CTL_IEC958 ? 0 :
		    ddesnd_ctl_read(s, card, &c);
		for (unsigned k = 0; !r && c.type != DDESND_CTL_BYTES && c.type != DDESND_CTL_IEC958 &&
				     k < c.count; k++)
			printf(" %lld", (long long)c.value.integer[k]);
		printf(r ? " (%s)\n" : "\n", r ? ddesnd_strerror(r) : "");
	}
	if (!strcmp(argv[a], "set")) {
		fprintf(stderr, "sndctl: no control '%s'\n", argv[a + 1]);
		return 1;
	}
	ddesnd_disconnect(s);
	return 0;
}
