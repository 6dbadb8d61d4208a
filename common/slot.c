/* PCI slot names, see slot.h. */
#include "slot.h"

#include <ctype.h>
#include <stdio.h>

/*
 * Read 1..@max hex digits at *@p into *@v and advance; -1 if there are none
 * or too many. Plain digits only: no sign, space or "0x" prefix.
 */
static int hex_field(const char **p, unsigned max, unsigned *v)
{
	unsigned n = 0;

	*v = 0;
	while (isxdigit((unsigned char)**p)) {
		if (++n > max)
			return -1;
		*v = *v * 16 + (unsigned)(isdigit((unsigned char)**p) ? **p - '0'
							  : tolower((unsigned char)**p) - 'a' + 10);
		(*p)++;
	}
	return n ? 0 : -1;
}

int slot_parse(const char *text, uint32_t *bdf)
{
	unsigned f[4], n = 0, dom = 0, bus = 0, slot, func;
	const char *p = text;

	/* Up to three ':'-separated fields, then ".FUNC" and the end. */
	for (;;) {
		if (n == 3 || hex_field(&p, 4, &f[n]))
			return -1;
		n++;
		if (*p != ':')
			break;
		p++;
	}
	if (*p++ != '.' || hex_field(&p, 1, &func) || *p)
		return -1;
	slot = f[n - 1];
	if (n >= 2)
		bus = f[n - 2];
	if (n == 3)
		dom = f[0];
	if (dom != 0 || bus > 255 || slot > 31 || func > 7)
		return -1;
	*bdf = bus << 8 | slot << 3 | func;
	return 0;
}

void slot_format(uint32_t bdf, char *out)
{
	snprintf(out, 16, "%02x:%02x.%x", (bdf >> 8) & 0xff, (bdf >> 3) & 0x1f, bdf & 7);
}
