#define _GNU_SOURCE
/*
 * blkio: moves a file's bytes into or out of a disk or partition through
 * bddf and libddeblk, with a chosen request size and queue depth (the
 * asynchronous API), for the block tests and benchmarks.
 *
 *   blkio NAME info
 *   blkio NAME put FILE OFFSET [BS DEPTH [fua] [keep]]  FILE's bytes to NAME at OFFSET
 *   blkio NAME get FILE OFFSET LEN [BS DEPTH [keep]]    LEN bytes of NAME at OFFSET to FILE
 *   blkio NAME flush
 *   blkio NAME discard OFFSET LEN          trim (ddeblk_discard)
 *   blkio NAME bench read|write|randread COUNT BS DEPTH   the stack's speed (no file)
 *   blkio NAME sput FILE OFFSET DEPTH            put through ddeblk_write, DEPTH slots
 *   blkio NAME sget FILE OFFSET LEN DEPTH        get through ddeblk_read
 *   blkio NAME attach       attach to bddf as driver NAME (what only the
 *                           connection dde opens for a driver may do)
 *
 * Prints one line: bytes moved and MB/s; on a failed request, its offset
 * and error, and exits 1 (after the requests in flight complete). With
 * `keep`, every request is still issued, each failure printed, and the
 * count of failed requests last.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ddeblk/ddeblk.h>
#include <ddeblk/driver.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int move(struct ddeblk *b, int op, uint8_t *buf, uint64_t len, uint64_t offset,
		uint32_t bs, unsigned depth, unsigned flags, int keep)
{
	struct ddeblk_info info;
	uint64_t nreq = (len + bs - 1) / bs, next = 0, done = 0;
	unsigned inflight = 0, *free_slots, failed = 0;
	int err = 0;

	ddeblk_info(b, &info);
	if (depth > info.depth)
		depth = info.depth;
	if (bs > info.max_io) {
		fprintf(stderr, "blkio: request size %u above the channel's %u\n", bs, info.max_io);
		return -EINVAL;
	}
	free_slots = malloc(depth * sizeof(*free_slots));
	for (unsigned i = 0; i < depth; i++)
		free_slots[i] = i;
	while (done < nreq) {
		while (next < nreq && inflight < depth && (!err || keep)) {
			uint64_t off = next * bs;
			uint32_t n = len - off < bs ? (uint32_t)(len - off) : bs;
			unsigned slot = free_slots[depth - 1 - inflight];
			struct ddeblk_io io = { .cookie = next | (uint64_t)slot << 40, .offset = offset + off,
						.len = n, .op = (uint16_t)op, .flags = (uint16_t)flags,
						.slot = slot };

			if (op == DDEBLK_OP_WRITE)
				memcpy(ddeblk_slot(b, slot), buf + off, n);
			int r = ddeblk_submit(b, &io, 1);

			if (r < 0) {
				fprintf(stderr, "blkio: submit: %s\n", strerror(-r));
				err = r;
				break;
			}
			next++;
			inflight++;
		}
		ddeblk_kick(b);
		if (!inflight)
			break;
		struct ddeblk_io c[64];
		int n = ddeblk_complete(b, c, 64, 60000);

		if (n <= 0) {
			fprintf(stderr, "blkio: waiting for completions: %s\n",
				n ? strerror(-n) : "nothing for 60 s");
			free(free_slots);
			return n ? n : -ETIMEDOUT;
		}
		for (int i = 0; i < n; i++) {
			uint64_t k = c[i].cookie & ((1ull << 40) - 1);
			unsigned slot = (unsigned)(c[i].cookie >> 40);
			uint64_t off = k * bs;
			uint32_t len_k = len - off < bs ? (uint32_t)(len - off) : bs;

			if (c[i].status) {
				fprintf(stderr, "blkio: request at offset %" PRIu64 " (%u bytes): %s\n",
					offset + off, len_k, strerror(-c[i].status));
				if (!err)
					err = c[i].status;
				failed++;
			} else if (op == DDEBLK_OP_READ) {
				memcpy(buf + off, ddeblk_slot(b, slot), len_k);
			}
			inflight--;
			free_slots[depth - 1 - inflight] = slot;
			done++;
		}
		if (err && !inflight && !keep)
			break;
	}
	free(free_slots);
	if (failed)
		fprintf(stderr, "blkio: %u of %" PRIu64 " requests failed\n", failed, nreq);
	return err;
}

/*
 * The stack's own speed, without a file: COUNT requests of BS bytes, DEPTH
 * in flight, sequential from offset 0 (wrapping at the end) or at random
 * BS-aligned offsets; reads leave their data in the slots, writes send
 * what the slots hold (filled once).
 */
static int bench(struct ddeblk *b, const char *what, uint64_t count, uint32_t bs, unsigned depth)
{
	struct ddeblk_info info;
	uint64_t issued = 0, done = 0, blocks;
	unsigned inflight = 0, *free_slots;
	int rnd = !strcmp(what, "randread"), op = !strcmp(what, "write") ? DDEBLK_OP_WRITE
									 : DDEBLK_OP_READ;

	if (!rnd && strcmp(what, "read") && strcmp(what, "write"))
		return -EINVAL;
	ddeblk_info(b, &info);
	if (depth > info.depth)
		depth = info.depth;
	blocks = bs ? info.entry.size / bs : 0;
	if (!bs || bs > info.max_io || bs % info.entry.sector_size || !blocks || !depth)
		return -EINVAL;
	free_slots = malloc(depth * sizeof(*free_slots));
	for (unsigned i = 0; i < depth; i++) {
		free_slots[i] = i;
		memset(ddeblk_slot(b, i), 0x5a + (int)i, bs);
	}
	srandom(1);
	double t0 = now();

	while (done < count) {
		while (issued < count && inflight < depth) {
			uint64_t blk = rnd ? (((uint64_t)random() << 31) | (uint64_t)random()) % blocks
					   : issued % blocks;
			struct ddeblk_io io = { .offset = blk * bs, .len = bs, .op = (uint16_t)op,
						.slot = free_slots[depth - 1 - inflight] };

			io.cookie = io.slot;
			if (ddeblk_submit(b, &io, 1) != 1)
				break;
			issued++;
			inflight++;
		}
		ddeblk_kick(b);
		struct ddeblk_io c[64];
		int n = ddeblk_complete(b, c, 64, 60000);

		if (n <= 0) {
			free(free_slots);
			return n ? n : -ETIMEDOUT;
		}
		for (int i = 0; i < n; i++) {
			if (c[i].status) {
				free(free_slots);
				return c[i].status;
			}
			inflight--;
			free_slots[depth - 1 - inflight] = (unsigned)c[i].cookie;
			done++;
		}
	}
	double dt = now() - t0;

	printf("%s: %" PRIu64 " requests of %u bytes in %.3f s: %.0f IOPS, %.1f MB/s (depth %u)\n",
	       what, count, bs, dt, count / dt, count * (double)bs / dt / 1e6, depth);
	free(free_slots);
	return 0;
}

int main(int argc, char **argv)
{
	struct ddeblk *b;
	struct ddeblk_info info;
	uint64_t offset, len = 0;
	uint32_t bs = 1 << 20;
	unsigned depth = 32, flags = 0;
	uint8_t *buf;
	double t0;
	int r, put, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: blkio NAME info|flush|discard OFFSET LEN|put FILE OFFSET [BS DEPTH [fua] [keep]]|"
			"get FILE OFFSET LEN [BS DEPTH [keep]]|sput FILE OFFSET DEPTH|"
			"sget FILE OFFSET LEN DEPTH|bench read|write|randread COUNT BS DEPTH|"
			"attach|attach-mem sealed|unsealed|small\n");
		return 2;
	}
	if (!strcmp(argv[2], "attach")) {
		struct ddeblk_drv *d;

		r = ddeblk_drv_attach(NULL, argv[1], &d);
		if (r) {
			fprintf(stderr, "blkio: attach as %s: %s\n", argv[1], ddeblk_strerror(r));
			return 1;
		}
		printf("blkio: attached as driver %s\n", argv[1]);
		ddeblk_drv_close(d);
		return 0;
	}
	if (!strcmp(argv[2], "attach-mem") && argc == 4) {
		/* as a driver giving its own memory for the slots: sealed, unsealed, small */
		struct ddeblk_drv *d;
		int mfd = memfd_create("blkio", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		size_t size = strcmp(argv[3], "small") ? 8u << 20 : 1u << 20;
		void *mem = mfd < 0 || ftruncate(mfd, (off_t)size) ? MAP_FAILED :
			    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);

		if (mem == MAP_FAILED || (strcmp(argv[3], "unsealed") &&
					  fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))) {
			perror("blkio: memory");
			return 1;
		}
		r = ddeblk_drv_attach_mem(NULL, argv[1], mem, mfd, 0, 8, 1u << 20, &d);
		if (r) {
			fprintf(stderr, "blkio: attach as %s: %s\n", argv[1], ddeblk_strerror(r));
			return 1;
		}
		printf("blkio: attached as driver %s, %s\n", argv[1],
		       ddeblk_drv_own_slots(d) ? "its memory the slots" : "bddf's slots");
		ddeblk_drv_close(d);
		munmap(mem, size);
		close(mfd);
		return 0;
	}
	/* the synchronous calls: the connection's depth is what they use */
	int sync = !strcmp(argv[2], "sput") || !strcmp(argv[2], "sget");
	unsigned open_depth = sync && argc > 5 ? (unsigned)strtoul(argv[argc - 1], NULL, 0) : 0;

	r = ddeblk_open(NULL, argv[1], open_depth, 0, &b);
	if (r) {
		fprintf(stderr, "blkio: open %s: %s\n", argv[1], ddeblk_strerror(r));
		return 1;
	}
	ddeblk_info(b, &info);
	if (!strcmp(argv[2], "info")) {
		printf("%s: %" PRIu64 " bytes, %u-byte sectors, start %" PRIu64 ", depth %u, max_io %u\n",
		       info.entry.name, info.entry.size, info.entry.sector_size, info.entry.start,
		       info.depth, info.max_io);
		ddeblk_close(b);
		return 0;
	}
	if (!strcmp(argv[2], "bench") && argc == 7) {
		r = bench(b, argv[3], strtoull(argv[4], NULL, 0), (uint32_t)strtoul(argv[5], NULL, 0),
			  (unsigned)strtoul(argv[6], NULL, 0));
		if (r)
			fprintf(stderr, "blkio: bench: %s\n", strerror(-r));
		ddeblk_close(b);
		return r ? 1 : 0;
	}
	if (!strcmp(argv[2], "discard") && argc == 5) {
		r = ddeblk_discard(b, strtoull(argv[4], NULL, 0), strtoull(argv[3], NULL, 0));
		printf("discard: %s\n", r ? strerror(-r) : "done");
		ddeblk_close(b);
		return r ? 1 : 0;
	}
	if (!strcmp(argv[2], "flush")) {
		r = ddeblk_flush(b);
		printf("flush: %s\n", r ? strerror(-r) : "done");
		ddeblk_close(b);
		return r ? 1 : 0;
	}
	put = !strcmp(argv[2], "put") || !strcmp(argv[2], "sput");
	if ((!put && strcmp(argv[2], "get") && strcmp(argv[2], "sget")) ||
	    argc < (put ? 5 : 6) + sync) {
		fprintf(stderr, "blkio: bad command\n");
		return 2;
	}
	offset = strtoull(argv[4], NULL, 0);
	int a = 5;

	if (!put)
		len = strtoull(argv[a++], NULL, 0);
	if (argc > a && !sync)
		bs = (uint32_t)strtoul(argv[a++], NULL, 0);
	if (argc > a)
		depth = (unsigned)strtoul(argv[a++], NULL, 0);
	int keep = 0;

	for (; a < argc; a++) {
		if (!strcmp(argv[a], "fua"))
			flags = DDEBLK_F_FUA;
		else if (!strcmp(argv[a], "keep"))
			keep = 1;
	}
	fd = open(argv[3], put ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[3]);
		return 1;
	}
	if (put) {
		struct stat st;

		fstat(fd, &st);
		len = (uint64_t)st.st_size;
	}
	buf = malloc(len ? len : 1);
	if (put && read(fd, buf, len) != (ssize_t)len) {
		perror("read");
		free(buf);
		return 1;
	}
	t0 = now();
	if (sync) {
		depth = open_depth;
		bs = info.max_io;
		r = put ? ddeblk_write(b, buf, len, offset, 0) : ddeblk_read(b, buf, len, offset);
		if (r)
			fprintf(stderr, "blkio: %s: %s\n", put ? "ddeblk_write" : "ddeblk_read",
				strerror(-r));
	} else {
		r = move(b, put ? DDEBLK_OP_WRITE : DDEBLK_OP_READ, buf, len, offset, bs, depth,
			 flags, keep);
	}
	double dt = now() - t0;

	if ((!r || keep) && !put && write(fd, buf, len) != (ssize_t)len) {
		perror("write");
		r = -EIO;
	}
	close(fd);
	ddeblk_close(b);
	free(buf);
	if (r)
		return 1;
	printf("%s %" PRIu64 " bytes in %.3f s: %.1f MB/s (requests of %u bytes, depth %u)\n",
	       put ? "wrote" : "read", len, dt, dt > 0 ? len / dt / 1e6 : 0.0, bs, depth);
	return 0;
}
