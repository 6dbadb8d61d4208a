/*
 * wavcmp [--gaps] REF.wav GOT.wav — is GOT (what QEMU's wav backend
 * captured from the device) REF's samples bit for bit, once GOT's leading
 * silence is skipped, and nothing but silence after them? With --gaps,
 * silence may also come between REF's frames (where the stream was paused
 * or ran dry): every frame of REF still has to come, in order, unchanged.
 *
 * Both must be PCM with the same channels and sample size (the rate is
 * printed, not compared: QEMU writes the rate the device model runs at).
 * A wav file QEMU did not close (killed) has a data size of 0 or one
 * too large: the data then runs to the end of the file.
 *
 * Prints one line: "match: N frames after L frames of silence, T frames of
 * silence after[, G frames of silence between]" (exit 0), or where and how they differ (exit 1); 2 for
 * unreadable input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wav {
	unsigned channels, rate, bits, frame;
	unsigned char *data;
	size_t frames;
};

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load(const char *path, struct wav *w)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t size = 0, off = 12;
	long len;
	int fmt = 0;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc(len + 1)) || fread(buf, 1, len, f) != (size_t)len) {
		fprintf(stderr, "wavcmp: %s: %s\n", path, errno ? strerror(errno) : "cannot read");
		if (f)
			fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	size = (size_t)len;
	if (size < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		goto bad;
	while (off + 8 <= size) {
		uint32_t clen = le32(buf + off + 4);

		if (!memcmp(buf + off, "fmt ", 4) && clen >= 16 && off + 8 + 16 <= size) {
			const unsigned char *c = buf + off + 8;

			if ((c[0] | c[1] << 8) != 1)	/* WAVE_FORMAT_PCM */
				goto bad;
			w->channels = c[2] | c[3] << 8;
			w->rate = le32(c + 4);
			w->bits = c[14] | c[15] << 8;
			fmt = 1;
		} else if (!memcmp(buf + off, "data", 4)) {
			size_t avail = size - off - 8;

			if (!fmt || !w->channels || !w->bits || w->bits % 8)
				goto bad;
			w->frame = w->channels * w->bits / 8;
			if (clen == 0 || clen > avail)
				clen = (uint32_t)avail;
			w->data = buf + off + 8;
			w->frames = clen / w->frame;
			return 0;
		}
		off += 8 + clen + (clen & 1);
	}
bad:
	fprintf(stderr, "wavcmp: %s: not a PCM wav file\n", path);
	free(buf);
	return -1;
}

static int silent(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * What the capture holds where it first differs at capture frame @at
 * (reference frame @i): how many frames differ before the two agree again
 * at the same place, and whether those are silence or the reference's own
 * frames from elsewhere (stale ones from a buffer before: the device ran
 * ahead of the driver; later ones: the driver wrote over frames not yet
 * played) — the line that tells an underrun from a position error.
 */
static void describe(const struct wav *ref, const struct wav *got, size_t i, size_t at)
{
	size_t bad = 0, n = 16, from = (size_t)-1;
	int all_silent = 1;

	while (i + bad < ref->frames && at + bad < got->frames &&
	       memcmp(ref->data + (i + bad) * ref->frame, got->data + (at + bad) * got->frame,
		      ref->frame)) {
		all_silent &= silent(got->data + (at + bad) * got->frame, got->frame);
		bad++;
	}
	if (at + n <= got->frames)
		for (size_t j = 0; j + n <= ref->frames && from == (size_t)-1; j++)
			if (j != i && !memcmp(ref->data + j * ref->frame, got->data + at * got->frame,
					      n * ref->frame))
				from = j;
	printf("  %zu frames differ from there (then %s); they are ", bad,
	       i + bad < ref->frames && at + bad < got->frames ? "the two agree again" : "the end");
	if (all_silent)
		printf("silence\n");
	else if (from != (size_t)-1)
		printf("the reference's frames from %zu (%zu %s)\n", from,
		       from < i ? i - from : from - i, from < i ? "earlier: stale" : "later: ahead");
	else
		printf("nowhere in the reference\n");
}

int main(int argc, char **argv)
{
	struct wav ref = { 0 }, got = { 0 };
	size_t lead = 0, rlead = 0, i, tail, gap = 0, at;
	int gaps = argc == 4 && !strcmp(argv[1], "--gaps");

	if (argc != 3 + gaps) {
		fprintf(stderr, "usage: wavcmp [--gaps] REF.wav GOT.wav\n");
		return 2;
	}
	if (load(argv[1 + gaps], &ref) || load(argv[2 + gaps], &got))
		return 2;
	if (ref.channels != got.channels || ref.bits != got.bits) {
		printf("differ: %u channels of %u bits, captured %u of %u\n", ref.channels, ref.bits,
		       got.channels, got.bits);
		return 1;
	}
	/* silence the reference starts with is part of the capture's leading silence */
	while (lead < got.frames && silent(got.data + lead * got.frame, got.frame))
		lead++;
	while (rlead < ref.frames && silent(ref.data + rlead * ref.frame, ref.frame))
		rlead++;
	if (rlead > lead) {
		printf("differ: the capture has %zu frames of silence before the first sound, "
		       "the reference %zu\n", lead, rlead);
		return 1;
	}
	lead -= rlead;
	for (i = 0, at = lead; i < ref.frames; i++, at++) {
		const unsigned char *a = ref.data + i * ref.frame, *b;

		for (;;) {
			if (at >= got.frames) {
				printf("differ: the capture ends after %zu of %zu frames (%zu of silence "
				       "before)\n", i, ref.frames, lead);
				return 1;
			}
			b = got.data + at * got.frame;
			if (!memcmp(a, b, ref.frame))
				break;
			if (!gaps || !silent(b, got.frame)) {
				printf("differ: frame %zu of %zu (after %zu frames of silence)\n", i,
				       ref.frames, lead);
				describe(&ref, &got, i, at);
				return 1;
			}
			gap++;
			at++;
		}
	}
	for (tail = at; tail < got.frames; tail++)
		if (!silent(got.data + tail * got.frame, got.frame)) {
			printf("differ: frame %zu after the end is not silence\n", tail - at);
			return 1;
		}
	if (gaps)
		printf("match: %zu frames after %zu frames of silence, %zu frames of silence after, "
		       "%zu frames of silence between (the file says %u Hz)\n", ref.frames, lead,
		       got.frames - at, gap, got.rate);
	else
		printf("match: %zu frames after %zu frames of silence, %zu frames of silence after "
		       "(the file says %u Hz)\n", ref.frames, lead, got.frames - at, got.rate);
	return 0;
}
