/* ddeio's log: one line per event on stderr, prefixed "ddeio: ". */
#ifndef DDEIO_LOG_H
#define DDEIO_LOG_H

void ddeio_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) ddeio_log(0, __VA_ARGS__)
#define log_warn(...) ddeio_log(1, __VA_ARGS__)
#define log_info(...) ddeio_log(2, __VA_ARGS__)

#endif
