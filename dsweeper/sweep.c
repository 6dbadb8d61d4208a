/*
 * DSweeper's engine (sweep.h). Random data is ChaCha20's key stream
 * (libsodium) under a fresh 256-bit seed per partition; it can be produced
 * at any offset, so a verification re-generates it instead of keeping it.
 * A failed request is retried sector by sector once nothing else is in
 * flight (the synchronous calls refuse to run beside asynchronous ones), to
 * record exactly which sectors fail; the sweep goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep.h"

const struct method methods[] = {
	{ "zero", "zeros", 1, { { 0, 0x00, "zeros" } } },
	{ "random", "random (ChaCha20)", 1, { { 1, 0, "random" } } },
	/* DoD 5220.22-M's three passes: a character, its complement, random */
	{ "dodshort", "DoD short (3 passes)", 3,
	  { { 0, 0x00, "zeros" }, { 0, 0xff, "ones" }, { 1, 0, "random" } } },
};
const unsigned nmethods = sizeof(methods) / sizeof(methods[0]);
const char *const verify_names[] = { "no", "last", "all" };

static const struct pass_def blank_pass = { 0, 0x00, "blanking" };
static const struct pass_def *cur = &methods[0].p[0];	/* the pass under way */

struct sweep run = { .m = &methods[0], .first_write = -1 };
volatile sig_atomic_t interrupted;
static unsigned char zeros[1 << 20];

double now(void)
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

/*
 * One pass over @t: write the pattern (@op WRITE), or read (@op READ),
 * comparing with the pattern when @compare. Returns the bytes completed
 * from the start without a gap (all of them unless interrupted).
 */
static uint64_t pass(struct target *t, int op, int compare, const char *what)
{
	uint64_t size = t->info.entry.size, chunk = t->info.max_io < sizeof(zeros) ? t->info.max_io : sizeof(zeros);
	uint64_t nchunks = (size + chunk - 1) / chunk, next = 0, ndone = 0, prefix = 0;
	unsigned depth = t->info.depth, nfree = depth, *free_slot = malloc(depth * sizeof(unsigned));
	unsigned char *done = calloc(nchunks ? nchunks : 1, 1), *expect = malloc(chunk);
	uint64_t *failed = malloc((nchunks ? nchunks : 1) * sizeof(uint64_t)), nfailed = 0;
	double t0 = now();

	snprintf(t->phase, sizeof(t->phase), "%s", what);
	for (unsigned i = 0; i < depth; i++)
		free_slot[i] = i;
	while (ndone < next || (next < nchunks && !interrupted)) {
		/* one request alone first, so that the first byte lands soon; then the queue */
		while (next < nchunks && nfree && !interrupted && (ndone || next == 0)) {
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
			/* the disk starts on it while the next one's data is made */
			ddeblk_kick(t->b);
		}
		struct ddeblk_io c[64];
		int n = ddeblk_complete(t->b, c, 64, 200);

		if (n < 0) {
			snprintf(run.error, sizeof(run.error), "%s: the block server went away: %s",
				 t->name, strerror(-n));
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
				if (run.first_write < 0)
					run.first_write = now() - run.t0;
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
			t->work_done += len;
			done[k] = 1;
			free_slot[nfree++] = slot;
			ndone++;
		}
		while (prefix < nchunks && done[prefix])
			prefix++;
		if (run.tick)
			run.tick(t, 0);
	}
	/* the failed requests again, sector by sector: which sectors fail */
	for (uint64_t i = 0; i < nfailed; i++) {
		uint64_t off = failed[i] * chunk;

		probe(t, op, off, (uint32_t)(size - off < chunk ? size - off : chunk),
		      op == DDEBLK_OP_WRITE ? "write" : "read");
	}
	t->seconds += now() - t0;
	if (run.tick)
		run.tick(t, 1);
	free(failed);
	free(free_slot);
	free(done);
	free(expect);
	return prefix * chunk < size ? prefix * chunk : size;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

int sweep_has_random(void)
{
	for (unsigned p = 0; p < run.m->n; p++)
		if (run.m->p[p].random)
			return 1;
	return 0;
}

int sweep_ok(void)
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

const char *sweep_result(void)
{
	return sweep_ok() ? "ok" : interrupted ? "interrupted" : "failed";
}

int sweep_open(char *err, size_t cap)
{
	time_t st = time(NULL);

	/* the start: what the time to the first byte written counts from */
	strftime(run.started, sizeof(run.started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st));
	run.t0 = now();
	if (sodium_init() < 0) {
		snprintf(err, cap, "libsodium cannot start");
		return -EIO;
	}
	for (unsigned i = 0; i < run.n; i++) {
		struct target *t = &run.t[i];
		int r = ddeblk_open(run.server, t->name, 32, run.write ? 0 : DDEBLK_OPEN_RDONLY, &t->b);

		if (r) {
			snprintf(err, cap, "%s: %s", t->name,
				 r == -ENOENT ? "no such disk or partition (see dde disks)" : strerror(-r));
			sweep_close();
			return r;
		}
		ddeblk_info(t->b, &t->info);
		randombytes_buf(t->seed, sizeof(t->seed));
		/* every pass writes it all, every verification reads it all */
		unsigned npasses = run.write ? run.m->n + run.blank : 1;
		unsigned nverify = !run.write ? 0 : run.verify == VERIFY_ALL ? npasses :
			run.verify == VERIFY_LAST;

		t->work_total = (uint64_t)(npasses + nverify) * t->info.entry.size;
		t->state = T_WAITING;
		snprintf(t->phase, sizeof(t->phase), "waiting");
	}
	return 0;
}

void sweep_close(void)
{
	for (unsigned i = 0; i < run.n; i++) {
		ddeblk_close(run.t[i].b);
		run.t[i].b = NULL;
	}
}

static void sweep_one(struct target *t)
{
	unsigned npasses = run.m->n + run.blank;

	t->state = T_RUNNING;
	t->started = now();
	t->completed = run.write ? t->info.entry.size : pass(t, DDEBLK_OP_READ, 0, "reading (readonly)");
	t->swept = run.write ? t->info.entry.size : 0;
	for (unsigned p = 0; p < npasses && run.write; p++) {
		int check = run.verify == VERIFY_ALL || (run.verify == VERIFY_LAST && p == npasses - 1);
		char what[64];
		uint64_t c;

		cur = p < run.m->n ? &run.m->p[p] : &blank_pass;
		snprintf(what, sizeof(what), "pass %u/%u (%s)", p + 1, npasses, cur->name);
		/* a pass (or its verification) never begun completed nothing */
		c = interrupted ? 0 : pass(t, DDEBLK_OP_WRITE, 0, what);
		if (c < t->swept)
			t->swept = c;
		if (!interrupted && ddeblk_flush(t->b))
			record(t, 0, 0, "flush");
		if (!check)
			continue;
		snprintf(what, sizeof(what), "verifying pass %u/%u (%s)", p + 1, npasses, cur->name);
		c = interrupted ? 0 : pass(t, DDEBLK_OP_READ, 1, what);
		if (c < t->completed)
			t->completed = c;
	}
	if (run.write && t->swept < t->completed)
		t->completed = t->swept;
	t->state = T_DONE;
	if (interrupted)
		snprintf(t->phase, sizeof(t->phase), "stopped");
}

void sweep_all(void)
{
	for (unsigned i = 0; i < run.n && !interrupted; i++)
		sweep_one(&run.t[i]);
	run.seconds = now() - run.t0;
}

void sweep_summary(FILE *f)
{
	char first[32] = "null";

	if (run.first_write >= 0)
		snprintf(first, sizeof(first), "%.3f", run.first_write);
	fprintf(f, "{\"result\":\"%s\",\"write\":%s,\"mode\":\"%s\",\"passes\":%u,\"blank\":%s,"
		"\"verify\":%s,\"started\":\"%s\",\"seconds\":%.3f,\"first_write_seconds\":%s,"
		"\"partitions\":[", sweep_result(), run.write ? "true" : "false",
		run.m->name, run.m->n + run.blank, run.blank ? "true" : "false",
		run.verify == VERIFY_ALL ? "\"all\"" : run.verify ? "\"last\"" : "false",
		run.started, run.seconds, first);
	for (unsigned i = 0; i < run.n; i++) {
		const struct target *t = &run.t[i];
		char seed[2 * sizeof(t->seed) + 1];

		hex(t->seed, sizeof(t->seed), seed);
		if (run.write && sweep_has_random())
			fprintf(f, "%s{\"seed\":\"%s\",", i ? "," : "", seed);
		else
			fprintf(f, "%s{", i ? "," : "");

		fprintf(f, "\"name\":\"%s\",\"disk\":\"%s\",\"driver\":\"%s\",\"bytes\":%" PRIu64
			",\"sector_size\":%u,\"completed\":[0,%" PRIu64 "],\"swept\":[0,%" PRIu64 "],\"written\":%" PRIu64
			",\"verified\":%" PRIu64 ",\"read\":%" PRIu64 ",\"seconds\":%.3f,\"errors\":[",
			t->name, t->info.entry.disk, t->info.entry.driver, t->info.entry.size,
			t->info.entry.sector_size, t->completed, t->swept, t->written, t->verified, t->read,
			t->seconds);
		for (unsigned k = 0; k < t->nbad; k++)
			fprintf(f, "%s{\"op\":\"%s\",\"sector\":%" PRIu64 ",\"count\":%" PRIu64 "}",
				k ? "," : "", t->bad[k].what, t->bad[k].sector, t->bad[k].count);
		fprintf(f, "],\"errors_not_listed\":%u}", t->lost);
	}
	fprintf(f, "]%s%s%s}\n", run.error[0] ? ",\"error\":\"" : "", run.error,
		run.error[0] ? "\"" : "");
}

int sweep_report(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "dsweeper report\nstarted: %s\nmethod: %s%s%s%s\n", run.started,
		run.write ? run.m->name : "none (readonly: read through the stack)",
		run.write && run.blank ? ", then blanked" : "",
		!run.write ? "" : run.verify == VERIFY_ALL ? ", every pass verified" :
		run.verify ? ", verified" : "",
		run.write && sweep_has_random() ?
		" (random: a ChaCha20 stream per partition, its seed in the summary)" : "");
	for (unsigned i = 0; i < run.n; i++) {
		const struct target *t = &run.t[i];

		fprintf(f, "partition %s of %s (%s): %" PRIu64 " bytes; completed bytes 0..%" PRIu64,
			t->name, t->info.entry.disk, t->info.entry.driver, t->info.entry.size, t->completed);
		if (run.write)
			fprintf(f, "; every pass written over bytes 0..%" PRIu64, t->swept);
		fprintf(f, "; written %" PRIu64 ", verified %" PRIu64 ", read %" PRIu64 ", errors %u%s\n",
			t->written, t->verified, t->read, t->nbad, t->lost ? " (more not listed)" : "");
		for (unsigned k = 0; k < t->nbad; k++)
			if (t->bad[k].count)
				fprintf(f, "  %s error: sectors %" PRIu64 "..%" PRIu64 "\n",
					t->bad[k].what, t->bad[k].sector,
					t->bad[k].sector + t->bad[k].count - 1);
			else	/* not of a sector: the final flush */
				fprintf(f, "  %s error\n", t->bad[k].what);
	}
	if (run.error[0])
		fprintf(f, "stopped: %s\n", run.error);
	fprintf(f, "result: %s\nsummary: ", sweep_result());
	sweep_summary(f);
	return fclose(f) ? -errno : 0;
}

/*
 * --print-stream SEED:BYTES: a random sweep's data from its start, as the
 * summary's seed makes it (to check an image outside the stack)
 */
int sweep_print_stream(const char *arg)
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
