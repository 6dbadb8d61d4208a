/*
 * The system calls a driver process may make (its seccomp filter).
 *
 * `dde run` puts every driver in a sandbox before it starts it (its own
 * user, mount, network and IPC namespaces, no_new_privs; tools/dde/
 * sandbox.c) and installs the first filter: the allow-list below plus what
 * execve and the dynamic loader need. Once connected to the I/O server,
 * ddekit_init() seals the sandbox with the second filter, the allow-list
 * alone (DDE_SANDBOX=1 says the driver runs in one). Filters stack, so the
 * second can only narrow the first.
 *
 * A system call outside the list is not made: the kernel raises SIGSYS,
 * our handler names the call in one line, and the driver dies of SIGSYS,
 * which `dde run` reports. The list is what the driver hosts were seen to
 * use (docs/sandbox.md lists it, by class), nothing that opens a file,
 * makes a socket or reaches another process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "client.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1	/* ASan and LeakSanitizer need more: see below */
#else
#define SANITIZED 0
#endif

/* What every driver host calls, once running. */
static const char *const allowed[] = {
	/* memory (mmap with PROT_EXEC: the translated engine's code cache) */
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk",
	/* threads and their synchronisation (clone: threads only, below) */
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"sched_yield", "sched_getaffinity", "gettid", "getpid", "exit", "exit_group",
	/* signals: the trap engine (SIGSEGV on MMIO and port I/O), WARN/BUG (ud2) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigtimedwait",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	/* its own descriptors: the channels, bells and shared memory it was given */
	"read", "write", "readv", "writev", "close", "poll", "ppoll", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2", "sendmsg", "recvmsg",
	"sendto", "recvfrom", "shutdown", "fcntl", "dup", "lseek", "fstat", "getrandom",
	"newfstatat",	/* glibc's fstat (AT_EMPTY_PATH); a path finds nothing here */
	"restart_syscall",	/* a sleep resumed after SIGSTOP or a debugger */
	/* per-cpu data at %gs (arch_prctl ARCH_SET_GS), thread names */
	"arch_prctl",
	/* who am I (harmless) */
	"getuid", "geteuid", "getgid", "getegid", "getppid", "prlimit64",
	"sysinfo",	/* the translated engine sizes its code cache by the RAM */
};

/* ... and before sealing: execve and the dynamic loader, and what the
 * driver hosts read at start (their module files, /proc/self/maps) */
static const char *const starting[] = {
	"execve", "access", "faccessat", "faccessat2", "statx", "pread64",
	"readlink", "readlinkat", "uname", "getcwd",
	"seccomp",	/* the driver's own, narrower filter (filters only ever add up) */
};

/* LeakSanitizer stops the world with a ptrace-ing helper (clone without
 * CLONE_THREAD), reads /proc/self/task and maps; reports are files (the
 * only writable place in the sandbox is their directory, dde binds it). */
static const char *const sanitizer[] = {
	"ptrace", "wait4", "waitid", "getdents", "getdents64", "openat", "open", "readlink",
	"readlinkat", "prctl", "pipe2", "dup2", "dup3", "mincore", "sched_getaffinity",
	"newfstatat", "access", "faccessat", "getcwd", "pread64", "unlink",
	"mkdir", "mkdirat",	/* the report path's directories, made if missing */
};

static char *names[512];	/* system call names, resolved before any violation */
static char prefix[80];

static int allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* "the call after this would have been" — async-signal-safe */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[200];
	int nr = si->si_syscall, n;
	const char *name = nr >= 0 && nr < 512 && names[nr] ? names[nr] : "?";
	sigset_t set;
	unsigned long long arg0 = (unsigned long long)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RDI];

	n = snprintf(line, sizeof(line), "%s: sandbox: system call '%s' (%d, first argument "
		     "%#llx) is not allowed in a driver process: the driver stops\n", prefix, name,
		     nr, arg0);
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);

	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

int ddekit_sandbox_filter(int stage, char *err, size_t cap)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r = 0;

	if (!ctx) {
		snprintf(err, cap, "seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !r; i++)
		r = allow(ctx, allowed[i]);
	for (size_t i = 0; stage == DDEKIT_SANDBOX_EXEC && !r &&
	     i < sizeof(starting) / sizeof(starting[0]); i++)
		r = allow(ctx, starting[i]);
	for (size_t i = 0; SANITIZED && !r && i < sizeof(sanitizer) / sizeof(sanitizer[0]); i++)
		r = allow(ctx, sanitizer[i]);
	/* threads, not processes (LeakSanitizer's helper is the exception) */
	if (!r && !SANITIZED)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	else if (!r)
		r = allow(ctx, "clone");
	/* clone3's flags are out of a filter's reach: glibc falls back to clone */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* signals to itself only (raise, abort) */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* its own memory, read without faulting (the driver host walks stacks so) */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(process_vm_readv), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* the event socketpair a driver hands the I/O server: Unix only */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* thread names; whether no_new_privs is on */
	if (!r && !SANITIZED)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (!r && !SANITIZED)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (!r && !SANITIZED)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, PR_GET_NO_NEW_PRIVS));
	/* starting: files opened for reading only */
	if (!r && stage == DDEKIT_SANDBOX_EXEC && !SANITIZED)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ,
					     O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY));
	if (r) {
		snprintf(err, cap, "building the seccomp filter: %s", strerror(-r));
		seccomp_release(ctx);
		return r;
	}
	/* no_new_privs is set already (dde run does): libseccomp need not */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* DDE_SECCOMP_LOG=1: the kernel's audit log (dmesg) records every refused
	 * call too, also those of threads that die silently with SIGSYS blocked */
	if (getenv("DDE_SECCOMP_LOG"))
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		snprintf(err, cap, "loading the seccomp filter: %s", strerror(-r));
	return r;
}

int ddekit_sandbox_seal(const char *name)
{
	const char *env = getenv("DDE_SANDBOX");
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	char err[160];
	int r;

	if (!env || strcmp(env, "1"))
		return 0;	/* not in a sandbox: started by hand, or --no-sandbox */
	snprintf(prefix, sizeof(prefix), "%s", name);
	for (int nr = 0; nr < 512; nr++)
		names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
	r = ddekit_sandbox_filter(DDEKIT_SANDBOX_SEAL, err, sizeof(err));
	if (r) {
		ddekit_log(DDEKIT_LOG_ERROR, "sandbox: %s", err);
		ddekit_set_error("%s", err);
	}
	return r;
}
