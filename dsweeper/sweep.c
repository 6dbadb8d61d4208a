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
#include <poll.h>
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

static const struct pass_def blank_pass = { 0, 0x00, "blanking" };

struct sweep run = { .m = &methods[0], .rounds = 1, .first_write = -1 };
volatile sig_atomic_t interrupted;
static unsigned char zeros[1 << 20];

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The data of @t's pass number @pass (@def) at @offset: a byte, or @t's
 * key stream there. Each random pass has a stream of its own: the pass's
 * number is the ChaCha20 nonce.
 */
static void pattern(const struct target *t, const struct pass_def *def, unsigned pass, void *buf,
		    uint32_t len, uint64_t offset)
{
	unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };

	if (!def->random) {
		memset(buf, def->byte, len);
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		nonce[i] = (unsigned char)(pass >> (8 * i));
	/* offsets are whole sectors: whole 64-byte ChaCha20 blocks */
	crypto_stream_chacha20_xor_ic(buf, zeros, len, nonce, offset / 64, t->seed);
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "dsweeper: out of memory\n");
		exit(1);
	}
	return p;
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

/*
 * A target's sweep is a list of steps — each pass's writes, a flush, its
 * verification if asked; or, readonly, one read — and all targets run at
 * once: one loop submits for every target, polls all their channels and
 * takes what completed.
 */
#define MAX_STEPS (3 * (3 * MAX_ROUNDS + 1))	/* each pass: writes, flush, verification */
#define FLUSH_COOKIE UINT64_MAX

struct step {
	uint16_t op;		/* DDEBLK_OP_WRITE, _READ or _FLUSH */
	int compare;		/* a read: compare with the pattern (a verification) */
	const struct pass_def *def;
	unsigned pass;		/* its number, from 0 */
	char what[64];
};

static struct state {
	struct step step[MAX_STEPS];
	unsigned nsteps, k;	/* the steps, and the one under way */
	int active, broken;	/* running; its channel failed */
	/* the step under way */
	uint64_t chunk, nchunks, next, ndone, prefix, nfailed;
	unsigned nfree, *free_slot;
	unsigned char *done, *expect;
	uint64_t *failed;	/* chunks that failed, probed at the step's end */
	int flushing;
	double t0;
} st[MAX_TARGETS];

static void plan(struct state *s)
{
	unsigned npasses = sweep_passes();

	s->nsteps = s->k = 0;
	if (!run.write) {
		s->step[s->nsteps++] = (struct step){ DDEBLK_OP_READ, 0, &blank_pass, 0, "reading (readonly)" };
		return;
	}
	/* the method's passes, --rounds times, then the blanking pass */
	for (unsigned p = 0; p < npasses; p++) {
		const struct pass_def *def = p < npasses - run.blank ? &run.m->p[p % run.m->n] : &blank_pass;
		struct step *w = &s->step[s->nsteps++];

		*w = (struct step){ DDEBLK_OP_WRITE, 0, def, p, "" };
		snprintf(w->what, sizeof(w->what), "pass %u/%u (%s)", p + 1, npasses, def->name);
		s->step[s->nsteps++] = (struct step){ DDEBLK_OP_FLUSH, 0, def, p, "" };
		snprintf(s->step[s->nsteps - 1].what, sizeof(w->what), "flushing pass %u/%u", p + 1, npasses);
		if (run.verify == VERIFY_ALL || (run.verify == VERIFY_LAST && p == npasses - 1)) {
			struct step *v = &s->step[s->nsteps++];

			*v = (struct step){ DDEBLK_OP_READ, 1, def, p, "" };
			snprintf(v->what, sizeof(v->what), "verifying pass %u/%u (%s)", p + 1, npasses,
				 def->name);
		}
	}
}

/* the disk itself is gone: its driver stopped or bddf went away */
static int gone(int status)
{
	return status == -ENODEV || status == -EPIPE || status == -ECONNRESET;
}

static void lost_disk(struct target *t, struct state *s, int status)
{
	if (!s->broken)
		snprintf(run.error, sizeof(run.error), "%s: %s", t->name, status == -ENODEV ?
			 "the disk is gone (its driver stopped)" : "the block server went away");
	s->broken = 1;
}

/*
 * A failed request again, sector by sector, once nothing else is in
 * flight: which sectors fail (a verification also compares each). Returns
 * 1 when every sector of it is now done.
 */
static int probe(struct target *t, struct state *s, const struct step *sp, uint64_t off, uint32_t len)
{
	uint32_t ss = t->info.entry.sector_size;
	unsigned char *buf = must(malloc(2 * (size_t)ss)), *want = buf + ss;
	int good = 1;

	for (uint64_t o = off; o < off + len && !interrupted && !s->broken; o += ss) {
		int r;

		if (sp->op == DDEBLK_OP_WRITE) {
			pattern(t, sp->def, sp->pass, buf, ss, o);
			r = ddeblk_write(t->b, buf, ss, o, 0);
			if (!r)
				t->written += ss;
		} else {
			r = ddeblk_read(t->b, buf, ss, o);
			if (!r && sp->compare) {
				pattern(t, sp->def, sp->pass, want, ss, o);
				if (memcmp(buf, want, ss))
					record(t, o / ss, 1, "verify");
				t->verified += ss;
			} else if (!r) {
				t->read += ss;
			}
		}
		if (gone(r))
			lost_disk(t, s, r);
		else if (r)
			record(t, o / ss, 1, sp->op == DDEBLK_OP_WRITE ? "write" : "read");
		good &= !r;
		if (run.tick)
			run.tick(0);
	}
	free(buf);
	return good && !interrupted && !s->broken;
}

static void finish(struct target *t, struct state *s)
{
	/* steps never begun completed nothing */
	for (unsigned k = s->k; k < s->nsteps; k++)
		if (s->step[k].op == DDEBLK_OP_WRITE)
			t->swept = 0;
		else if (s->step[k].op == DDEBLK_OP_READ)
			t->completed = 0;
	if (run.write && t->swept < t->completed)
		t->completed = t->swept;
	s->active = 0;
	t->state = T_DONE;
	snprintf(t->phase, sizeof(t->phase), "%s", interrupted ? "stopped" : "done");
}

static void step_begin(struct target *t, struct state *s)
{
	const struct step *sp = &s->step[s->k];
	uint64_t size = t->info.entry.size;

	/* once stopped, only the flush of what was written */
	if (s->k == s->nsteps || s->broken || (interrupted && sp->op != DDEBLK_OP_FLUSH)) {
		finish(t, s);
		return;
	}
	snprintf(t->phase, sizeof(t->phase), "%s", sp->what);
	s->t0 = now();
	if (sp->op == DDEBLK_OP_FLUSH) {
		struct ddeblk_io io = { .cookie = FLUSH_COOKIE, .op = DDEBLK_OP_FLUSH };

		s->flushing = ddeblk_submit(t->b, &io, 1) == 1;
		if (!s->flushing)
			record(t, 0, 0, "flush");
		ddeblk_kick(t->b);
		return;
	}
	s->chunk = t->info.max_io < sizeof(zeros) ? t->info.max_io : sizeof(zeros);
	s->nchunks = (size + s->chunk - 1) / s->chunk;
	s->next = s->ndone = s->prefix = s->nfailed = 0;
	s->nfree = t->info.depth;
	s->free_slot = must(malloc(t->info.depth * sizeof(unsigned)));
	s->done = must(calloc(s->nchunks ? s->nchunks : 1, 1));
	s->expect = must(malloc(s->chunk));
	s->failed = must(malloc((s->nchunks ? s->nchunks : 1) * sizeof(uint64_t)));
	for (unsigned i = 0; i < t->info.depth; i++)
		s->free_slot[i] = i;
}

static uint32_t chunk_len(const struct target *t, const struct state *s, uint64_t k)
{
	uint64_t off = k * s->chunk, size = t->info.entry.size;

	return (uint32_t)(size - off < s->chunk ? size - off : s->chunk);
}

static void submit(struct target *t, struct state *s)
{
	const struct step *sp = &s->step[s->k];

	if (!s->active || sp->op == DDEBLK_OP_FLUSH)
		return;
	/* one request alone first, so that the first byte lands soon; then the queue */
	while (s->next < s->nchunks && s->nfree && !interrupted && (s->ndone || s->next == 0)) {
		uint64_t off = s->next * s->chunk;
		uint32_t len = chunk_len(t, s, s->next);
		unsigned slot = s->free_slot[--s->nfree];
		struct ddeblk_io io = { .cookie = s->next << 16 | slot, .offset = off, .len = len,
					.op = sp->op, .slot = slot };

		if (sp->op == DDEBLK_OP_WRITE)
			pattern(t, sp->def, sp->pass, ddeblk_slot(t->b, slot), len, off);
		if (ddeblk_submit(t->b, &io, 1) != 1) {
			s->nfree++;
			break;
		}
		s->next++;
		/* the disk starts on it while the next one's data is made */
		ddeblk_kick(t->b);
	}
}

static void completed_one(struct target *t, struct state *s, const struct ddeblk_io *c)
{
	const struct step *sp = &s->step[s->k];
	uint64_t k = c->cookie >> 16, off = k * s->chunk;
	unsigned slot = (unsigned)(c->cookie & 0xffff);
	uint32_t len = chunk_len(t, s, k);

	if (c->cookie == FLUSH_COOKIE) {
		if (gone(c->status))
			lost_disk(t, s, c->status);
		else if (c->status)
			record(t, 0, 0, "flush");
		s->flushing = 0;
		return;
	}
	s->free_slot[s->nfree++] = slot;
	s->ndone++;
	if (c->status) {
		if (gone(c->status))
			lost_disk(t, s, c->status);
		s->failed[s->nfailed++] = k;	/* probed when nothing is in flight */
		return;
	}
	if (sp->op == DDEBLK_OP_WRITE) {
		t->written += len;
		if (run.first_write < 0)
			run.first_write = now() - run.t0;
	} else if (sp->compare) {
		const unsigned char *got = ddeblk_slot(t->b, slot);
		uint32_t ss = t->info.entry.sector_size;

		pattern(t, sp->def, sp->pass, s->expect, len, off);
		for (uint32_t o = 0; o < len; o += ss)
			if (memcmp(got + o, s->expect + o, ss))
				record(t, (off + o) / ss, 1, "verify");
		t->verified += len;
	} else {
		t->read += len;
	}
	t->work_done += len;
	s->done[k] = 1;
	while (s->prefix < s->nchunks && s->done[s->prefix])
		s->prefix++;
}

/* the step under way has nothing more to do (and nothing in flight) */
static int step_over(const struct state *s)
{
	/* a second stop: no more waiting for what is in flight */
	if (s->broken || interrupted > 1)
		return 1;
	if (s->step[s->k].op == DDEBLK_OP_FLUSH)
		return !s->flushing;
	return s->ndone == s->next && (s->next == s->nchunks || interrupted);
}

static void step_end(struct target *t, struct state *s)
{
	const struct step *sp = &s->step[s->k];

	if (sp->op != DDEBLK_OP_FLUSH) {
		uint64_t size = t->info.entry.size, c;

		/* the failed requests again, sector by sector: which sectors fail */
		for (uint64_t i = 0; i < s->nfailed && !s->broken && !interrupted; i++) {
			uint64_t k = s->failed[i];
			uint32_t len = chunk_len(t, s, k);

			s->done[k] = probe(t, s, sp, k * s->chunk, len);
			t->work_done += len;
		}
		while (s->prefix < s->nchunks && s->done[s->prefix])
			s->prefix++;
		c = s->prefix * s->chunk < size ? s->prefix * s->chunk : size;
		if (sp->op == DDEBLK_OP_WRITE && c < t->swept)
			t->swept = c;
		else if (sp->op == DDEBLK_OP_READ && (c < t->completed || !run.write))
			t->completed = c;
		free(s->failed);
		free(s->free_slot);
		free(s->done);
		free(s->expect);
	}
	t->seconds += now() - s->t0;
	if (run.tick)
		run.tick(1);
	s->k++;
	step_begin(t, s);
}

int sweep_open(char *err, size_t cap)
{
	time_t now_t = time(NULL);

	/* the start: what the time to the first byte written counts from */
	strftime(run.started, sizeof(run.started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now_t));
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
				 r == -ENOENT ? "no such disk or partition (see dde disks)" : ddeblk_strerror(r));
			sweep_close();
			return r;
		}
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(run.t[k].name, t->name)) {
				snprintf(err, cap, "%s: named twice", t->name);
				sweep_close();
				return -EINVAL;
			}
		ddeblk_info(t->b, &t->info);
		randombytes_buf(t->seed, sizeof(t->seed));
		plan(&st[i]);
		/* every pass writes it all, every verification reads it all */
		t->work_total = 0;
		for (unsigned k = 0; k < st[i].nsteps; k++)
			if (st[i].step[k].op != DDEBLK_OP_FLUSH)
				t->work_total += t->info.entry.size;
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

void sweep_all(void)
{
	struct pollfd pfd[MAX_TARGETS];
	unsigned nactive = run.n;

	for (unsigned i = 0; i < run.n; i++) {
		struct target *t = &run.t[i];

		t->state = T_RUNNING;
		t->started = now();
		t->completed = run.write ? t->info.entry.size : 0;
		t->swept = run.write ? t->info.entry.size : 0;
		st[i].active = 1;
		step_begin(t, &st[i]);
	}
	while (nactive) {
		unsigned np = 0;

		for (unsigned i = 0; i < run.n; i++) {
			submit(&run.t[i], &st[i]);
			if (st[i].active)
				pfd[np++] = (struct pollfd){ .fd = ddeblk_fd(run.t[i].b), .events = POLLIN };
		}
		poll(pfd, np, 200);
		nactive = 0;
		for (unsigned i = 0; i < run.n; i++) {
			struct target *t = &run.t[i];
			struct state *s = &st[i];
			struct ddeblk_io c[64];
			int n;

			if (!s->active)
				continue;
			do {
				n = ddeblk_complete(t->b, c, 64, 0);
				if (n < 0)
					lost_disk(t, s, n);
				for (int j = 0; j < n; j++)
					completed_one(t, s, &c[j]);
			} while (n == 64);
			while (s->active && step_over(s))
				step_end(t, s);
			nactive += s->active;
		}
		if (run.tick)
			run.tick(0);
	}
	run.seconds = now() - run.t0;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

unsigned sweep_passes(void)
{
	return run.m->n * run.rounds + run.blank;
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

void sweep_summary(FILE *f)
{
	char first[32] = "null";

	if (run.first_write >= 0)
		snprintf(first, sizeof(first), "%.3f", run.first_write);
	fprintf(f, "{\"result\":\"%s\",\"write\":%s,\"mode\":\"%s\",\"rounds\":%u,\"passes\":%u,\"blank\":%s,"
		"\"verify\":%s,\"started\":\"%s\",\"seconds\":%.3f,\"first_write_seconds\":%s,"
		"\"partitions\":[", sweep_result(), run.write ? "true" : "false",
		run.m->name, run.rounds, sweep_passes(), run.blank ? "true" : "false",
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
	char rounds[32] = "";

	if (run.write && run.rounds > 1)
		snprintf(rounds, sizeof(rounds), " x %u rounds", run.rounds);
	fprintf(f, "dsweeper report\nstarted: %s\nmethod: %s%s%s%s%s\n", run.started,
		run.write ? run.m->name : "none (readonly: read through the stack)", rounds,
		run.write && run.blank ? ", then blanked" : "",
		!run.write ? "" : run.verify == VERIFY_ALL ? ", every pass verified" :
		run.verify ? ", verified" : "",
		run.write && sweep_has_random() ?
		" (random: ChaCha20 streams, a seed per partition in the summary, the pass's number the nonce)" : "");
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
 * --print-stream SEED:BYTES[:PASS]: a random pass's data from its start,
 * as the summary's seed makes it (to check an image outside the stack);
 * PASS: the pass's number from 1 (default 1)
 */
int sweep_print_stream(const char *arg)
{
	const char *colon = strchr(arg, ':');
	char *end = NULL;
	unsigned long long bytes = colon ? strtoull(colon + 1, &end, 0) : 0;
	unsigned long pass = end && *end == ':' ? strtoul(end + 1, &end, 10) : 1;
	static unsigned char buf[1 << 20];
	struct target *t = &run.t[0];

	if (!colon || colon - arg != 2 * (long)sizeof(t->seed) || sodium_init() < 0 || bytes % 512 ||
	    *end || !pass || pass > 3 * MAX_ROUNDS + 1) {
		fprintf(stderr, "dsweeper: --print-stream SEED(64 hex digits):BYTES(whole sectors)[:PASS]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(t->seed); i++)
		if (sscanf(arg + 2 * i, "%2hhx", &t->seed[i]) != 1)
			return 2;
	for (unsigned long long off = 0; off < bytes; off += sizeof(buf)) {
		uint32_t n = (uint32_t)(bytes - off < sizeof(buf) ? bytes - off : sizeof(buf));

		pattern(t, &methods[1].p[0], (unsigned)pass - 1, buf, n, off);
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
	}
	return 0;
}
