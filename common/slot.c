/* PCI slot names, see slot.h. */
#include "slot.h"

#include <stdio.h>

int slot_parse(const char *text, uint32_t *bdf)
{
	unsigned dom = 0, bus = 0, slot, func;
	char tail;
	int n;

	/* Try the longest form first; each attempt starts from clean values. */
	n = sscanf(text, "%x:%x:%x.%x%c", &dom, &bus, &slot, &func, &tail);
	if (n != 4) {
		dom = 0;
		n = sscanf(text, "%x:%x.%x%c", &bus, &slot, &func, &tail) + 1;
	}
	if (n != 4) {
		bus = 0;
		n = sscanf(text, "%x.%x%c", &slot, &func, &tail) + 2;
	}
	if (n != 4 || dom != 0 || bus > 255 || slot > 31 || func > 7)
		return -1;
	*bdf = bus << 8 | slot << 3 | func;
	return 0;
}

void slot_format(uint32_t bdf, char *out)
{
	snprintf(out, 16, "%02x:%02x.%x", (bdf >> 8) & 0xff, (bdf >> 3) & 0x1f, bdf & 7);
}
