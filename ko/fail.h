/* ko's one-line errors (ko/elf.c), shared by the reader and the loader. */
#ifndef KO_FAIL_H
#define KO_FAIL_H

#include <stddef.h>

/* formats one line into ERR; returns -1 */
int ko_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
