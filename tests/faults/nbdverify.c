/*
 * nbdverify: the verifying workload client of the fault campaign. Writes
 * and reads blocks of an NBD export through libnbd's asynchronous API,
 * keeps a record of the generation of every block that the server
 * acknowledged, and checks every read against it: nothing acknowledged may
 * be lost or read back wrong, whatever happens to the driver below.
 *
 *   nbdverify (--uri URI | --socket PATH [--export NAME]) [options]
 *   nbdverify --check-image IMAGE --record FILE [--offset BYTES]
 *
 * Content: block b at generation g (g >= 1) starts with 16 plain bytes,
 * magic "NBV1", g (u32 LE) and b (u64 LE), so that a wrong block says what
 * it is; then 64-bit LE words splitmix64(key + i * golden), key =
 * splitmix64(((b << 32) + g) ^ seed): a deterministic function of (b, g,
 * seed). Generation 0 means "never written by us": not checked.
 *
 * Per block the record keeps the last acknowledged generation (acked) and
 * the last issued one (issued). A write in flight, failed, or cut off by a
 * lost connection leaves issued > acked: the block may then hold any of
 * the generations acked..issued, even mixed sector by sector (NBD writes
 * are not atomic), and is checked that way; with acked 0 it cannot be
 * checked. The record file (--record) is text:
 *
 *   nbdverify-record 1
 *   block-size B / blocks N / seed S / export-offset 0 / export-size BYTES
 *   end
 *   BLOCK ACKED ISSUED        (one line per block ever written)
 *
 * Exit: 0 when no request failed, no read was wrong and no write was lost;
 * 1 otherwise; 2 on bad usage or when the export cannot be reached.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#define MAGIC		0x3156424eu	/* "NBV1" little-endian */
#define GOLDEN		0x9e3779b97f4a7c15ull
#define SECTOR		512u
#define MAX_BLOCKS	(1u << 24)	/* 16 Mi blocks: 12 bytes each in memory */
#define MAX_RANGE	16u		/* generations tried for an uncertain block */
#define MAX_DEPTH	1024u
#define PRINT_LIMIT	20u		/* detailed lines per kind of problem */

/* --- options ------------------------------------------------------------ */

static const char *opt_uri, *opt_socket, *opt_export = "", *opt_record, *opt_image;
static uint32_t bsize = 65536;
static uint64_t nblocks;		/* 0: the whole export */
static double opt_seconds;
static uint64_t opt_ops;
static unsigned depth = 8;
static uint64_t seed;
static int have_seed;
static unsigned flush_every = 64;
static unsigned write_pct = 50;
static double timeout_s = 120;
static int progress;
static uint64_t image_offset;

/* --- state -------------------------------------------------------------- */

struct blk {
	uint32_t acked;		/* last acknowledged generation, 0: never */
	uint32_t issued;	/* last issued generation (>= acked) */
	uint16_t readers;	/* reads in flight */
	uint8_t writing;	/* a write in flight */
	uint8_t known;		/* in known[] */
};

enum kind { OP_WRITE, OP_READ, OP_FLUSH, OP_VERIFY };
static const char *const kind_name[] = { "write", "read", "flush", "read-back" };

struct op {
	int busy;		/* slot in use */
	volatile int done;	/* set by the completion callback */
	int err;		/* errno from the completion */
	enum kind kind;
	uint64_t block;
	uint32_t gen;
	double t0;
	uint8_t *buf;
};

static struct nbd_handle *nbd;
static struct blk *st;
static uint32_t *known;			/* blocks with acked > 0 */
static uint64_t nknown;
static struct op *ops;
static unsigned inflight;
static uint8_t *expect, *scratch, *matched;
static uint64_t export_size;
static int can_flush;

static uint64_t writes_acked, reads_verified, flushes, errors, corrupt, lost;
static uint64_t final_verified, unverifiable;
static uint64_t issued_ops, writes_since_flush, bytes_moved;
static double max_latency;
static int fatal;			/* connection lost or a request timed out */
static unsigned printed_errors, printed_corrupt, printed_lost;
static volatile sig_atomic_t stop_requested;

static double t_start, t_work_end, t_next_progress;
static uint64_t progress_bytes;
static int want_write;			/* a write waits for a free block */
static uint64_t verify_cursor;
static int flush_sent;

static uint64_t rng_state;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + GOLDEN;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	rng_state += GOLDEN;
	return splitmix64(rng_state);
}

static void *xalloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n ? n : 1)) {
		fprintf(stderr, "nbdverify: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	memset(p, 0, n);
	return p;
}

/* --- content ------------------------------------------------------------ */

static void fill(uint8_t *buf, uint64_t block, uint32_t gen)
{
	uint64_t *w = (uint64_t *)buf;
	uint64_t key = splitmix64(((block << 32) + gen) ^ seed);
	size_t n = bsize / 8;

	w[0] = htole64(MAGIC | (uint64_t)gen << 32);
	w[1] = htole64(block);
	for (size_t i = 2; i < n; i++)
		w[i] = htole64(splitmix64(key + i * GOLDEN));
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* What a block that is not generation gen of block holds, in words. */
static void describe(const uint8_t *got, uint64_t block, uint32_t gen, char *out, size_t len)
{
	uint64_t w0 = le64toh(((const uint64_t *)got)[0]);
	uint64_t fb = le64toh(((const uint64_t *)got)[1]);
	uint32_t fg = (uint32_t)(w0 >> 32);
	size_t first = 0, same = 0, sectors = bsize / SECTOR;

	if (all_zero(got, bsize)) {
		snprintf(out, len, "found all zeros");
		return;
	}
	fill(scratch, block, gen);
	while (first < bsize && got[first] == scratch[first])
		first++;
	for (size_t s = 0; s < sectors; s++)
		same += !memcmp(got + s * SECTOR, scratch + s * SECTOR, SECTOR);
	if ((uint32_t)w0 == MAGIC) {
		const char *what = "";

		fill(scratch, fb, fg);
		if (fb == block && fg == gen)
			what = ", header right but data differs";
		else if (memcmp(got, scratch, bsize))
			what = ", data not that generation's (torn, or another seed)";
		else if (fb != block)
			what = ", a misdirected block";
		else if (fg < gen)
			what = ", an older generation: a lost write";
		else
			what = ", a newer generation than acknowledged";
		snprintf(out, len, "found block %" PRIu64 " gen %" PRIu32 "%s; first wrong byte %zu, "
			 "%zu of %zu sectors right", fb, fg, what, first, same, sectors);
	} else {
		snprintf(out, len, "found no nbdverify header (first bytes %02x%02x%02x%02x%02x%02x%02x%02x); "
			 "first wrong byte %zu, %zu of %zu sectors right",
			 got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[7],
			 first, same, sectors);
	}
}

/*
 * 1 if got can be what block b holds per its record: exactly acked when
 * certain, else each sector one of generations acked..issued.
 * -1 if it cannot be checked (acked 0 and uncertain, or too wide a range).
 */
static int check_block(const uint8_t *got, uint64_t block, uint32_t acked, uint32_t issued)
{
	size_t sectors = bsize / SECTOR, left = sectors;

	if (acked == issued) {
		if (acked == 0)
			return -1;
		fill(expect, block, acked);
		return !memcmp(got, expect, bsize);
	}
	if (acked == 0 || issued - acked >= MAX_RANGE)
		return -1;
	memset(matched, 0, sectors);
	for (uint32_t g = acked; g <= issued && left; g++) {
		fill(expect, block, g);
		for (size_t s = 0; s < sectors; s++)
			if (!matched[s] && !memcmp(got + s * SECTOR, expect + s * SECTOR, SECTOR)) {
				matched[s] = 1;
				left--;
			}
	}
	return left == 0;
}

/* --- record ------------------------------------------------------------- */

static int write_record(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "nbdverify: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "nbdverify-record 1\nblock-size %" PRIu32 "\nblocks %" PRIu64 "\nseed %" PRIu64
		"\nexport-offset 0\nexport-size %" PRIu64 "\nend\n", bsize, nblocks, seed, export_size);
	for (uint64_t b = 0; b < nblocks; b++)
		if (st[b].issued)
			fprintf(f, "%" PRIu64 " %" PRIu32 " %" PRIu32 "\n", b, st[b].acked, st[b].issued);
	if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
		fprintf(stderr, "nbdverify: %s: %s\n", tmp, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		fprintf(stderr, "nbdverify: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int check_image(void)
{
	FILE *f = fopen(opt_record, "r");
	char key[64];
	uint64_t val, b, checked = 0, bad = 0, skipped = 0;
	uint32_t acked, issued, version = 0;
	int fd, r;

	if (!f) {
		fprintf(stderr, "nbdverify: %s: %s\n", opt_record, strerror(errno));
		return 2;
	}
	if (fscanf(f, "nbdverify-record %" SCNu32, &version) != 1 || version != 1) {
		fprintf(stderr, "nbdverify: %s: not an nbdverify record\n", opt_record);
		return 2;
	}
	bsize = 0;
	nblocks = 0;
	while ((r = fscanf(f, "%63s", key)) == 1 && strcmp(key, "end")) {
		if (fscanf(f, "%" SCNu64, &val) != 1) {
			fprintf(stderr, "nbdverify: %s: bad header field %s\n", opt_record, key);
			return 2;
		}
		if (!strcmp(key, "block-size"))
			bsize = (uint32_t)val;
		else if (!strcmp(key, "blocks"))
			nblocks = val;
		else if (!strcmp(key, "seed"))
			seed = val;
		else if (!strcmp(key, "export-offset"))
			image_offset += val;
	}
	if (r != 1 || bsize < SECTOR || bsize % SECTOR) {
		fprintf(stderr, "nbdverify: %s: bad header\n", opt_record);
		return 2;
	}
	fd = open(opt_image, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "nbdverify: %s: %s\n", opt_image, strerror(errno));
		return 2;
	}
	expect = xalloc(bsize);
	scratch = xalloc(bsize);
	matched = xalloc(bsize / SECTOR);
	uint8_t *got = xalloc(bsize);

	while ((r = fscanf(f, "%" SCNu64 " %" SCNu32 " %" SCNu32, &b, &acked, &issued)) == 3) {
		ssize_t n = pread(fd, got, bsize, (off_t)(image_offset + b * bsize));
		char what[256];
		int ok;

		if (n < 0) {
			fprintf(stderr, "nbdverify: %s: %s\n", opt_image, strerror(errno));
			return 2;
		}
		if (b >= nblocks || issued < acked) {
			fprintf(stderr, "nbdverify: %s: bad line for block %" PRIu64 "\n", opt_record, b);
			return 2;
		}
		if ((size_t)n < bsize)
			memset(got + n, 0, bsize - (size_t)n);
		ok = check_block(got, b, acked, issued);
		if (ok < 0) {
			skipped++;
			continue;
		}
		checked++;
		if (ok)
			continue;
		bad++;
		if (bad <= PRINT_LIMIT) {
			if ((size_t)n < bsize)
				snprintf(what, sizeof what, "the image ends at byte %zd of the block", n);
			else
				describe(got, b, acked, what, sizeof what);
			fprintf(stderr, "nbdverify: image: block %" PRIu64 " (byte %" PRIu64 "): expected gen %" PRIu32
				"%s, %s\n", b, image_offset + b * bsize, acked,
				acked == issued ? "" : " (or a later one in flight)", what);
		}
	}
	if (r != EOF) {
		fprintf(stderr, "nbdverify: %s: bad block line\n", opt_record);
		return 2;
	}
	fclose(f);
	close(fd);
	free(got);
	if (bad > PRINT_LIMIT)
		fprintf(stderr, "nbdverify: image: %" PRIu64 " more wrong blocks not printed\n", bad - PRINT_LIMIT);
	if (skipped)
		printf("nbdverify: image: %" PRIu64 " blocks not checkable (a first write never acknowledged)\n", skipped);
	printf("nbdverify: image: %" PRIu64 " blocks checked, %" PRIu64 " lost or wrong\n", checked, bad);
	return bad ? 1 : 0;
}

/* --- requests ----------------------------------------------------------- */

static int on_complete(void *user_data, int *error)
{
	struct op *o = user_data;

	o->err = *error;
	o->done = 1;
	return 1;
}

static void count_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void count_error(const char *fmt, ...)
{
	va_list ap;

	errors++;
	if (++printed_errors > PRINT_LIMIT) {
		if (printed_errors == PRINT_LIMIT + 1)
			fprintf(stderr, "nbdverify: (further errors counted, not printed)\n");
		return;
	}
	va_start(ap, fmt);
	fputs("nbdverify: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int issue(struct op *o, enum kind kind, uint64_t block, uint32_t gen)
{
	nbd_completion_callback cb = { .callback = on_complete, .user_data = o };
	int64_t cookie;

	o->kind = kind;
	o->block = block;
	o->gen = gen;
	o->done = 0;
	o->err = 0;
	o->t0 = now();
	switch (kind) {
	case OP_WRITE:
		fill(o->buf, block, gen);
		cookie = nbd_aio_pwrite(nbd, o->buf, bsize, block * bsize, cb, 0);
		break;
	case OP_READ:
	case OP_VERIFY:
		cookie = nbd_aio_pread(nbd, o->buf, bsize, block * bsize, cb, 0);
		break;
	default:
		cookie = nbd_aio_flush(nbd, cb, 0);
		break;
	}
	if (cookie < 0) {
		count_error("cannot issue %s of block %" PRIu64 ": %s", kind_name[kind], block,
			    nbd_get_error());
		fatal = 1;
		return -1;
	}
	o->busy = 1;
	inflight++;
	if (kind == OP_WRITE)
		st[block].writing = 1;
	else if (kind == OP_READ || kind == OP_VERIFY)
		st[block].readers++;
	return 0;
}

static void complete(struct op *o)
{
	struct blk *s = &st[o->block];
	double lat = now() - o->t0;
	char what[256];
	int ok;

	if (lat > max_latency)
		max_latency = lat;
	o->busy = 0;
	inflight--;
	switch (o->kind) {
	case OP_WRITE:
		s->writing = 0;
		if (o->err) {
			count_error("write of block %" PRIu64 " gen %" PRIu32 " failed: %s (errno %d)",
				    o->block, o->gen, strerror(o->err), o->err);
			return;
		}
		s->acked = o->gen;
		if (!s->known) {
			s->known = 1;
			known[nknown++] = (uint32_t)o->block;
		}
		writes_acked++;
		writes_since_flush++;
		bytes_moved += bsize;
		break;
	case OP_READ:
		s->readers--;
		if (o->err) {
			count_error("read of block %" PRIu64 " failed: %s (errno %d)", o->block,
				    strerror(o->err), o->err);
			return;
		}
		bytes_moved += bsize;
		fill(expect, o->block, o->gen);
		if (!memcmp(o->buf, expect, bsize)) {
			reads_verified++;
			return;
		}
		corrupt++;
		if (++printed_corrupt <= PRINT_LIMIT) {
			describe(o->buf, o->block, o->gen, what, sizeof what);
			fprintf(stderr, "nbdverify: corrupt read: block %" PRIu64 ": expected gen %" PRIu32 ", %s\n",
				o->block, o->gen, what);
		}
		break;
	case OP_VERIFY:
		s->readers--;
		if (o->err) {
			count_error("read-back of block %" PRIu64 " failed: %s (errno %d)", o->block,
				    strerror(o->err), o->err);
			return;
		}
		ok = check_block(o->buf, o->block, s->acked, s->issued);
		if (ok < 0) {
			unverifiable++;
		} else if (ok) {
			final_verified++;
			reads_verified++;
		} else {
			lost++;
			if (++printed_lost <= PRINT_LIMIT) {
				describe(o->buf, o->block, s->acked, what, sizeof what);
				fprintf(stderr, "nbdverify: lost write: block %" PRIu64 ": expected gen %" PRIu32
					"%s, %s\n", o->block, s->acked,
					s->acked == s->issued ? "" : " (or a later one that failed)", what);
			}
		}
		break;
	case OP_FLUSH:
		if (o->err) {
			count_error("flush failed: %s (errno %d)", strerror(o->err), o->err);
			return;
		}
		flushes++;
		break;
	}
}

static void reap(void)
{
	for (unsigned i = 0; i < depth; i++)
		if (ops[i].busy && ops[i].done)
			complete(&ops[i]);
}

static struct op *free_slot(void)
{
	for (unsigned i = 0; i < depth; i++)
		if (!ops[i].busy)
			return &ops[i];
	return NULL;
}

/* --- producers: 1 issued, 0 nothing to issue now, -1 nothing more ever --- */

static int free_for_write(uint64_t b)
{
	return !st[b].writing && !st[b].readers;
}

static int64_t pick_write(void)
{
	uint64_t b, start;

	for (int t = 0; t < 8; t++) {
		b = rnd() % nblocks;
		if (free_for_write(b))
			return (int64_t)b;
	}
	start = rnd() % nblocks;
	for (uint64_t i = 0; i < nblocks; i++) {
		b = (start + i) % nblocks;
		if (free_for_write(b))
			return (int64_t)b;
	}
	return -1;
}

static int64_t pick_read(void)
{
	for (int t = 0; t < 8 && nknown; t++) {
		uint64_t b = known[rnd() % nknown];

		if (!st[b].writing && st[b].acked == st[b].issued && st[b].readers < UINT16_MAX)
			return (int64_t)b;
	}
	return -1;
}

static int next_work(struct op *o)
{
	int64_t b;

	if (stop_requested || (opt_ops && issued_ops >= opt_ops) ||
	    (opt_seconds > 0 && now() >= t_work_end))
		return -1;
	if (can_flush && flush_every && writes_since_flush >= flush_every) {
		writes_since_flush = 0;
		return issue(o, OP_FLUSH, 0, 0) ? -1 : 1;
	}
	/* the type first, then a block for it: falling back to the other type
	 * when its blocks are busy would skew the mix */
	if (!want_write && nknown && rnd() % 100 >= write_pct) {
		b = pick_read();
		if (b >= 0) {
			issued_ops++;
			return issue(o, OP_READ, (uint64_t)b, st[b].acked) ? -1 : 1;
		}
		if (inflight)
			return 0;	/* wait for a block to come free */
	}
	b = pick_write();
	if (b < 0) {
		want_write = 1;		/* no more reads until the write is out */
		return 0;
	}
	want_write = 0;
	issued_ops++;
	return issue(o, OP_WRITE, (uint64_t)b, ++st[b].issued) ? -1 : 1;
}

static int next_flush(struct op *o)
{
	if (flush_sent)
		return -1;
	flush_sent = 1;
	return issue(o, OP_FLUSH, 0, 0) ? -1 : 1;
}

static int next_verify(struct op *o)
{
	while (verify_cursor < nblocks) {
		uint64_t b = verify_cursor++;

		if (st[b].acked)
			return issue(o, OP_VERIFY, b, st[b].acked) ? -1 : 1;
		if (st[b].issued)
			unverifiable++;
	}
	return -1;
}

static void print_progress(double t)
{
	double el = t - t_start;

	fprintf(stderr, "nbdverify: %.0f s: writes %" PRIu64 " acked, reads %" PRIu64 " verified, flushes %"
		PRIu64 ", errors %" PRIu64 ", corrupt reads %" PRIu64 ", in flight %u, MB/s %.1f, max latency %.0f ms\n",
		el, writes_acked, reads_verified, flushes, errors, corrupt, inflight,
		(double)(bytes_moved - progress_bytes) / 5e6, max_latency * 1e3);
	progress_bytes = bytes_moved;
}

/* Runs requests from next() until it has no more and all completed; -1 if fatal. */
static int pump(int (*next)(struct op *), int show_progress)
{
	int finished = 0;

	for (;;) {
		int stalled = 0;

		reap();
		while (!finished && !fatal && inflight < depth) {
			int r = next(free_slot());

			if (r < 0)
				finished = 1;
			if (r == 0)
				stalled = 1;
			if (r <= 0)
				break;
		}
		if (fatal)
			return -1;
		if (!inflight) {
			/* nothing in flight holds a block: a stall cannot last */
			if (finished || stalled)
				return 0;
			continue;
		}

		double t = now(), wait = 1.0, oldest = t;

		for (unsigned i = 0; i < depth; i++)
			if (ops[i].busy && ops[i].t0 < oldest)
				oldest = ops[i].t0;
		if (oldest + timeout_s - t < wait)
			wait = oldest + timeout_s - t;
		if (!finished && opt_seconds > 0 && t_work_end - t < wait)
			wait = t_work_end - t;
		if (show_progress && t_next_progress - t < wait)
			wait = t_next_progress - t;
		if (wait < 0)
			wait = 0;

		int r = nbd_poll(nbd, (int)(wait * 1000) + 1);

		reap();
		if (r < 0 || nbd_aio_is_dead(nbd) || nbd_aio_is_closed(nbd)) {
			const char *msg = r < 0 ? nbd_get_error() : NULL;

			count_error("connection lost: %s", msg ? msg : "the server closed the connection");
			fatal = 1;
			return -1;
		}
		t = now();
		for (unsigned i = 0; i < depth; i++) {
			struct op *o = &ops[i];

			if (o->busy && t - o->t0 > timeout_s) {
				if (o->kind == OP_FLUSH)
					count_error("flush got no reply in %.0f s: timed out", timeout_s);
				else
					count_error("%s of block %" PRIu64 " got no reply in %.0f s: timed out",
						    kind_name[o->kind], o->block, timeout_s);
				if (t - o->t0 > max_latency)
					max_latency = t - o->t0;
				fatal = 1;
			}
		}
		if (fatal)
			return -1;
		if (show_progress && t >= t_next_progress) {
			print_progress(t);
			t_next_progress += 5;
		}
	}
}

/* --- main --------------------------------------------------------------- */

static void on_signal(int sig)
{
	if (stop_requested) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fputs("usage: nbdverify (--uri URI | --socket PATH [--export NAME]) [--block-size B] [--blocks N]\n"
	      "                 [--seconds S | --ops N] [--depth D] [--seed S] [--record FILE]\n"
	      "                 [--flush-every N] [--write-percent P] [--timeout S] [--progress]\n"
	      "       nbdverify --check-image IMAGE --record FILE [--offset BYTES]\n"
	      "\n"
	      "Writes and reads blocks of B bytes (default 64k) over the first N blocks of the export\n"
	      "(default all, at most 16Mi blocks), D requests in flight (default 8), P% writes (default 50),\n"
	      "a flush every N acknowledged writes (default 64, 0: none), for S seconds (default 10) or N\n"
	      "reads+writes; then flushes and reads back every written block. Every read is checked against\n"
	      "the last acknowledged generation of its block. A request without a reply in S seconds\n"
	      "(default 120) is an error. --record writes the record for --check-image, which checks a raw\n"
	      "image (the export starting at --offset) against it.\n"
	      "Exit: 0 all good, 1 errors, corrupt reads or lost writes, 2 usage or connection failure.\n", f);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("nbdverify: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (--help for usage)\n", stderr);
	va_end(ap);
	return 2;
}

/* a number with an optional k/M/G suffix (powers of 1024) */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

static int connect_export(void)
{
	double deadline = now() + timeout_s;
	int64_t max_req, min_req;

	nbd = nbd_create();
	if (!nbd) {
		fprintf(stderr, "nbdverify: cannot create an NBD handle: %s\n", nbd_get_error());
		return -1;
	}
	if (opt_socket && nbd_set_export_name(nbd, opt_export) == -1)
		goto fail;
	if ((opt_uri ? nbd_aio_connect_uri(nbd, opt_uri) : nbd_aio_connect_unix(nbd, opt_socket)) == -1)
		goto fail;
	while (nbd_aio_is_connecting(nbd)) {
		double left = deadline - now();

		if (left <= 0) {
			fprintf(stderr, "nbdverify: cannot connect to %s: no handshake in %.0f s\n",
				opt_uri ? opt_uri : opt_socket, timeout_s);
			return -1;
		}
		if (nbd_poll(nbd, (int)(left * 1000) + 1) == -1)
			goto fail;
	}
	if (!nbd_aio_is_ready(nbd)) {
		fprintf(stderr, "nbdverify: cannot connect to %s: %s\n", opt_uri ? opt_uri : opt_socket,
			nbd_get_error() ? nbd_get_error() : "the handshake failed");
		return -1;
	}
	int64_t size = nbd_get_size(nbd);

	if (size < 0)
		goto fail;
	export_size = (uint64_t)size;
	if (nbd_is_read_only(nbd) == 1) {
		fprintf(stderr, "nbdverify: the export is read-only\n");
		return -1;
	}
	can_flush = nbd_can_flush(nbd) == 1;
	max_req = nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM);
	min_req = nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM);
	if (max_req > 0 && bsize > (uint64_t)max_req) {
		fprintf(stderr, "nbdverify: block size %" PRIu32 " is over the server's maximum request %" PRId64 "\n",
			bsize, max_req);
		return -1;
	}
	if (min_req > 0 && bsize % (uint64_t)min_req) {
		fprintf(stderr, "nbdverify: block size %" PRIu32 " is not a multiple of the server's minimum %" PRId64 "\n",
			bsize, min_req);
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "nbdverify: cannot connect to %s: %s\n", opt_uri ? opt_uri : opt_socket, nbd_get_error());
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "socket", required_argument, NULL, 's' },
		{ "export", required_argument, NULL, 'e' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "blocks", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "ops", required_argument, NULL, 'o' },
		{ "depth", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'r' },
		{ "record", required_argument, NULL, 'R' },
		{ "flush-every", required_argument, NULL, 'f' },
		{ "write-percent", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "check-image", required_argument, NULL, 'c' },
		{ "offset", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': opt_uri = optarg; break;
		case 's': opt_socket = optarg; break;
		case 'e': opt_export = optarg; break;
		case 'R': opt_record = optarg; break;
		case 'c': opt_image = optarg; break;
		case 'p': progress = 1; break;
		case 'b':
			if (parse_size(optarg, &v) || v < SECTOR || v % SECTOR || v > (64u << 20))
				return bad_usage("--block-size %s: a multiple of 512 up to 64M", optarg);
			bsize = (uint32_t)v;
			break;
		case 'n':
			if (parse_size(optarg, &v) || !v || v > MAX_BLOCKS)
				return bad_usage("--blocks %s: 1 to 16Mi", optarg);
			nblocks = v;
			break;
		case 'S':
			if (parse_double(optarg, &opt_seconds) || opt_seconds <= 0)
				return bad_usage("--seconds %s: a positive number", optarg);
			break;
		case 'o':
			if (parse_size(optarg, &opt_ops) || !opt_ops)
				return bad_usage("--ops %s: a positive number", optarg);
			break;
		case 'd':
			if (parse_size(optarg, &v) || !v || v > MAX_DEPTH)
				return bad_usage("--depth %s: 1 to 1024", optarg);
			depth = (unsigned)v;
			break;
		case 'r':
			if (parse_size(optarg, &seed))
				return bad_usage("--seed %s: a number", optarg);
			have_seed = 1;
			break;
		case 'f':
			if (parse_size(optarg, &v) || v > UINT_MAX)
				return bad_usage("--flush-every %s: a number", optarg);
			flush_every = (unsigned)v;
			break;
		case 'w':
			if (parse_size(optarg, &v) || v > 100)
				return bad_usage("--write-percent %s: 0 to 100", optarg);
			write_pct = (unsigned)v;
			break;
		case 't':
			if (parse_double(optarg, &timeout_s) || timeout_s <= 0)
				return bad_usage("--timeout %s: a positive number of seconds", optarg);
			break;
		case 'O':
			if (parse_size(optarg, &image_offset))
				return bad_usage("--offset %s: a number of bytes", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("%s needs an argument", argv[optind - 1]);
		default:
			return bad_usage("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument %s", argv[optind]);

	if (opt_image) {
		if (!opt_record)
			return bad_usage("--check-image needs --record");
		if (opt_uri || opt_socket)
			return bad_usage("--check-image takes no --uri or --socket");
		return check_image();
	}
	if (!!opt_uri == !!opt_socket)
		return bad_usage("give one of --uri URI or --socket PATH");
	if (!opt_seconds && !opt_ops)
		opt_seconds = 10;
	if (!have_seed)
		seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	rng_state = seed;

	signal(SIGPIPE, SIG_IGN);
	if (connect_export())
		return 2;
	if (export_size / bsize == 0) {
		fprintf(stderr, "nbdverify: the export (%" PRIu64 " bytes) is smaller than one block\n", export_size);
		return 2;
	}
	if (!nblocks) {
		nblocks = export_size / bsize;
		if (nblocks > MAX_BLOCKS) {
			fprintf(stderr, "nbdverify: using the first %u of the export's %" PRIu64 " blocks\n",
				MAX_BLOCKS, nblocks);
			nblocks = MAX_BLOCKS;
		}
	} else if (nblocks > export_size / bsize) {
		fprintf(stderr, "nbdverify: --blocks %" PRIu64 ": the export holds %" PRIu64 " blocks of %" PRIu32 " bytes\n",
			nblocks, export_size / bsize, bsize);
		return 2;
	}

	st = xalloc(nblocks * sizeof *st);
	known = xalloc(nblocks * sizeof *known);
	ops = xalloc(depth * sizeof *ops);
	for (unsigned i = 0; i < depth; i++)
		ops[i].buf = xalloc(bsize);
	expect = xalloc(bsize);
	scratch = xalloc(bsize);
	matched = xalloc(bsize / SECTOR);

	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	progress = progress || isatty(2);
	printf("nbdverify: %s: %" PRIu64 " blocks of %" PRIu32 " bytes, depth %u, seed %" PRIu64 ", %u%% writes%s\n",
	       opt_uri ? opt_uri : opt_socket, nblocks, bsize, depth, seed, write_pct,
	       can_flush ? "" : ", the server takes no flush");
	fflush(stdout);

	t_start = now();
	t_work_end = t_start + opt_seconds;
	t_next_progress = t_start + 5;
	pump(next_work, progress);
	double work_time = now() - t_start;
	uint64_t work_bytes = bytes_moved;

	if (!fatal && can_flush)
		pump(next_flush, 0);
	if (!fatal) {
		pump(next_verify, 0);
		printf("nbdverify: read-back: %" PRIu64 " blocks verified, %" PRIu64 " lost or wrong%s\n",
		       final_verified, lost, unverifiable ? " (some not checkable: first write never acknowledged)" : "");
	} else {
		fprintf(stderr, "nbdverify: stopped early: no final read-back\n");
	}

	int rc = 0;

	if (opt_record && write_record(opt_record))
		rc = 1;
	nbd_close(nbd);
	printf("nbdverify: writes %" PRIu64 " acked, reads %" PRIu64 " verified, flushes %" PRIu64 ", errors %" PRIu64
	       ", corrupt reads %" PRIu64 ", lost writes %" PRIu64 ", MB/s %.1f, max request latency %.0f ms\n",
	       writes_acked, reads_verified, flushes, errors, corrupt, lost,
	       work_time > 0 ? (double)work_bytes / 1e6 / work_time : 0.0, max_latency * 1e3);
	if (errors || corrupt || lost)
		rc = 1;
	return rc;
}
