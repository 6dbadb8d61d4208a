/*
 * dde faults PID — software-implemented fault injection into a running
 * driver process, as MINIX 3's and Nooks' campaigns did to show that a
 * faulty driver takes only itself down (docs/faults.md). Each fault is
 * one of:
 *
 *   flip  one bit of the process's code or data flipped: in text, a wrong
 *         instruction (opcode, operand, branch, displacement); in data, a
 *         corrupted variable or pointer. Both campaigns' main fault type.
 *   wild  a random 8-byte value stored at a random writable address: a
 *         store through a corrupted or uninitialised pointer.
 *   reg   one bit of one register of one thread flipped at whatever
 *         instruction it is at: Nooks' source and destination register
 *         faults, and a corrupted stack pointer or program counter.
 *   kill  SIGKILL: the driver crashes or exits.
 *   stop  SIGSTOP: the driver hangs (a deadlock, an endless loop), which
 *         only a supervisor's watch notices.
 *
 * Memory is written through /proc/PID/mem, which writes read-only text
 * too (a private copy of the page, as a debugger's breakpoint); registers
 * through ptrace, holding one thread for a moment. The random choices
 * come from --seed, so a run can be repeated against the same program.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dde.h"

enum { F_FLIP, F_WILD, F_REG, F_KILL, F_STOP, F_TYPES };
static const char *const type_name[F_TYPES] = { "flip", "wild", "reg", "kill", "stop" };

/* what an injection came to */
enum { DONE, FAILED, GONE };

struct mapping {
	uint64_t start, end, off;
	char perms[5];
	char *path;	/* "" when anonymous */
};

struct inj {
	pid_t pid;
	int pidfd;	/* the process itself, whatever happens to its number */
	int mem;	/* /proc/PID/mem, read-write */
	FILE *log;	/* --log FILE, or NULL */
	bool quiet;
	uint64_t rng;
};

static uint64_t rnd(struct inj *j)
{
	uint64_t z = (j->rng += 0x9e3779b97f4a7c15ULL);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct inj *j, uint64_t n)
{
	return n ? rnd(j) % n : 0;
}

/* a line to the log file; to stdout too, unless it is a fault line that goes to the file */
__attribute__((format(printf, 3, 4)))
static void emit(struct inj *j, bool fault, const char *fmt, ...)
{
	char line[PATH_MAX * 4 + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (j->log) {
		fprintf(j->log, "%s\n", line);
		fflush(j->log);
	}
	if (!fault || (!j->log && !j->quiet)) {
		printf("%s\n", line);
		fflush(stdout);
	}
}

static bool gone(struct inj *j)
{
	struct pollfd p = { .fd = j->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* "alive", "stopped" or "gone", waiting up to WAIT ms for it to be gone */
static const char *state(struct inj *j, int wait)
{
	struct pollfd p = { .fd = j->pidfd, .events = POLLIN };
	char path[64], buf[512], *s;
	ssize_t n;
	int fd;

	if (poll(&p, 1, wait) > 0)
		return "gone";
	snprintf(path, sizeof(path), "/proc/%d/stat", j->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "gone";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	s = strrchr(buf, ')');
	if (!s || !s[1])
		return "gone";
	return s[2] == 'T' || s[2] == 't' ? "stopped" : "alive";
}

/* a path as one word of the log: blanks and backslashes as \ooo, as /proc/mounts has them */
static const char *word(const char *path, char *out, size_t cap)
{
	size_t o = 0;

	if (!*path)
		return "[anon]";
	for (; *path && o + 5 < cap; path++) {
		unsigned char c = (unsigned char)*path;

		if (c <= ' ' || c == '\\' || c == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
	return out;
}

static void free_maps(struct mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

/* /proc/PID/maps, however long; -1 if it cannot be read */
static int read_maps(pid_t pid, struct mapping **out, size_t *count)
{
	char path[64], *line = NULL;
	struct mapping *m = NULL;
	size_t n = 0, cap = 0, len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &len, f) > 0) {
		struct mapping e = { 0 };
		int at = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*s %n", &e.start,
			   &e.end, e.perms, &e.off, &at) < 4 || !at || e.end <= e.start)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (n == cap) {
			struct mapping *bigger = realloc(m, (cap = cap ? 2 * cap : 64) * sizeof(*m));

			if (!bigger)
				break;
			m = bigger;
		}
		e.path = strdup(line + at);
		if (!e.path)
			break;
		m[n++] = e;
	}
	free(line);
	fclose(f);
	*out = m;
	*count = n;
	return 0;
}

/* --exclude: mappings whose name holds one of these are left alone */
static const char *exclude[8];
static int nexclude;

/*
 * 0 if a mapping is not the process's own to corrupt (the kernel's vdso
 * and vvar, guard pages, shared memory it cannot write, what --exclude
 * names), 1 if it is text, 2 if data.
 */
static int kind(const struct mapping *m)
{
	const char *p = m->path;

	for (int i = 0; i < nexclude; i++)
		if (strstr(p, exclude[i]))
			return 0;

	if (!strcmp(m->perms, "---p") || !strcmp(m->perms, "---s"))
		return 0;
	if (m->perms[3] == 's' && m->perms[1] != 'w')
		return 0;
	if (p[0] == '[' && strcmp(p, "[heap]") && strncmp(p, "[stack", 6) && strncmp(p, "[anon", 5))
		return 0;
	return m->perms[2] == 'x' ? 1 : 2;
}

/* flip: text or data with even odds, then an address weighted by size */
static const struct mapping *pick_flip(struct inj *j, const struct mapping *m, size_t n,
				       uint64_t *addr)
{
	uint64_t size[3] = { 0 }, r;
	int want;

	for (size_t i = 0; i < n; i++)
		size[kind(&m[i])] += m[i].end - m[i].start;
	if (!size[1] && !size[2])
		return NULL;
	want = !size[2] || (size[1] && below(j, 2)) ? 1 : 2;
	r = below(j, size[want]);
	for (size_t i = 0; i < n; i++) {
		if (kind(&m[i]) != want)
			continue;
		if (r < m[i].end - m[i].start) {
			*addr = m[i].start + r;
			return &m[i];
		}
		r -= m[i].end - m[i].start;
	}
	return NULL;
}

/* wild: any writable mapping, then an aligned address in it */
static const struct mapping *pick_wild(struct inj *j, const struct mapping *m, size_t n,
				       uint64_t *addr)
{
	size_t w = 0, r;

	for (size_t i = 0; i < n; i++)
		w += kind(&m[i]) && m[i].perms[1] == 'w';
	if (!w)
		return NULL;
	r = below(j, w);
	for (size_t i = 0; i < n; i++) {
		if (!kind(&m[i]) || m[i].perms[1] != 'w' || r--)
			continue;
		*addr = m[i].start + 8 * below(j, (m[i].end - m[i].start) / 8);
		return &m[i];
	}
	return NULL;
}

/* flip or wild; a mapping gone between reading maps and writing: another */
static int inject_mem(struct inj *j, unsigned no, int type)
{
	size_t n, len = type == F_FLIP ? 1 : 8;
	char name[PATH_MAX * 4];
	int err = 0;

	for (int tries = 0; tries < 16; tries++) {
		const struct mapping *m;
		struct mapping *maps;
		uint64_t addr = 0, old = 0, val;
		bool ok;

		if (read_maps(j->pid, &maps, &n))
			return GONE;
		m = type == F_FLIP ? pick_flip(j, maps, n, &addr) : pick_wild(j, maps, n, &addr);
		if (!m) {
			free_maps(maps, n);
			break;
		}
		val = type == F_FLIP ? 1u << below(j, 8) : rnd(j);
		ok = pread(j->mem, &old, len, (off_t)addr) == (ssize_t)len;
		if (ok && type == F_FLIP)
			val ^= old;
		if (!ok || pwrite(j->mem, &val, len, (off_t)addr) != (ssize_t)len) {
			err = errno;
			free_maps(maps, n);
			if (gone(j))
				return GONE;
			continue;
		}
		emit(j, true, "fault %u pid %d %s addr 0x%" PRIx64 " map %s %s +0x%" PRIx64
		     " %s 0x%0*" PRIx64 "->0x%0*" PRIx64, no, j->pid, type_name[type], addr,
		     word(m->path, name, sizeof(name)), m->perms, m->off + (addr - m->start),
		     type == F_FLIP ? "byte" : "qword", (int)len * 2, old, (int)len * 2, val);
		free_maps(maps, n);
		return DONE;
	}
	if (gone(j))
		return GONE;
	fprintf(stderr, "dde faults: fault %u: %s: no mapping of %d could be written%s%s\n", no,
		type_name[type], j->pid, err ? ": " : "", err ? strerror(err) : "");
	return FAILED;
}

#ifdef __x86_64__
#define REG(r) { #r, offsetof(struct user_regs_struct, r) }
static const struct {
	const char *name;
	size_t off;
} gpr[] = {
	REG(rax), REG(rbx), REG(rcx), REG(rdx), REG(rsi), REG(rdi), REG(rbp), REG(rsp), REG(r8),
	REG(r9), REG(r10), REG(r11), REG(r12), REG(r13), REG(r14), REG(r15), REG(rip),
};

/* let a seized thread go; one that died while held is reaped, or it would linger as ours */
static void release(pid_t tid, int sig)
{
	int st;

	if (!ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig))
		return;
	while (waitpid(tid, &st, __WALL) < 0 && errno == EINTR)
		;
}

/* 0, or -errno if the thread cannot be held (gone, already traced) */
static int reg_thread(struct inj *j, unsigned no, pid_t tid)
{
	struct user_regs_struct regs;
	uint64_t *reg, old;
	int st, sig = 0, e;
	char in[32] = "";
	unsigned r;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		e = errno;
		release(tid, 0);
		return -e;
	}
	/* it stops as soon as it leaves the kernel, or at once if in user mode */
	while (waitpid(tid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -ESRCH;
	if (!WIFSTOPPED(st))
		return -ESRCH;	/* it exited, and waitpid reaped it */
	/* a signal stopped it first: it is passed on at the detach */
	if (st >> 16 != PTRACE_EVENT_STOP)
		sig = WSTOPSIG(st);
	e = ptrace(PTRACE_GETREGS, tid, 0, &regs) ? errno : 0;
	r = (unsigned)below(j, sizeof(gpr) / sizeof(gpr[0]));
	reg = (uint64_t *)((char *)&regs + gpr[r].off);
	old = *reg;
	*reg ^= 1ULL << below(j, 64);
	if (!e && ptrace(PTRACE_SETREGS, tid, 0, &regs))
		e = errno;
	release(tid, sig);
	if (e)
		return -e;
	/* held in a system call (orig_rax its number), it is at the syscall instruction */
	if ((long long)regs.orig_rax >= 0)
		snprintf(in, sizeof(in), " syscall %lld", (long long)regs.orig_rax);
	emit(j, true, "fault %u pid %d reg tid %d %s 0x%016" PRIx64 "->0x%016" PRIx64 "%s", no,
	     j->pid, tid, gpr[r].name, old, *reg, in);
	return 0;
}
#endif

/* reg: a random thread; one that exits in between: another */
static int inject_reg(struct inj *j, unsigned no)
{
#ifdef __x86_64__
	char path[64];
	pid_t *tid = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;
	int err = ESRCH;

	snprintf(path, sizeof(path), "/proc/%d/task", j->pid);
	dir = opendir(path);
	if (!dir)
		return GONE;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		if (n == cap) {
			pid_t *bigger = realloc(tid, (cap = cap ? 2 * cap : 16) * sizeof(*tid));

			if (!bigger)
				break;
			tid = bigger;
		}
		tid[n++] = atoi(d->d_name);
	}
	closedir(dir);
	while (n) {
		size_t k = below(j, n);
		pid_t t = tid[k];
		int r;

		tid[k] = tid[--n];
		r = reg_thread(j, no, t);
		if (!r) {
			free(tid);
			return DONE;
		}
		if (r != -ESRCH)
			err = -r;
	}
	free(tid);
	if (gone(j))
		return GONE;
	fprintf(stderr, "dde faults: fault %u: reg: no thread of %d could be held: %s\n", no,
		j->pid, strerror(err));
#else
	fprintf(stderr, "dde faults: fault %u: reg: only on x86-64\n", no);
#endif
	return FAILED;
}

static int inject(struct inj *j, unsigned no, int type)
{
	int sig = type == F_KILL ? SIGKILL : SIGSTOP;

	if (type == F_FLIP || type == F_WILD)
		return inject_mem(j, no, type);
	if (type == F_REG)
		return inject_reg(j, no);
	if (syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0)) {
		if (errno == ESRCH)
			return GONE;
		fprintf(stderr, "dde faults: fault %u: %s: %s\n", no, type_name[type], strerror(errno));
		return FAILED;
	}
	emit(j, true, "fault %u pid %d %s", no, j->pid, type_name[type]);
	return DONE;
}

/* a number in [MIN, MAX], or -1 */
static long long number(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/* --type flip,reg,...: a type named twice is picked twice as often */
static int parse_types(const char *arg, int *types, int *n)
{
	const char *t = arg;

	while (*t) {
		size_t len = strcspn(t, ",");
		int k = 0;

		while (k < F_TYPES && (strlen(type_name[k]) != len || strncmp(t, type_name[k], len)))
			k++;
		if (k == F_TYPES || *n == 64) {
			fprintf(stderr, "dde faults: --type '%s': %s flip, wild, reg, kill, stop\n",
				arg, k == F_TYPES ? "give a list of" : "too many of");
			return -1;
		}
		types[(*n)++] = k;
		t += len + !!t[len];
	}
	return 0;
}

/* the process: it exists, it is one (not a thread), and it is ours to corrupt */
static int open_target(struct inj *j, bool memory)
{
	char path[64];
	struct mapping *maps;
	size_t n = 0, own = 0;

	j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	snprintf(path, sizeof(path), "/proc/%d", j->pid);
	if (j->pidfd < 0 && (errno == ESRCH || access(path, F_OK))) {
		fprintf(stderr, "dde faults: no process %d\n", j->pid);
		return -1;
	}
	if (j->pidfd < 0) {
		fprintf(stderr, "dde faults: %d is a thread, not a process (see Tgid in %s/status)\n",
			j->pid, path);
		return -1;
	}
	if (read_maps(j->pid, &maps, &n)) {
		fprintf(stderr, "dde faults: cannot read the mappings of process %d: %s\n", j->pid,
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		own += kind(&maps[i]) != 0;
	free_maps(maps, n);
	if (!own) {
		fprintf(stderr, "dde faults: process %d has no memory of its own (a kernel thread?)\n",
			j->pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", j->pid);
	if (memory && (j->mem = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "dde faults: cannot write the memory of process %d: %s\n", j->pid,
			strerror(errno));
		return -1;
	}
	if (syscall(SYS_pidfd_send_signal, j->pidfd, 0, NULL, 0)) {
		fprintf(stderr, "dde faults: cannot signal process %d: %s\n", j->pid, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde faults PID [--type T[,T...]] [--count N] [--interval MS] [--seed S]\n"
		"                      [--log FILE] [--quiet] [--exclude NAME]...\n"
		"\n"
		"Inject N faults (default 1) into the running driver process PID, one every\n"
		"MS milliseconds (default 100), each of a type picked at random from the\n"
		"--type list (default all):\n"
		"  flip  flip one bit of the process's code or data\n"
		"  wild  store a random 8-byte value at a random writable address\n"
		"  reg   flip one bit of one register of one of its threads\n"
		"  kill  SIGKILL the process (a crash)\n"
		"  stop  SIGSTOP the process (a hang)\n"
		"--exclude NAME: flip and wild leave mappings whose name holds NAME alone\n"
		"(e.g. 'dde dma', the driver's DMA memory). After kill or stop, or once the process is gone, no more faults. Each fault is\n"
		"one line on stdout, or appended to FILE with --log; --quiet leaves them out\n"
		"of stdout. The seed (--seed S repeats a run's choices) and a summary line are\n"
		"always printed. Exit status 0 if the faults were injected or the process died\n"
		"under them, 1 if it cannot be reached or a fault could not be injected, 2 for\n"
		"bad usage.\n");
}

int dde_faults(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, 0, 't' },
		{ "count", required_argument, 0, 'c' },
		{ "interval", required_argument, 0, 'i' },
		{ "seed", required_argument, 0, 's' },
		{ "log", required_argument, 0, 'l' },
		{ "quiet", no_argument, 0, 'q' },
		{ "exclude", required_argument, 0, 'x' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct inj j = { .pidfd = -1, .mem = -1 };
	int types[64], ntypes = 0, opt, failed = 0, ret = 1;
	long long count = 1, interval = 100, seed = -1;
	unsigned injected = 0, done[F_TYPES] = { 0 };
	const char *log = NULL, *how;
	char list[64] = "";
	bool memory = false;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 't') {
			if (parse_types(optarg, types, &ntypes))
				return 2;
		} else if (opt == 'c' && (count = number(optarg, 1, INT_MAX)) < 0) {
			fprintf(stderr, "dde faults: --count '%s': give a number from 1\n", optarg);
			return 2;
		} else if (opt == 'i' && (interval = number(optarg, 0, 86400000)) < 0) {
			fprintf(stderr, "dde faults: --interval '%s': give milliseconds, up to 86400000\n",
				optarg);
			return 2;
		} else if (opt == 's' && (seed = number(optarg, 0, LLONG_MAX)) < 0) {
			fprintf(stderr, "dde faults: --seed '%s': give a number\n", optarg);
			return 2;
		} else if (opt == 'l') {
			log = optarg;
		} else if (opt == 'q') {
			j.quiet = true;
		} else if (opt == 'x') {
			if (nexclude == (int)(sizeof(exclude) / sizeof(exclude[0])) || !*optarg) {
				fprintf(stderr, "dde faults: --exclude '%s': a part of a mapping's name, "
					"at most %d times\n", optarg,
					(int)(sizeof(exclude) / sizeof(exclude[0])));
				return 2;
			}
			exclude[nexclude++] = optarg;
		} else if (opt == '?') {
			fprintf(stderr, "dde faults: unknown or incomplete option '%s' (see dde faults --help)\n",
				argv[optind - 1]);
			return 2;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "dde faults: which process? Give its PID (see dde faults --help)\n");
		return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "dde faults: unexpected argument '%s'\n", argv[optind + 1]);
		return 2;
	}
	j.pid = (pid_t)number(argv[optind], 1, INT_MAX);
	if (j.pid < 0 || !isdigit((unsigned char)argv[optind][0])) {
		fprintf(stderr, "dde faults: '%s' is not a process id\n", argv[optind]);
		return 2;
	}
	if (!ntypes)
		for (; ntypes < F_TYPES; ntypes++)
			types[ntypes] = ntypes;
	for (int i = 0; i < ntypes; i++) {
		memory |= types[i] == F_FLIP || types[i] == F_WILD;
		if (!strstr(list, type_name[types[i]]))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? "," : "", type_name[types[i]]);
	}
	if (open_target(&j, memory))
		goto out;
	if (log && !(j.log = fopen(log, "ae"))) {
		fprintf(stderr, "dde faults: cannot open the log %s: %s\n", log, strerror(errno));
		ret = 2;
		goto out;
	}
	if (seed < 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (long long)(((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec) ^
				   (uint64_t)getpid() << 40) & LLONG_MAX;
	}
	j.rng = (uint64_t)seed;
	emit(&j, false, "faults: pid %d seed %lld types %s count %lld interval %lld", j.pid, seed,
	     list, count, interval);

	for (int i = 0; i < count; i++) {
		struct pollfd p = { .fd = j.pidfd, .events = POLLIN };
		int type = types[below(&j, (uint64_t)ntypes)], r;

		/* the wait ends early if the process dies */
		if ((i && interval && poll(&p, 1, (int)interval) > 0) || gone(&j))
			break;
		r = inject(&j, (unsigned)i + 1, type);
		if (r == GONE)
			break;
		if (r == FAILED) {
			failed++;
			continue;
		}
		injected++;
		done[type]++;
		if (type == F_KILL || type == F_STOP)
			break;
	}

	/* a killed process takes a moment to go, a stopped one to stop */
	how = state(&j, done[F_KILL] ? 1000 : 0);
	for (int k = 0; done[F_STOP] && k < 100 && !strcmp(how, "alive"); k++) {
		usleep(10000);
		how = state(&j, 0);
	}
	emit(&j, false, "faults: %u injected (flip %u, wild %u, reg %u, kill %u, stop %u); "
	     "process %s", injected, done[F_FLIP], done[F_WILD], done[F_REG], done[F_KILL],
	     done[F_STOP], how);
	ret = failed && strcmp(how, "gone") ? 1 : 0;
out:
	if (j.log)
		fclose(j.log);
	if (j.mem >= 0)
		close(j.mem);
	if (j.pidfd >= 0)
		close(j.pidfd);
	return ret;
}
