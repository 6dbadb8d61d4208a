/*
 * dsweeper: overwrites partitions through the block stack (bddf and the
 * reused drivers) on purpose, and proves it — the application of the
 * original DDE demonstration (docs/dsweeper.md). This is its command
 * line; the terminal UI is to come.
 *
 *   dsweeper [--write] [--mode zero|random|dodshort] [--verify[=last|all]]
 *            [--blank] --partition NAME ...
 *            [--yes] [--report FILE] [--blk-socket PATH]
 *
 * Without --write nothing is written: each partition is read through the
 * whole stack and the run reports what would be overwritten, and how fast.
 * With --write, --yes is the confirmation. Random data is ChaCha20's key
 * stream (libsodium) under a fresh 256-bit seed per partition, at any offset, so that a
 * verification re-generates it instead of keeping it. Errors are recorded
 * by sector (a failed request is retried sector by sector to find which)
 * and the sweep goes on. SIGINT stops it cleanly; the summary says what
 * range was completed. A progress line goes to stderr, a one-line JSON
 * summary to stdout; exit status 0 only when every byte was written (and
 * verified, if asked), 1 otherwise, 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <ddeblk/ddeblk.h>

#define MAX_TARGETS 32
#define MAX_ERRORS 64

/* a method: its passes, each a byte everywhere or the random stream */
struct pass_def {
	int random;
	unsigned char byte;
	const char *name;
};

static const struct method {
	const char *name;
	unsigned n;
	struct pass_def p[3];
} methods[] = {
	{ "zero", 1, { { 0, 0x00, "zeros" } } },
	{ "random", 1, { { 1, 0, "random" } } },
	/* DoD 5220.22-M's three passes: a character, its complement, random */
	{ "dodshort", 3, { { 0, 0x00, "zeros" }, { 0, 0xff, "ones" }, { 1, 0, "random" } } },
};
static const struct pass_def blank_pass = { 0, 0x00, "blanking" };
static const struct pass_def *cur = &methods[0].p[0];	/* the pass under way */

enum { VERIFY_NONE, VERIFY_LAST, VERIFY_ALL };

struct bad {
	uint64_t sector, count;
	const char *what;	/* "write", "read", "verify" */
};

struct target {
	char name[DDEBLK_NAME_MAX];
	struct ddeblk *b;
	struct ddeblk_info info;
	uint64_t written, verified, read;	/* bytes */
	uint64_t completed;	/* bytes from the start done by every pass so far */
	unsigned char seed[crypto_stream_chacha20_KEYBYTES];	/* random mode: its own stream */
	struct bad bad[MAX_ERRORS];
	unsigned nbad, lost;	/* errors recorded, and beyond MAX_ERRORS */
	double seconds;
};

static struct {
	const char *server;
	int write, verify, yes, blank;
	const struct method *m;
	const char *report;
	struct target t[MAX_TARGETS];
	unsigned n;
} run = { .m = &methods[0] };

static volatile sig_atomic_t interrupted;
static unsigned char zeros[1 << 20];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the data of @t's sweep at @offset: zeros, or its key stream there */
static void pattern(const struct target *t, void *buf, uint32_t len, uint64_t offset)
{
	unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };

	if (!cur->random) {
		memset(buf, cur->byte, len);
		return;
	}
	/* offsets are whole sectors: whole 64-byte ChaCha20 blocks */
	crypto_stream_chacha20_xor_ic(buf, zeros, len, nonce, offset / 64, t->seed);
}

static void record(struct target *t, uint64_t sector, uint64_t count, const char *what)
{
	struct bad *last = t->nbad ? &t->bad[t->nbad - 1] : NULL;

	if (last && last->what == what && last->sector + last->count == sector) {
		last->count += count;
		return;
	}
	if (t->nbad == MAX_ERRORS) {
		t->lost++;
		return;
	}
	t->bad[t->nbad++] = (struct bad){ sector, count, what };
}

/* a failed request, sector by sector: which of them fail */
static void probe(struct target *t, int op, uint64_t off, uint32_t len, const char *what)
{
	uint32_t ss = t->info.entry.sector_size;
	unsigned char *buf = malloc(ss);

	for (uint64_t o = off; o < off + len; o += ss) {
		int r;

		if (op == DDEBLK_OP_WRITE) {
			pattern(t, buf, ss, o);
			r = ddeblk_write(t->b, buf, ss, o, 0);
			if (!r)
				t->written += ss;
		} else {
			r = ddeblk_read(t->b, buf, ss, o);
		}
		if (r)
			record(t, o / ss, 1, what);
	}
	free(buf);
}

static void progress(const struct target *t, const char *what, uint64_t done, double t0, int final)
{
	double el = now() - t0, mbs = el > 0 ? done / el / 1e6 : 0;
	uint64_t size = t->info.entry.size;
	double eta = done && done < size ? el * (double)(size - done) / done : 0;

	fprintf(stderr, "\rdsweeper: %s: %s %5.1f%%  %8.1f MB/s  elapsed %4.0f s  eta %4.0f s%s",
		t->name, what, size ? 100.0 * done / size : 100.0, mbs, el, eta, final ? "\n" : "");
}

/*
 * One pass over @t: write the pattern (@op WRITE), or read (@op READ),
 * comparing with the pattern when @compare. Returns the bytes completed
 * from the start without a gap (all of them unless interrupted).
 */
static uint64_t pass(struct target *t, int op, int compare, const char *what)
{
	uint64_t size = t->info.entry.size, chunk = t->info.max_io < sizeof(zeros) ? t->info.max_io : sizeof(zeros);
	uint64_t nchunks = (size + chunk - 1) / chunk, next = 0, ndone = 0, prefix = 0, bytes = 0;
	unsigned depth = t->info.depth, nfree = depth, *free_slot = malloc(depth * sizeof(unsigned));
	unsigned char *done = calloc(nchunks ? nchunks : 1, 1), *expect = malloc(chunk);
	uint64_t *failed = malloc((nchunks ? nchunks : 1) * sizeof(uint64_t)), nfailed = 0;
	double t0 = now(), shown = 0;

	for (unsigned i = 0; i < depth; i++)
		free_slot[i] = i;
	while (ndone < next || (next < nchunks && !interrupted)) {
		while (next < nchunks && nfree && !interrupted) {
			uint64_t off = next * chunk;
			uint32_t len = (uint32_t)(size - off < chunk ? size - off : chunk);
			unsigned slot = free_slot[--nfree];
			struct ddeblk_io io = { .cookie = next << 16 | slot, .offset = off, .len = len,
						.op = (uint16_t)op, .slot = slot };

			if (op == DDEBLK_OP_WRITE)
				pattern(t, ddeblk_slot(t->b, slot), len, off);
			if (ddeblk_submit(t->b, &io, 1) != 1) {
				nfree++;
				break;
			}
			next++;
		}
		ddeblk_kick(t->b);
		struct ddeblk_io c[64];
		int n = ddeblk_complete(t->b, c, 64, 1000);

		if (n < 0) {
			fprintf(stderr, "\ndsweeper: %s: the block server went away: %s\n", t->name,
				strerror(-n));
			interrupted = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t k = c[i].cookie >> 16, off = k * chunk;
			unsigned slot = (unsigned)(c[i].cookie & 0xffff);
			uint32_t len = (uint32_t)(size - off < chunk ? size - off : chunk);

			if (c[i].status) {
				failed[nfailed++] = k;	/* probed when nothing is in flight */
			} else if (op == DDEBLK_OP_WRITE) {
				t->written += len;
			} else if (compare) {
				const unsigned char *got = ddeblk_slot(t->b, slot);
				uint32_t ss = t->info.entry.sector_size;

				pattern(t, expect, len, off);
				for (uint32_t s = 0; s < len; s += ss)
					if (memcmp(got + s, expect + s, ss))
						record(t, (off + s) / ss, 1, "verify");
				t->verified += len;
			} else {
				t->read += len;
			}
			bytes += len;
			done[k] = 1;
			free_slot[nfree++] = slot;
			ndone++;
		}
		while (prefix < nchunks && done[prefix])
			prefix++;
		if (now() - shown > 0.5) {
			progress(t, what, bytes, t0, 0);
			shown = now();
		}
	}
	/* the failed requests again, sector by sector: which sectors fail */
	for (uint64_t i = 0; i < nfailed; i++) {
		uint64_t off = failed[i] * chunk;

		probe(t, op, off, (uint32_t)(size - off < chunk ? size - off : chunk),
		      op == DDEBLK_OP_WRITE ? "write" : "read");
	}
	progress(t, what, bytes, t0, 1);
	t->seconds += now() - t0;
	free(failed);
	free(free_slot);
	free(done);
	free(expect);
	return prefix * chunk < size ? prefix * chunk : size;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int has_random(void)
{
	for (unsigned p = 0; p < run.m->n; p++)
		if (run.m->p[p].random)
			return 1;
	return 0;
}

static int all_good(void)
{
	if (interrupted)
		return 0;
	for (unsigned i = 0; i < run.n; i++) {
		const struct target *t = &run.t[i];

		if (t->nbad || t->lost || t->completed != t->info.entry.size)
			return 0;
	}
	return 1;
}

static void summary(FILE *f, const char *started, double seconds)
{
	fprintf(f, "{\"result\":\"%s\",\"write\":%s,\"mode\":\"%s\",\"passes\":%u,\"blank\":%s,"
		"\"verify\":%s,\"started\":\"%s\",\"seconds\":%.3f,\"partitions\":[",
		all_good() ? "ok" : interrupted ? "interrupted" : "failed", run.write ? "true" : "false",
		run.m->name, run.m->n + run.blank, run.blank ? "true" : "false",
		run.verify == VERIFY_ALL ? "\"all\"" : run.verify ? "\"last\"" : "false",
		started, seconds);
	for (unsigned i = 0; i < run.n; i++) {
		const struct target *t = &run.t[i];
		char seed[2 * sizeof(t->seed) + 1];

		hex(t->seed, sizeof(t->seed), seed);
		if (run.write && has_random())
			fprintf(f, "%s{\"seed\":\"%s\",", i ? "," : "", seed);
		else
			fprintf(f, "%s{", i ? "," : "");

		fprintf(f, "\"name\":\"%s\",\"disk\":\"%s\",\"driver\":\"%s\",\"bytes\":%" PRIu64
			",\"sector_size\":%u,\"completed\":[0,%" PRIu64 "],\"written\":%" PRIu64
			",\"verified\":%" PRIu64 ",\"read\":%" PRIu64 ",\"seconds\":%.3f,\"errors\":[",
			t->name, t->info.entry.disk, t->info.entry.driver, t->info.entry.size,
			t->info.entry.sector_size, t->completed, t->written, t->verified, t->read,
			t->seconds);
		for (unsigned k = 0; k < t->nbad; k++)
			fprintf(f, "%s{\"op\":\"%s\",\"sector\":%" PRIu64 ",\"count\":%" PRIu64 "}",
				k ? "," : "", t->bad[k].what, t->bad[k].sector, t->bad[k].count);
		fprintf(f, "],\"errors_not_listed\":%u}", t->lost);
	}
	fprintf(f, "]}\n");
}

/*
 * --print-stream SEED:BYTES: a random sweep's data from its start, as the
 * summary's seed makes it (to check an image outside the stack)
 */
static int print_stream(const char *arg)
{
	const char *colon = strchr(arg, ':');
	unsigned long long bytes = colon ? strtoull(colon + 1, NULL, 0) : 0;
	static unsigned char buf[1 << 20];

	struct target *t = &run.t[0];

	if (!colon || colon - arg != 2 * (long)sizeof(t->seed) || sodium_init() < 0 || bytes % 512) {
		fprintf(stderr, "dsweeper: --print-stream SEED(64 hex digits):BYTES (whole sectors)\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(t->seed); i++)
		if (sscanf(arg + 2 * i, "%2hhx", &t->seed[i]) != 1)
			return 2;
	cur = &methods[1].p[0];
	for (unsigned long long off = 0; off < bytes; off += sizeof(buf)) {
		uint32_t n = (uint32_t)(bytes - off < sizeof(buf) ? bytes - off : sizeof(buf));

		pattern(t, buf, n, off);
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dsweeper [--write [--yes]] [--mode zero|random|dodshort]\n"
		"                [--verify[=last|all]] [--blank]\n"
		"                --partition NAME [--partition NAME ...] [--report FILE]\n"
		"                [--blk-socket PATH]\n"
		"  Overwrite partitions through the block server (DDE_BLK, as `dde run`\n"
		"  prints it). Without --write nothing is written: the partitions are read\n"
		"  through the whole stack instead. --yes confirms --write. --verify reads\n"
		"  every byte of the last pass (=all: of every pass) back and compares;\n"
		"  --blank adds a final pass of zeros. Progress on stderr, a JSON summary\n"
		"  on stdout; exit status 0 only when everything was written (and verified).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "write", no_argument, 0, 'w' },
		{ "yes", no_argument, 0, 'y' },
		{ "mode", required_argument, 0, 'm' },
		{ "verify", optional_argument, 0, 'v' },
		{ "blank", no_argument, 0, 'b' },
		{ "partition", required_argument, 0, 'p' },
		{ "report", required_argument, 0, 'r' },
		{ "blk-socket", required_argument, 0, 'k' },
		{ "print-stream", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w': run.write = 1; break;
		case 'y': run.yes = 1; break;
		case 'b': run.blank = 1; break;
		case 'v':
			if (!optarg || !strcmp(optarg, "last"))
				run.verify = VERIFY_LAST;
			else if (!strcmp(optarg, "all"))
				run.verify = VERIFY_ALL;
			else {
				fprintf(stderr, "dsweeper: --verify[=last|all], not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r': run.report = optarg; break;
		case 'k': run.server = optarg; break;
		case 'm':
			run.m = NULL;
			for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
				if (!strcmp(optarg, methods[i].name))
					run.m = &methods[i];
			if (!run.m) {
				fprintf(stderr, "dsweeper: --mode zero, random or dodshort, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			if (run.n == MAX_TARGETS || strlen(optarg) >= DDEBLK_NAME_MAX || !*optarg) {
				fprintf(stderr, "dsweeper: too many partitions, or a bad name '%s'\n", optarg);
				return 2;
			}
			snprintf(run.t[run.n++].name, DDEBLK_NAME_MAX, "%s", optarg);
			break;
		case 'S':
			return print_stream(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dsweeper: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc || !run.n) {
		fprintf(stderr, "dsweeper: %s\n", optind != argc ? "unexpected argument" :
			"which partitions? Give --partition NAME (see dde disks)");
		return 2;
	}
	if (run.write && !run.yes) {
		fprintf(stderr, "dsweeper: --write destroys the data of");
		for (unsigned i = 0; i < run.n; i++)
			fprintf(stderr, " %s", run.t[i].name);
		fprintf(stderr, ": add --yes to confirm\n");
		return 2;
	}
	if (!run.server && !(getenv("DDE_BLK") && *getenv("DDE_BLK"))) {
		fprintf(stderr, "dsweeper: which block server? Set DDE_BLK or give --blk-socket\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "dsweeper: libsodium cannot start\n");
		return 1;
	}
	for (unsigned i = 0; i < run.n; i++) {
		struct target *t = &run.t[i];

		randombytes_buf(t->seed, sizeof(t->seed));
		int r = ddeblk_open(run.server, t->name, 32, run.write ? 0 : DDEBLK_OPEN_RDONLY, &t->b);

		if (r) {
			fprintf(stderr, "dsweeper: %s: %s\n", t->name,
				r == -ENOENT ? "no such disk or partition (see dde disks)" : strerror(-r));
			return r == -ENOENT ? 2 : 1;
		}
		ddeblk_info(t->b, &t->info);
	}

	struct sigaction sa = { .sa_handler = on_sigint };
	char started[32];
	time_t st = time(NULL);
	double t0 = now();

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st));
	for (unsigned i = 0; i < run.n && !interrupted; i++) {
		struct target *t = &run.t[i];

		if (!run.write) {
			t->completed = pass(t, DDEBLK_OP_READ, 0, "reading (readonly)");
			continue;
		}
		unsigned npasses = run.m->n + run.blank;

		t->completed = t->info.entry.size;
		for (unsigned p = 0; p < npasses && !interrupted; p++) {
			char what[64];
			uint64_t c;

			cur = p < run.m->n ? &run.m->p[p] : &blank_pass;
			snprintf(what, sizeof(what), "pass %u/%u (%s)", p + 1, npasses, cur->name);
			c = pass(t, DDEBLK_OP_WRITE, 0, what);
			if (c < t->completed)
				t->completed = c;
			if (!interrupted) {
				int r = ddeblk_flush(t->b);

				if (r) {
					fprintf(stderr, "dsweeper: %s: flush: %s\n", t->name, strerror(-r));
					record(t, 0, 0, "flush");
				}
			}
			if (interrupted || !(run.verify == VERIFY_ALL ||
					     (run.verify == VERIFY_LAST && p == npasses - 1)))
				continue;
			snprintf(what, sizeof(what), "verifying pass %u/%u (%s)", p + 1, npasses, cur->name);
			c = pass(t, DDEBLK_OP_READ, 1, what);
			if (c < t->completed)
				t->completed = c;
		}
	}
	double seconds = now() - t0;

	summary(stdout, started, seconds);
	if (run.report) {
		FILE *f = fopen(run.report, "w");

		if (!f) {
			fprintf(stderr, "dsweeper: report %s: %s\n", run.report, strerror(errno));
		} else {
			fprintf(f, "dsweeper report\nstarted: %s\nmethod: %s%s%s%s\n", started,
				run.write ? run.m->name : "none (readonly: read through the stack)",
				run.write && run.blank ? ", then blanked" : "",
				!run.write ? "" : run.verify == VERIFY_ALL ? ", every pass verified" :
				run.verify ? ", verified" : "",
				run.write && has_random() ? " (random: a ChaCha20 stream per partition, its seed in the summary)" : "");
			for (unsigned i = 0; i < run.n; i++) {
				const struct target *t = &run.t[i];

				fprintf(f, "partition %s of %s (%s): %" PRIu64 " bytes; completed bytes 0..%" PRIu64
					"; written %" PRIu64 ", verified %" PRIu64 ", errors %u%s\n", t->name,
					t->info.entry.disk, t->info.entry.driver, t->info.entry.size, t->completed,
					t->written, t->verified, t->nbad, t->lost ? " (more not listed)" : "");
				for (unsigned k = 0; k < t->nbad; k++)
					if (t->bad[k].count)
						fprintf(f, "  %s error: sectors %" PRIu64 "..%" PRIu64 "\n",
							t->bad[k].what, t->bad[k].sector,
							t->bad[k].sector + t->bad[k].count - 1);
					else	/* not of a sector: the final flush */
						fprintf(f, "  %s error\n", t->bad[k].what);
			}
			fprintf(f, "result: %s\nsummary: ", all_good() ? "ok" : interrupted ? "interrupted" : "failed");
			summary(f, started, seconds);
			fclose(f);
		}
	}
	for (unsigned i = 0; i < run.n; i++)
		ddeblk_close(run.t[i].b);
	return all_good() ? 0 : 1;
}
