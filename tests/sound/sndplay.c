/*
 * sndplay — play a 16-bit PCM wav file through sndd with libddesnd, as a
 * program that wants the ring directly would, with the stream operations
 * the sound tests need:
 *
 *   sndplay [--pcm NAME] [--period F] [--pause-at F --pause-ms MS]
 *           [--stall-at F --stall-ms MS] FILE.wav
 *
 * --pause-at: pause after F frames were written, for MS ms, then resume.
 * --stall-at: stop writing after F frames for MS ms (long enough for an
 * underrun), then expect the underrun (-EPIPE), prepare and go on.
 * Ends with a drain. Prints "played N frames, X xruns"; exit 0, or 1 with
 * one line saying what failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ddesnd/ddesnd.h>

static void msleep(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* the samples of a 16-bit PCM wav file: rate, channels, frames */
static unsigned char *load(const char *path, unsigned *rate, unsigned *channels, size_t *frames)
{
	FILE *f = fopen(path, "rb");
	unsigned char h[8], fmt[16];
	unsigned char *data = NULL;
	int have_fmt = 0;

	if (!f || fread(h, 1, 4, f) != 4 || memcmp(h, "RIFF", 4) || fseek(f, 12, SEEK_SET))
		goto bad;
	while (fread(h, 1, 8, f) == 8) {
		unsigned len = h[4] | h[5] << 8 | h[6] << 16 | (unsigned)h[7] << 24;

		if (!memcmp(h, "fmt ", 4) && len >= 16) {
			if (fread(fmt, 1, 16, f) != 16 || fseek(f, len - 16 + (len & 1), SEEK_CUR))
				goto bad;
			*channels = fmt[2] | fmt[3] << 8;
			*rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | (unsigned)fmt[7] << 24;
			have_fmt = (fmt[0] | fmt[1] << 8) == 1 && (fmt[14] | fmt[15] << 8) == 16;
		} else if (!memcmp(h, "data", 4) && have_fmt && *channels) {
			data = malloc(len ? len : 1);
			if (!data || fread(data, 1, len, f) != len)
				goto bad;
			*frames = len / (2 * *channels);
			fclose(f);
			return data;
		} else if (fseek(f, len + (len & 1), SEEK_CUR)) {
			goto bad;
		}
	}
bad:
	fprintf(stderr, "sndplay: %s: not a readable 16-bit PCM wav file\n", path);
	if (f)
		fclose(f);
	free(data);
	return NULL;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "sndplay: %s: %s\n", what, ddesnd_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *pcm = NULL, *file = NULL;
	long pause_at = -1, pause_ms = 0, stall_at = -1, stall_ms = 0, period = 1024;
	struct ddesnd_params p = { .stream = DDESND_PLAYBACK, .format = 2 /* S16_LE */ };
	struct ddesnd_stream *st;
	struct ddesnd *s;
	unsigned char *data;
	size_t frames, done = 0;
	unsigned xruns_seen = 0;
	uint32_t xruns = 0;
	int r, started = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pcm") && i + 1 < argc)
			pcm = argv[++i];
		else if (!strcmp(argv[i], "--period") && i + 1 < argc)
			period = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pause-at") && i + 1 < argc)
			pause_at = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pause-ms") && i + 1 < argc)
			pause_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--stall-at") && i + 1 < argc)
			stall_at = atol(argv[++i]);
		else if (!strcmp(argv[i], "--stall-ms") && i + 1 < argc)
			stall_ms = atol(argv[++i]);
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			fprintf(stderr, "usage: sndplay [--pcm NAME] [--period F] [--pause-at F "
				"--pause-ms MS] [--stall-at F --stall-ms MS] FILE.wav\n");
			return 2;
		}
	}
	if (!file || period < 16 || !(data = load(file, &p.rate, &p.channels, &frames)))
		return 2;
	p.period_frames = (uint32_t)period;
	p.buffer_frames = 4 * (uint32_t)period;
	if ((r = ddesnd_connect(NULL, &s)))
		return fail("connect", r);
	if ((r = ddesnd_open(s, pcm, &p, &st)))
		return fail("open", r);
	if ((r = ddesnd_prepare(st)))
		return fail("prepare", r);
	while (done < frames) {
		size_t chunk = frames - done;
		long n;

		/* stop at the marks exactly, to act there */
		if (pause_at >= 0 && done < (size_t)pause_at && chunk > (size_t)pause_at - done)
			chunk = (size_t)pause_at - done;
		if (stall_at >= 0 && done < (size_t)stall_at && chunk > (size_t)stall_at - done)
			chunk = (size_t)stall_at - done;
		n = ddesnd_write(st, data + done * 2 * p.channels, chunk, -1);
		if (n == -EPIPE) {	/* an underrun: prepare, fill, start again */
			xruns_seen++;
			printf("underrun after %zu frames: recovered\n", done);
			if ((r = ddesnd_prepare(st)))
				return fail("prepare after the underrun", r);
			started = 0;
			continue;
		}
		if (n < 0)
			return fail("write", (int)n);
		done += (size_t)n;
		if (!started && (done >= p.buffer_frames || done == frames || done == (size_t)pause_at ||
				 done == (size_t)stall_at)) {
			if ((r = ddesnd_start(st)))
				return fail("start", r);
			started = 1;
		}
		if (pause_at >= 0 && done == (size_t)pause_at) {
			pause_at = -1;
			if ((r = ddesnd_pause(st, 1)))
				return fail("pause", r);
			msleep(pause_ms);
			if ((r = ddesnd_pause(st, 0)))
				return fail("resume", r);
			printf("paused after %zu frames for %ld ms\n", done, pause_ms);
		}
		if (stall_at >= 0 && done == (size_t)stall_at) {
			stall_at = -1;
			msleep(stall_ms);
		}
	}
	if ((r = ddesnd_drain(st)))
		return fail("drain", r);
	ddesnd_status(st, NULL, NULL, &xruns);
	printf("played %zu frames, %u xruns (%u seen)\n", done, xruns, xruns_seen);
	ddesnd_close(st);
	ddesnd_disconnect(s);
	free(data);
	return 0;
}
