/* A one-line reason into a caller's buffer, the way our setup functions
 * report failure: `return errtext(err, errlen, "...", ...);` */
#ifndef COMMON_ERRTEXT_H
#define COMMON_ERRTEXT_H

#include <stddef.h>

/* Format into @err (at most @errlen bytes, always terminated); returns -1. */
int errtext(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
