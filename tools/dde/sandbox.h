/*
 * A driver's sandbox (docs/sandbox.md): what `dde run` does between fork
 * and exec so that the driver holds only its channels and its devices.
 */
#ifndef DDE_SANDBOX_H
#define DDE_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#define SANDBOX_MAX_FILES 64
/*
 * Drivers run as users of their own: uid = gid = SANDBOX_UID_BASE +
 * 16 * (dde's pid) + the driver's index, a range no Debian system hands
 * out (pids are below 2^22, so the range ends below 2^31).
 */
#define SANDBOX_UID_BASE 1500000000u

struct sandbox {
	uid_t uid;
	gid_t gid;
	char *file[SANDBOX_MAX_FILES];	/* host files visible, read-only, at their paths */
	int nfiles;
	char *writable_dir;		/* a sanitizer's report directory, or NULL */
};

/* Make @path visible in the sandbox (read-only, at the same path). */
int sandbox_add_file(struct sandbox *sb, const char *path, char *err, size_t cap);

/* The program @prog and what loading it takes: its ELF interpreter and
 * libraries, as the dynamic loader itself resolves them. */
int sandbox_add_program(struct sandbox *sb, const char *prog, char *err, size_t cap);

/*
 * In the child, between fork and exec, as root: new mount, network, IPC
 * and UTS namespaces; a root file system holding only sb's files and a
 * /proc showing only the driver's own processes; the driver's own user,
 * no supplementary groups, no capabilities, no_new_privs; the first
 * system-call filter. 0, or -1 with the reason in @err.
 */
int sandbox_enter(const struct sandbox *sb, char *err, size_t cap);

#endif
