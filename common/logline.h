/* A server's log line: "PREFIX: message\n" in one write(2), so that lines
 * of processes sharing a log file (drivers, servers) never interleave. */
#ifndef COMMON_LOGLINE_H
#define COMMON_LOGLINE_H

#include <stdarg.h>

void log_line(const char *prefix, const char *fmt, va_list ap);

#endif
