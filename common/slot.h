/* PCI slot names ("00:02.0") to bus/device/function numbers and back. */
#ifndef DDE_SLOT_H
#define DDE_SLOT_H

#include <stdint.h>

/* Parse "BB:SS.F", "SS.F" or "0000:BB:SS.F" into bus << 8 | slot << 3 | func. */
int slot_parse(const char *text, uint32_t *bdf);

/* Format a bdf as "BB:SS.F" into @out (at least 16 bytes). */
void slot_format(uint32_t bdf, char *out);

#endif
