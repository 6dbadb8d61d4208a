/*
 * dsweeper: overwrites partitions through the block stack (bddf and the
 * reused drivers) on purpose, and proves it — the application of the
 * original DDE demonstration (docs/dsweeper.md).
 *
 *   dsweeper [--write] [--mode zero|random|dodshort] [--verify[=last|all]]
 *            [--blank] [--report FILE] [--blk-socket PATH]
 *            (--partition NAME ... [--yes] | [--ui])
 *
 * With --partition it runs from the command line: a progress line on
 * stderr, a one-line JSON summary on stdout; exit status 0 only when every
 * byte was written (and verified, if asked), 1 otherwise, 2 for a usage
 * error. Without, on a terminal, it opens the terminal UI (ui.c), which
 * `dde sweep` starts over a machine of its own; given machine options
 * (--disk ...), dsweeper is `dde sweep`.
 *
 * Without --write nothing is written: each partition is read through the
 * whole stack and the run reports what would be overwritten, and how fast.
 * With --write, --yes is the command line's confirmation (the UI asks).
 * SIGINT stops a sweep cleanly; the summary says what range was completed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/machine.h"
#include "sweep.h"
#include "ui.h"

/* with machine options, dsweeper is `dde sweep`: the UI over a machine of its own */
static int as_dde_sweep(int argc, char **argv)
{
	char exe[PATH_MAX], *slash, **args = calloc((size_t)argc + 2, sizeof(char *));
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 5);

	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (!slash || !args) {
		fprintf(stderr, "dsweeper: cannot find dde beside %s\n", exe);
		return 1;
	}
	strcpy(slash + 1, "dde");
	args[0] = exe;
	args[1] = "sweep";
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execv(exe, args);
	fprintf(stderr, "dsweeper: cannot start %s: %s\n", exe, strerror(errno));
	return 1;
}

/* the first stop lets requests in flight complete; a second one waits no more */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = interrupted ? 2 : 1;
}

/*
 * The progress line: each partition's step and share done, then the
 * total's MB/s, elapsed time and ETA; redrawn twice a second, and on a
 * new line whenever a step ends (so each step's end stays readable).
 */
static void cli_tick(int step_over)
{
	static double shown;
	uint64_t done = 0, total = 0;
	double el = now() - run.t0;

	if (!step_over && now() - shown < 0.5)
		return;
	shown = now();
	fprintf(stderr, "\rdsweeper:");
	for (unsigned i = 0; i < run.n; i++) {
		const struct target *t = &run.t[i];

		done += t->work_done;
		total += t->work_total;
		fprintf(stderr, "%s %s: %s %5.1f%%", i ? " |" : "", t->name, t->phase,
			t->work_total ? 100.0 * t->work_done / t->work_total : 100.0);
	}
	fprintf(stderr, "  %8.1f MB/s  elapsed %4.0f s  eta %4.0f s%s", el > 0 ? done / el / 1e6 : 0, el,
		done && done < total ? el * (double)(total - done) / done : 0, step_over ? "\n" : "");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dsweeper [--write] [--mode zero|random|dodshort] [--rounds N] [--verify[=last|all]]\n"
		"                [--blank] [--report FILE] [--blk-socket PATH]\n"
		"                (--partition NAME [--partition NAME ...] [--yes] | [--ui])\n"
		"       dsweeper [machine options] [--write] [--mode ...] [--verify ...] [--blank]\n"
		"  Overwrite partitions through the block server (DDE_BLK, as `dde run`\n"
		"  prints it). Without --write nothing is written: the partitions are read\n"
		"  through the whole stack instead. --verify reads every byte of the last\n"
		"  pass (=all: of every pass) back and compares; --rounds N runs the method\n"
		"  N times over; --blank adds a final pass of zeros.\n"
		"  With --partition: from the command line; --yes confirms --write; progress\n"
		"  on stderr, a JSON summary on stdout; exit status 0 only when everything\n"
		"  was written (and verified). Without, on a terminal: the terminal UI,\n"
		"  where the options above are its starting choices. With machine options\n"
		"  (--machine, --disk, ...): `dde sweep`, the UI over a machine of its own.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "write", no_argument, 0, 'w' },
		{ "yes", no_argument, 0, 'y' },
		{ "mode", required_argument, 0, 'm' },
		{ "verify", optional_argument, 0, 'v' },
		{ "blank", no_argument, 0, 'b' },
		{ "rounds", required_argument, 0, 'R' },
		{ "partition", required_argument, 0, 'p' },
		{ "report", required_argument, 0, 'r' },
		{ "blk-socket", required_argument, 0, 'k' },
		{ "ui", no_argument, 0, 'u' },
		{ "print-stream", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		MACHINE_GETOPT_OPTIONS,
		{ 0, 0, 0, 0 },
	};
	const char *report = NULL;
	int opt, yes = 0, ui = 0, machine = 0;
	char err[256];

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w': run.write = 1; break;
		case 'y': yes = 1; break;
		case 'b': run.blank = 1; break;
		case 'u': ui = 1; break;
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
		case 'r': report = optarg; break;
		case 'R': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !v || v > MAX_ROUNDS) {
				fprintf(stderr, "dsweeper: --rounds: the method's passes 1 to %d times, not '%s'\n",
					MAX_ROUNDS, optarg);
				return 2;
			}
			run.rounds = (unsigned)v;
			break;
		}
		case 'k': run.server = optarg; break;
		case 'm':
			run.m = NULL;
			for (unsigned i = 0; i < nmethods; i++)
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
			return sweep_print_stream(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (opt >= MACHINE_OPT_FIRST && opt <= MACHINE_OPT_LAST) {
				machine = 1;
				break;
			}
			fprintf(stderr, "dsweeper: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dsweeper: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (machine)
		return as_dde_sweep(argc, argv);
	if (!run.server && !(getenv("DDE_BLK") && *getenv("DDE_BLK"))) {
		fprintf(stderr, "dsweeper: which block server? Set DDE_BLK or give --blk-socket\n");
		return 2;
	}
	if (ui || !run.n) {
		if (run.n || yes) {
			fprintf(stderr, "dsweeper: the UI selects partitions and asks for the confirmation "
				"itself: no --partition or --yes with it\n");
			return 2;
		}
		if (!isatty(0) || !isatty(1)) {
			fprintf(stderr, "dsweeper: which partitions? Give --partition NAME (see dde disks), "
				"or run on a terminal for the UI\n");
			return 2;
		}
		return ui_main(report);
	}
	if (run.write && !yes) {
		fprintf(stderr, "dsweeper: --write destroys the data of");
		for (unsigned i = 0; i < run.n; i++)
			fprintf(stderr, " %s", run.t[i].name);
		fprintf(stderr, ": add --yes to confirm\n");
		return 2;
	}
	int r = sweep_open(err, sizeof(err));

	if (r) {
		fprintf(stderr, "dsweeper: %s\n", err);
		return r == -ENOENT ? 2 : 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	run.tick = cli_tick;
	sweep_all();
	fputc('\n', stderr);
	if (run.error[0])
		fprintf(stderr, "dsweeper: %s\n", run.error);
	sweep_summary(stdout);
	if (report && (r = sweep_report(report)))
		fprintf(stderr, "dsweeper: report %s: %s\n", report, strerror(-r));
	sweep_close();
	return sweep_ok() ? 0 : 1;
}
