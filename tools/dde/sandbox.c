/*
 * A driver's sandbox, set up by `dde run` in the driver's process between
 * fork and exec (tools/dde/sandbox.h, docs/sandbox.md).
 *
 * Layers, each enough against a driver that tries to reach what is not
 * its own: a mount namespace whose root is an empty read-only tmpfs with
 * only the driver's program, its libraries (and, for binary drivers, its
 * module files) bound in read-only, and a /proc that shows only its own
 * processes; a network namespace with no interface up, which also hides
 * every abstract Unix socket of the host (the servers' addresses); a user
 * of its own, so that it can neither signal nor trace other drivers nor
 * read anybody's files; no_new_privs; and a seccomp filter (ddekit/
 * sandbox.c). The channels to the I/O server and its class server are
 * descriptors it inherits: it never needs to connect anywhere.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ddekit/client.h"

#define LOADER "/lib64/ld-linux-x86-64.so.2"

int sandbox_add_file(struct sandbox *sb, const char *path, char *err, size_t cap)
{
	if (path[0] != '/') {
		snprintf(err, cap, "sandbox: '%s' is not an absolute path", path);
		return -1;
	}
	for (int i = 0; i < sb->nfiles; i++)
		if (!strcmp(sb->file[i], path))
			return 0;
	if (sb->nfiles == SANDBOX_MAX_FILES) {
		snprintf(err, cap, "sandbox: more than %d files", SANDBOX_MAX_FILES);
		return -1;
	}
	if (access(path, R_OK)) {
		snprintf(err, cap, "sandbox: %s: %s", path, strerror(errno));
		return -1;
	}
	sb->file[sb->nfiles] = strdup(path);
	if (!sb->file[sb->nfiles]) {
		snprintf(err, cap, "sandbox: out of memory");
		return -1;
	}
	sb->nfiles++;
	return 0;
}

/*
 * The loader's own answer (ld.so --list PROG): "NAME => PATH (addr)" per
 * library and the interpreter's "PATH (addr)". The loader only resolves;
 * the program does not run.
 */
int sandbox_add_program(struct sandbox *sb, const char *prog, char *err, size_t cap)
{
	char out[8192], line[PATH_MAX + 64];
	int fd[2], status, r = 0;
	size_t got = 0;
	pid_t pid;
	char *save = NULL;

	if (sandbox_add_file(sb, prog, err, cap))
		return -1;
	if (pipe2(fd, O_CLOEXEC)) {
		snprintf(err, cap, "sandbox: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		char *argv[] = { LOADER, "--list", (char *)prog, NULL };

		dup2(fd[1], 1);
		execv(LOADER, argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		ssize_t n = pid > 0 && got < sizeof(out) - 1 ?
			    read(fd[0], out + got, sizeof(out) - 1 - got) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	out[got] = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		snprintf(err, cap, "sandbox: cannot list the libraries of %s (%s --list)", prog,
			 LOADER);
		return -1;
	}
	for (char *l = strtok_r(out, "\n", &save); l && !r; l = strtok_r(NULL, "\n", &save)) {
		char *arrow = strstr(l, "=> "), *path = arrow ? arrow + 3 : l;
		char *paren;

		path += strspn(path, " \t");
		if (path[0] != '/')
			continue;	/* the vDSO, or "not found" (the loader says so at exec) */
		snprintf(line, sizeof(line), "%s", path);
		paren = strstr(line, " (");
		if (paren)
			*paren = 0;
		r = sandbox_add_file(sb, line, err, cap);
	}
	/* the loader looks here first; without it, in its default directories */
	if (!r && access("/etc/ld.so.cache", R_OK) == 0)
		r = sandbox_add_file(sb, "/etc/ld.so.cache", err, cap);
	return r ? -1 : 0;
}

static int fail(char *err, size_t cap, const char *what, const char *path)
{
	snprintf(err, cap, "sandbox: %s%s%s: %s", what, path ? " " : "", path ? path : "",
		 strerror(errno));
	return -1;
}

/* mkdir -p for @path's directories (@path below the new root) */
static int make_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	return 0;
}

/* Bind the file or directory open at @fd to @target (under the new root). */
static int bind_at(int fd, const char *target, int writable, char *err, size_t cap)
{
	char src[64], path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s", target);
	if (fstat(fd, &st) || make_parents(path))
		return fail(err, cap, "preparing", target);
	if (S_ISDIR(st.st_mode) ? mkdir(path, 0755) && errno != EEXIST :
	    mknod(path, S_IFREG | 0644, 0) && errno != EEXIST)
		return fail(err, cap, "preparing", target);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, path, NULL, MS_BIND, NULL))
		return fail(err, cap, "binding", target);
	if (!writable && mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID |
			       MS_NODEV, NULL))
		return fail(err, cap, "making read-only", target);
	return 0;
}

int sandbox_enter(const struct sandbox *sb, char *err, size_t cap)
{
	/* the new root is built on a tmpfs over /tmp, in our namespace only */
	static const char root[] = "/tmp";
	int fds[SANDBOX_MAX_FILES], wfd = -1, n = 0, r = -1;
	char target[PATH_MAX + 16];

	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)) {
		fail(err, cap, "new namespaces (dde run needs root for the sandbox, or "
		     "--no-sandbox)", NULL);
		goto out;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fail(err, cap, "making the mounts private", NULL);
		goto out;
	}
	/* what will be visible, opened in the new namespace's copy of the
	 * host's tree (mounts of another namespace cannot be bound) */
	for (; n < sb->nfiles; n++) {
		fds[n] = open(sb->file[n], O_PATH | O_CLOEXEC);
		if (fds[n] < 0) {
			fail(err, cap, "opening", sb->file[n]);
			goto out;
		}
	}
	if (sb->writable_dir && (wfd = open(sb->writable_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fail(err, cap, "opening", sb->writable_dir);
		goto out;
	}
	if (mount("dde-sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")) {
		fail(err, cap, "mounting the root", NULL);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		snprintf(target, sizeof(target), "%s%s", root, sb->file[i]);
		if (bind_at(fds[i], target, 0, err, cap))
			goto out;
	}
	if (wfd >= 0) {
		snprintf(target, sizeof(target), "%s%s", root, sb->writable_dir);
		if (bind_at(wfd, target, 1, err, cap))
			goto out;
	}
	/* /proc: only the driver's own processes (hidepid), only process entries */
	snprintf(target, sizeof(target), "%s/proc", root);
	if (mkdir(target, 0555) || mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
					 "hidepid=invisible,subset=pid")) {
		fail(err, cap, "mounting", "/proc");
		goto out;
	}
	if (chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/")) {
		fail(err, cap, "changing the root", NULL);
		goto out;
	}
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)) {
		fail(err, cap, "making the root read-only", NULL);
		goto out;
	}
	sethostname("driver", 6);
	/* its own user: no capabilities left, nobody else's files or processes */
	if (setgroups(0, NULL) || setresgid(sb->gid, sb->gid, sb->gid) ||
	    setresuid(sb->uid, sb->uid, sb->uid)) {
		fail(err, cap, "changing the user", NULL);
		goto out;
	}
	/* changing the user cleared it: the driver still dies with dde */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fail(err, cap, "no_new_privs", NULL);
		goto out;
	}
	if (ddekit_sandbox_filter(DDEKIT_SANDBOX_EXEC, err, cap))
		goto out;
	r = 0;
out:
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (wfd >= 0)
		close(wfd);
	return r;
}
