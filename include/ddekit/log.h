/* ddekit logging and panic. */
#ifndef DDEKIT_LOG_H
#define DDEKIT_LOG_H

enum ddekit_log_level {
	DDEKIT_LOG_ERROR = 0,
	DDEKIT_LOG_WARN = 1,
	DDEKIT_LOG_INFO = 2,
	DDEKIT_LOG_DEBUG = 3,
};

/*
 * Print one line to the driver's log (stderr), prefixed with the
 * monotonic clock (seconds since the host booted, as the kernel log) and
 * the driver's name. Lines above the level set in
 * DDE_LOG (0-3, default 2) are dropped.
 */
void ddekit_log(enum ddekit_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Log the message and stop the driver process at once (abort(), so that
 * a debugger or a core dump shows where). The I/O server then releases
 * the driver's grants.
 */
void ddekit_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/*
 * The text of the last error reported to this thread by ddekit or the
 * I/O server (e.g. "access refused: ..."), or "" if none.
 */
const char *ddekit_last_error(void);

#endif
