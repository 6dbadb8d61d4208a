/*
 * dde sound: what the sound server (sndd) serves — every PCM with its
 * direction, card and Linux PCM name, the sample formats, channels and
 * rates it takes, and whether a program has it open (and which).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddesnd/ddesnd.h>
#include "dde.h"

#define MAX_PCMS 128

static void formats_text(const struct ddesnd_pcm_info *i, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = 0;
	for (uint32_t k = 0; k < i->nformats && k < DDESND_MAX_FORMATS && n < cap; k++) {
		const struct ddesnd_format *f = ddesnd_format(i->formats[k]);

		if (f)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", f->name);
		else
			n += (size_t)snprintf(out + n, cap - n, "%sformat%u", n ? "," : "",
					      i->formats[k]);
	}
}

static void rates_text(const struct ddesnd_pcm_info *i, char *out, size_t cap)
{
	size_t n = 0;

	if (!i->nrates) {
		snprintf(out, cap, "%u-%u", i->rate_min, i->rate_max);
		return;
	}
	out[0] = 0;
	for (uint32_t k = 0; k < i->nrates && k < DDESND_MAX_RATES && n < cap; k++)
		n += (size_t)snprintf(out + n, cap - n, "%s%u", k ? "," : "", i->rates[k]);
}

/* "free", or "busy: aplay (pid 1234)" */
static void state_text(const struct ddesnd_pcm_info *i, char *out, size_t cap)
{
	char who[56];

	ddesnd_holder(i, who, sizeof(who));
	snprintf(out, cap, "%s%s", who[0] ? "busy: " : "free", who);
}

static void show(const struct ddesnd_pcm_info *i)
{
	char formats[128], channels[24], rates[160], state[64];

	formats_text(i, formats, sizeof(formats));
	rates_text(i, rates, sizeof(rates));
	state_text(i, state, sizeof(state));
	if (i->channels_min == i->channels_max)
		snprintf(channels, sizeof(channels), "%u", i->channels_min);
	else
		snprintf(channels, sizeof(channels), "%u-%u", i->channels_min, i->channels_max);
	printf("%-10s %-9s %-12s %-20s %-16s %-8s %-30s %s\n", i->name,
	       i->stream == DDESND_CAPTURE ? "capture" : "playback", i->card, i->pcm, formats,
	       channels, rates, state);
}

static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: dde sound [--socket PATH]\n"
		"  list the PCMs of the sound server at PATH (default $DDE_SND, as\n"
		"  `dde run` prints it): name, direction, card, Linux PCM name, sample\n"
		"  formats, channels, rates (Hz) and who has it open. ALSA programs\n"
		"  reach one as `aplay -D dde:NAME` (docs/sound.md)\n");
	return status;
}

int dde_sound(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct ddesnd_pcm_info *all;
	const char *server = NULL;
	struct ddesnd *s;
	int opt, n;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 's') {
			server = optarg;
		} else if (opt == '?') {
			fprintf(stderr, "dde sound: unknown or incomplete option '%s' (see dde sound --help)\n",
				argv[optind - 1]);
			return 2;
		} else {
			return usage(stdout, 0);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde sound: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!server && !(getenv("DDE_SND") && *getenv("DDE_SND"))) {
		fprintf(stderr, "dde sound: which sound server? Set DDE_SND (dde run prints it) "
			"or give --socket PATH\n");
		return 2;
	}
	all = calloc(MAX_PCMS, sizeof(*all));
	n = all ? ddesnd_connect(server, &s) : -ENOMEM;
	if (!n) {
		n = ddesnd_list(s, all, MAX_PCMS);
		ddesnd_disconnect(s);
	}
	if (n < 0) {
		/* the library's words name the server */
		fprintf(stderr, "dde sound: %s\n", ddesnd_strerror(n));
		free(all);
		return 1;
	}
	if (n)
		printf("%-10s %-9s %-12s %-20s %-16s %-8s %-30s %s\n", "NAME", "DIRECTION", "CARD",
		       "PCM", "FORMATS", "CHANNELS", "RATES", "STATE");
	for (int i = 0; i < n && i < MAX_PCMS; i++)
		show(&all[i]);
	if (!n)
		printf("no PCMs\n");
	free(all);
	return 0;
}
