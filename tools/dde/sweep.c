/*
 * dde sweep: DSweeper's terminal UI over a machine of its own. Starts
 * `dde run` with the machine options (its own process group, so that the
 * terminal's Ctrl-C reaches the sweeper, which stops its sweep cleanly,
 * and not the machine under it; its log goes to a temporary file, since
 * the UI owns the terminal), then dsweeper's UI on its block server; when
 * the UI exits, stops the machine and removes the log. If the machine
 * stops first, the UI is stopped and the log's end is shown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dde.h"
#include "session.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dde sweep [machine options] [--write] [--mode zero|random|dodshort]\n"
		"                 [--rounds N] [--verify[=last|all]] [--blank] [--report FILE]\n"
		"\n"
		"Start the machine with its disk drivers and the block server (as dde run\n"
		"does), and DSweeper's terminal UI over it: choose the task and the\n"
		"partitions, Start, watch the progress, read the summary. Readonly unless\n"
		"--write: the run reads the partitions through the whole stack and\n"
		"reports what a sweep would overwrite. The other options are the UI's\n"
		"starting choices (see dsweeper --help). The machine's log goes to a\n"
		"temporary file, shown if the machine stops early.\n"
		"\n%s", machine_options_help);
}

static void exec_child(char **argv, int log)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (log >= 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);	/* out of the terminal's reach */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
	}
	execv(argv[0], argv);
	fprintf(stderr, "dde sweep: cannot start %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void show_log_tail(const char *path)
{
	char cmd[PATH_MAX + 32];

	fprintf(stderr, "dde sweep: the machine's log ends with:\n");
	fflush(stderr);
	snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", path);
	if (system(cmd))
		fprintf(stderr, "(cannot show %s)\n", path);
}

int dde_sweep(int argc, char **argv)
{
	static const struct option opts[] = {
		MACHINE_GETOPT_OPTIONS,
		{ "write", no_argument, 0, 'w' },
		{ "mode", required_argument, 0, 'm' },
		{ "verify", optional_argument, 0, 'v' },
		{ "blank", no_argument, 0, 'b' },
		{ "rounds", required_argument, 0, 'R' },
		{ "report", required_argument, 0, 'r' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct machine_args m = { .argc = 0 };
	char *sw_argv[16], *run_argv[DDE_MAX_MARGS + 8], self[PATH_MAX], sweeper[PATH_MAX];
	char sock[64], log[PATH_MAX], err[512], verify[32] = "";
	char *mode = NULL, *report = NULL, *rounds = NULL;
	int opt, idx = 0, nsw = 0, nrun = 0, status = 0, machine_failed = 0, sfd, fd, write = 0, blank = 0;
	pid_t machine, ui;
	sigset_t sigs;
	const char *tmp = getenv("TMPDIR");

	machine_config_init(&m.cfg);
	session_sibling("dde", self, sizeof(self));
	session_sibling("dsweeper", sweeper, sizeof(sweeper));
	sw_argv[nsw++] = sweeper;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt == 'w') {
			write = 1;
		} else if (opt == 'b') {
			blank = 1;
		} else if (opt == 'm') {
			mode = optarg;
		} else if (opt == 'R') {
			rounds = optarg;
		} else if (opt == 'r') {
			report = optarg;
		} else if (opt == 'v') {
			snprintf(verify, sizeof(verify), "--verify%s%.20s", optarg ? "=" : "",
				 optarg ? optarg : "");
		} else if (opt == '?') {
			fprintf(stderr, "dde sweep: unknown or incomplete option '%s' (see dde sweep --help)\n",
				argv[optind - 1]);
			return 2;
		} else if (dde_machine_option(&m, opt, opts[idx].name, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dde sweep: unexpected argument '%s' (see dde sweep --help)\n", argv[optind]);
		return 2;
	}
	if (machine_config_check(&m.cfg, err, sizeof(err))) {
		fprintf(stderr, "dde: %s\n", err);
		return 2;
	}
	if (!m.cfg.ndisks) {
		fprintf(stderr, "dde sweep: the machine has no disks: give --disk KIND:FILE "
			"(see dde sweep --help)\n");
		return 2;
	}
	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "dde sweep: the UI needs a terminal; from scripts, run dsweeper "
			"--partition NAME over dde run\n");
		return 2;
	}
	snprintf(sock, sizeof(sock), "@dde-sweep-%d", (int)getpid());
	snprintf(log, sizeof(log), "%s/dde-sweep-%d-XXXXXX", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	fd = mkstemp(log);
	if (fd < 0) {
		fprintf(stderr, "dde sweep: cannot make the log file %s: %s\n", log, strerror(errno));
		return 1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	run_argv[nrun++] = self;
	run_argv[nrun++] = "run";
	for (int i = 0; i < m.argc; i++)
		run_argv[nrun++] = m.argv[i];
	run_argv[nrun++] = "--blk-socket";
	run_argv[nrun++] = sock;
	run_argv[nrun] = NULL;
	/* the sweeper's starting choices, each once (it checks them) */
	if (write)
		sw_argv[nsw++] = "--write";
	if (blank)
		sw_argv[nsw++] = "--blank";
	if (verify[0])
		sw_argv[nsw++] = verify;
	if (mode) {
		sw_argv[nsw++] = "--mode";
		sw_argv[nsw++] = mode;
	}
	if (rounds) {
		sw_argv[nsw++] = "--rounds";
		sw_argv[nsw++] = rounds;
	}
	if (report) {
		sw_argv[nsw++] = "--report";
		sw_argv[nsw++] = report;
	}
	sw_argv[nsw++] = "--blk-socket";
	sw_argv[nsw++] = sock;
	sw_argv[nsw] = NULL;

	/* children are waited for, and signals read, in order from sfd */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	machine = sfd < 0 ? -1 : fork();
	if (machine == 0)
		exec_child(run_argv, fd);
	ui = machine > 0 ? fork() : -1;
	if (ui == 0)
		exec_child(sw_argv, -1);
	close(fd);
	if (ui < 0) {
		fprintf(stderr, "dde sweep: cannot start the %s: %s\n", machine > 0 ? "sweeper" : "machine",
			strerror(errno));
		if (machine > 0) {
			kill(machine, SIGTERM);
			waitpid(machine, NULL, 0);
		}
		unlink(log);
		return 1;
	}
	while (ui > 0) {
		struct signalfd_siginfo si;
		pid_t pid;
		int st;

		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		/* Ctrl-C and the like are the sweeper's (it shares the terminal) */
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
			kill(ui, SIGTERM);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == ui) {
				status = st;
				ui = 0;
			} else if (pid == machine) {
				machine = 0;
				machine_failed = 1;
				if (ui > 0)
					kill(ui, SIGTERM);
			}
		}
	}
	if (machine > 0) {
		kill(machine, SIGTERM);
		waitpid(machine, NULL, 0);
	}
	if (machine_failed) {
		fprintf(stderr, "dde sweep: the machine stopped before the sweeper\n");
		show_log_tail(log);
	}
	unlink(log);
	if (machine_failed)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
