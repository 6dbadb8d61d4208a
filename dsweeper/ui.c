/*
 * DSweeper's terminal UI (ncurses): the task at the top (data to write,
 * verification, blanking, rounds), the partitions of every disk the block server
 * has below it, selected with the keyboard; Start (with --write, after a
 * confirmation naming the partitions); per-partition progress bars and a
 * total while it runs; the summary at the end. The window title says
 * whether the run may write: "DSweeper (readonly)" unless --write.
 *
 * One thread: the sweep engine (all partitions at once) calls ui_tick
 * while it runs, which redraws five times a second and reads the keys
 * (q, y stops the sweep, cleanly).
 * The partition list is asked of bddf again every second until Start, so
 * the UI can open before the machine's drivers have brought their disks.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "ui.h"

enum { SETUP, CONFIRM, RUNNING, DONE };

static struct {
	int screen;
	struct ddeblk_entry *e;	/* bddf's list, sorted */
	int n, listed;		/* entries; 1 once bddf answered */
	char cursor[DDEBLK_NAME_MAX];	/* the entry under the cursor */
	char sel[MAX_TARGETS][DDEBLK_NAME_MAX];	/* selected, in list order */
	int nsel;
	char status[320];
	char typed[8];		/* the confirmation typed so far */
	int asking_stop;	/* q pressed while running: y stops */
	double listed_at, drawn_at;
	const char *report;
	int report_err;
} ui;

static volatile sig_atomic_t signals, hangup;

/*
 * Ctrl-C stops a sweep (a second one waits no more for the requests in
 * flight) and leaves its summary on the screen; a hangup or SIGTERM (the
 * terminal is gone, or dde sweep's machine stopped) quits once the sweep
 * has stopped.
 */
static void on_signal(int sig)
{
	interrupted = interrupted ? 2 : 1;
	signals++;
	if (sig != SIGINT)
		hangup = 1;
}

/* a whole disk is offered when it has no partitions: else its partitions are */
static int selectable(int i)
{
	const struct ddeblk_entry *e = &ui.e[i];

	if (e->flags & (DDEBLK_DISK_EXTENDED | DDEBLK_DISK_GONE))
		return 0;
	if (e->partno)
		return 1;
	return !(i + 1 < ui.n && !strcmp(ui.e[i + 1].disk, e->name));
}

static int is_selected(const char *name)
{
	for (int i = 0; i < ui.nsel; i++)
		if (!strcmp(ui.sel[i], name))
			return i + 1;
	return 0;
}

static void toggle(const char *name)
{
	int k = is_selected(name);

	if (k) {
		memmove(ui.sel[k - 1], ui.sel[k], (size_t)(ui.nsel - k) * sizeof(ui.sel[0]));
		ui.nsel--;
	} else if (ui.nsel < MAX_TARGETS) {
		snprintf(ui.sel[ui.nsel++], DDEBLK_NAME_MAX, "%s", name);
	}
}

static int cursor_index(void)
{
	for (int i = 0; i < ui.n; i++)
		if (selectable(i) && !strcmp(ui.e[i].name, ui.cursor))
			return i;
	for (int i = 0; i < ui.n; i++)
		if (selectable(i)) {
			snprintf(ui.cursor, sizeof(ui.cursor), "%s", ui.e[i].name);
			return i;
		}
	return -1;
}

static void move_cursor(int dir)
{
	int i = cursor_index();

	for (int j = i + dir; i >= 0 && j >= 0 && j < ui.n; j += dir)
		if (selectable(j)) {
			snprintf(ui.cursor, sizeof(ui.cursor), "%s", ui.e[j].name);
			return;
		}
}

static void relist(void)
{
	struct ddeblk_entry *e;
	int n = ddeblk_list_sorted(run.server, &e);

	ui.listed_at = now();
	if (n < 0) {
		ui.listed = 0;
		return;
	}
	free(ui.e);
	ui.e = e;
	ui.n = n;
	ui.listed = 1;
}

/* a partition type for people: MBR ids and GPT GUIDs seen most */
static const char *type_name(const struct ddeblk_entry *e)
{
	static const struct {
		const char *id, *name;
	} types[] = {
		{ "83", "Linux" }, { "82", "Linux swap" }, { "8e", "Linux LVM" },
		{ "fd", "Linux raid" }, { "7", "NTFS/exFAT" }, { "b", "FAT32" },
		{ "c", "FAT32 (LBA)" }, { "5", "Extended" }, { "f", "Extended (LBA)" }, { "e", "FAT16 (LBA)" }, { "6", "FAT16" },
		{ "ef", "EFI (FAT)" }, { "ee", "GPT protective" },
		{ "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem" },
		{ "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap" },
		{ "E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM" },
		{ "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System" },
		{ "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data" },
		{ "21686148-6449-6E6F-744E-656564454649", "BIOS boot" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(e->type, types[i].id))
			return types[i].name;
	return "";
}

static void clock_text(double s, char *out, size_t cap)
{
	unsigned long v = s > 0 ? (unsigned long)(s + 0.5) : 0;

	if (s < 60)
		snprintf(out, cap, "%.1fs", s > 0 ? s : 0);
	else if (v >= 3600)
		snprintf(out, cap, "%lu:%02lu:%02lu", v / 3600, v / 60 % 60, v % 60);
	else
		snprintf(out, cap, "%lu:%02lu", v / 60, v % 60);
}

/* a line of text at (@y, @x), cut at the screen's edge rather than wrapped onto the next */
static void __attribute__((format(printf, 3, 4))) put(int y, int x, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mvaddnstr(y, x, line, COLS - 1 - x);	/* the last column would move the cursor on */
}

/* more of the line, where the last put ended */
#define more(...)                             \
	do {                                  \
		int y_, x_;                   \
		getyx(stdscr, y_, x_);        \
		put(y_, x_, __VA_ARGS__);     \
	} while (0)

static void title(void)
{
	char right[96];

	attron(A_REVERSE);
	mvhline(0, 0, ' ', COLS);
	put(0, 1, "DSweeper (%s)", run.write ? "write" : "readonly");
	snprintf(right, sizeof(right), "block server %s ", run.server ? run.server : getenv("DDE_BLK"));
	if ((int)strlen(right) + 24 < COLS)
		put(0, COLS - (int)strlen(right), "%s", right);
	attroff(A_REVERSE);
}

static void task_line(int y, const char *label, const char *const *choices, int n, int chosen)
{
	put(y, 2, "%-14s", label);
	for (int i = 0; i < n; i++) {
		if (i == chosen)
			attron(A_BOLD);
		more("(%c) %s   ", i == chosen ? '*' : ' ', choices[i]);
		if (i == chosen)
			attroff(A_BOLD);
	}
}

static void draw_setup(void)
{
	const char *data[8], *verify[] = { "no", "last pass", "all passes" },
			     *blank[] = { "no", "yes, a final pass of zeros" };
	int chosen = 0, ndata = 0, y, rows, cur = cursor_index();

	for (unsigned i = 0; i < nmethods && i < 8; i++, ndata++) {
		data[i] = methods[i].title;
		if (run.m == &methods[i])
			chosen = (int)i;
	}
	erase();
	title();
	put(2, 1, "Task");
	task_line(3, "Data (m)", data, ndata, chosen);
	task_line(4, "Verify (v)", verify, 3, run.verify);
	task_line(5, "Blank (b)", blank, 2, run.blank);
	more("Rounds (r): %u", run.rounds);
	if (!run.write)
		put(6, 2, "Readonly: nothing is written; Start reads the selected partitions.");
	else
		put(6, 2, "WRITE: Start destroys the data of the selected partitions (asks first).");
	put(8, 1, "Partitions (Up/Down: move, Space: select, a: all/none)");
	attron(A_UNDERLINE);
	put(9, 1, "    %-14s %8s  %-4s %-28s %s", "NAME", "SIZE", "", "TYPE / LABEL", "DRIVER");
	attroff(A_UNDERLINE);
	rows = LINES - 13;
	if (!ui.listed)
		put(10, 4, "waiting for the block server %s ...",
			 run.server ? run.server : getenv("DDE_BLK"));
	else if (!ui.n)
		put(10, 4, "no disks yet: waiting for the disk drivers ...");
	/* scrolled so that the cursor shows */
	int first = cur >= rows ? cur - rows + 1 : 0;

	y = 10;
	for (int i = first; i < ui.n && y < 10 + rows; i++, y++) {
		const struct ddeblk_entry *e = &ui.e[i];
		char size[16], what[160];

		ddeblk_size_text(e->size, size, sizeof(size));
		if (e->partno)
			snprintf(what, sizeof(what), "%s%s%s%s%s", e->label[0] ? "\"" : "", e->label,
				 e->label[0] ? "\" " : "", type_name(e)[0] ? type_name(e) : e->type,
				 e->flags & DDEBLK_DISK_EXTENDED ? " (a container)" : "");
		else
			snprintf(what, sizeof(what), "%s", e->flags & DDEBLK_DISK_GONE ? "(gone)" :
				 !selectable(i) ? "" : e->table[0] ? "(no partitions)" : "(no partition table)");
		if (i == cur)
			attron(A_REVERSE);
		if (selectable(i))
			put(y, 1, "%c[%c] %-13s", i == cur ? '>' : ' ', is_selected(e->name) ? 'x' : ' ',
				 e->name);
		else
			put(y, 1, "  %-16s", e->name);
		more(" %8s  %-4s %-28.28s %s", size, e->partno ? "" : e->table, what,
		       e->partno ? "" : e->driver);
		if (i == cur)
			attroff(A_REVERSE);
	}
	put(LINES - 2, 1, "[ s: Start ]   m v b r: the task   q: quit      selected: %d", ui.nsel);
	put(LINES - 1, 1, "%s", ui.status);
}

static void selection_text(char *out, size_t cap)
{
	size_t len = 0;

	out[0] = 0;
	for (int i = 0; i < ui.nsel && len + 1 < cap; i++) {
		char size[16] = "?";

		for (int k = 0; k < ui.n; k++)
			if (!strcmp(ui.e[k].name, ui.sel[i]))
				ddeblk_size_text(ui.e[k].size, size, sizeof(size));
		len += (size_t)snprintf(out + len, cap - len, "%s%s (%s)", i ? ", " : "", ui.sel[i], size);
	}
}

static const char *task_text(char *out, size_t cap)
{
	char rounds[32] = "";

	if (run.rounds > 1)
		snprintf(rounds, sizeof(rounds), ", %u rounds", run.rounds);
	snprintf(out, cap, "%s%s%s%s", run.m->title, rounds,
		 run.verify == VERIFY_ALL ? ", every pass verified" : run.verify ? ", verified" : "",
		 run.blank ? ", then blanked" : "");
	return out;
}

/* @text from (@y, @x) on, broken after its commas to fit; returns the line below it */
static int wrap(int y, int x, const char *text)
{
	int width = COLS - x - 1 > 20 ? COLS - x - 1 : 20;

	while (*text && y < LINES - 4) {
		int n = (int)strlen(text);

		if (n > width)	/* the last ", " that fits, or a hard cut */
			for (n = width; n > 0 && strncmp(text + n - 1, ", ", 2); n--)
				;
		if (n <= 0)
			n = width;
		put(y++, x, "%.*s", n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
	return y;
}

static void draw_confirm(void)
{
	char names[1024], task[128];

	draw_setup();
	selection_text(names, sizeof(names));
	for (int y = 7; y < LINES; y++)
		mvhline(y, 0, ' ', COLS);
	attron(A_BOLD);
	put(8, 2, "Destroy every byte of these partitions? This cannot be undone.");
	attroff(A_BOLD);
	int y = wrap(10, 4, names);

	put(y + 1, 4, "with: %s", task_text(task, sizeof(task)));
	put(y + 3, 2, "Type yes and Enter to start, Esc to go back: %s", ui.typed);
}

static void bar(int y, int x, int width, double frac)
{
	char b[64];
	int full = (int)(frac * width + 0.5);

	width = width < (int)sizeof(b) - 3 ? width : (int)sizeof(b) - 3;
	b[0] = '[';
	for (int i = 0; i < width; i++)
		b[i + 1] = i < full ? '#' : '.';
	b[width + 1] = ']';
	b[width + 2] = 0;
	put(y, x, "%s", b);
}

/*
 * The bars; returns the first line below them. While running, two lines
 * a partition (its step, MB/s, elapsed time, ETA); at the end, one (the
 * summary needs the room).
 */
static int draw_progress(int final)
{
	int y = 4, width = final ? COLS - 50 : COLS - 32;
	uint64_t done = 0, total = 0;
	char task[128], el[24], eta[24];
	unsigned i;

	width = width > (final ? 30 : 50) ? (final ? 30 : 50) : width < 10 ? 10 : width;
	erase();
	title();
	put(2, 1, "%s", run.write ? task_text(task, sizeof(task)) :
		 "Readonly: reading through the stack, nothing is written");
	for (i = 0; i < run.n; i++) {
		done += run.t[i].work_done;
		total += run.t[i].work_total;
	}
	for (i = 0; i < run.n && y < LINES - (final ? 12 : 8); i++, y += final ? 1 : 2) {
		const struct target *t = &run.t[i];
		double secs = t->state == T_RUNNING ? now() - t->started : t->seconds;
		double frac = t->work_total ? (double)t->work_done / t->work_total : 1;
		double mbs = secs > 0 ? t->work_done / secs / 1e6 : 0.0;

		put(y, 1, "%-12s", t->name);
		bar(y, 14, width, frac);
		more(" %5.1f%%", 100 * frac);
		if (final) {
			more("  %-8s %8.1f MB/s", t->phase, mbs);
			continue;
		}
		clock_text(secs, el, sizeof(el));
		clock_text(t->work_done && frac < 1 ? secs * (1 - frac) / frac : 0, eta, sizeof(eta));
		put(y + 1, 3, "%-30s %8.1f MB/s  elapsed %s", t->phase, mbs, el);
		if (t->state == T_RUNNING)
			more("  eta %s", eta);
		if (t->nbad || t->lost)
			more("  errors %u%s", t->nbad, t->lost ? "+" : "");
	}
	if (i < run.n)
		put(y++, 1, "(%u more partitions: a taller terminal shows them)", run.n - i);
	double secs = (final ? run.seconds : now() - run.t0), frac = total ? (double)done / total : 1;
	double mbs = secs > 0 ? done / secs / 1e6 : 0.0;

	attron(A_BOLD);
	put(y, 1, "%-12s", "total");
	bar(y, 14, width, frac);
	more(" %5.1f%%", 100 * frac);
	attroff(A_BOLD);
	clock_text(secs, el, sizeof(el));
	if (final) {
		more("  %-8s %8.1f MB/s", "", mbs);
		return y + 2;
	}
	clock_text(done && frac < 1 ? secs * (1 - frac) / frac : 0, eta, sizeof(eta));
	put(y + 1, 3, "%-30s %8.1f MB/s  elapsed %s  eta %s", "", mbs, el, eta);
	if (ui.asking_stop)
		put(LINES - 1, 1, "%s", interrupted ? "Wait no more for the requests in flight? y: yes, n: wait" :
			 "Stop the sweep? y: stop, n: go on");
	else
		put(LINES - 1, 1, "%s", interrupted ? "stopping: the requests in flight complete (q: wait no more)" :
			 "q: stop the sweep (cleanly: the summary states the range completed)");
	return y + 3;
}

static void draw_done(void)
{
	uint64_t written = 0, verified = 0, read = 0, size = 0;
	int y;

	y = draw_progress(1);
	for (unsigned i = 0; i < run.n; i++) {
		written += run.t[i].written;
		verified += run.t[i].verified;
		read += run.t[i].read;
		size += run.t[i].info.entry.size;
	}
	attron(A_BOLD);
	put(y++, 1, "Summary: %s%s", sweep_result(),
		 sweep_ok() ? (run.write ? (run.verify ? " - every byte written and verified" :
					   " - every byte written") :
			       " - every byte read, nothing written") : "");
	attroff(A_BOLD);
	if (!run.write) {
		char s[16];

		ddeblk_size_text(size, s, sizeof(s));
		put(y++, 2, "readonly: a sweep would overwrite %s (%" PRIu64 " bytes) in %u partition%s",
		    s, size, run.n, run.n == 1 ? "" : "s");
	}
	put(y++, 2, "written %" PRIu64 " bytes, verified %" PRIu64 ", read %" PRIu64 " in %.1f s (%.1f MB/s)",
	    written, verified, read, run.seconds,
	    run.seconds > 0 ? (written + verified + read) / run.seconds / 1e6 : 0.0);
	if (run.first_write >= 0)
		put(y++, 2, "the first byte written %.3f s after Start", run.first_write);
	for (unsigned i = 0; i < run.n && y < LINES - 3; i++) {
		const struct target *t = &run.t[i];

		put(y++, 2, "%s: completed bytes 0..%" PRIu64 " of %" PRIu64 ", errors: %s", t->name,
		    t->completed, t->info.entry.size, t->nbad ? "" : "none");
		if (run.write && t->swept != t->completed && y < LINES - 3)
			put(y++, 4, "every pass written over bytes 0..%" PRIu64, t->swept);
		for (unsigned k = 0; k < t->nbad && y < LINES - 3; k++)
			if (t->bad[k].count)
				put(y++, 4, "%s error: sectors %" PRIu64 "..%" PRIu64, t->bad[k].what,
					 t->bad[k].sector, t->bad[k].sector + t->bad[k].count - 1);
			else
				put(y++, 4, "%s error", t->bad[k].what);
		if (t->lost && y < LINES - 3)
			put(y++, 4, "(%u more errors not listed)", t->lost);
	}
	if (run.error[0] && y < LINES - 2)
		put(y++, 2, "stopped: %s", run.error);
	if (ui.report)
		put(LINES - 2, 1, "report: %s%s%s", ui.report, ui.report_err ? ": " : "",
			 ui.report_err ? strerror(-ui.report_err) : "");
	put(LINES - 1, 1, "q: quit");
}

static void draw(void)
{
	if (ui.screen == SETUP)
		draw_setup();
	else if (ui.screen == CONFIRM)
		draw_confirm();
	else if (ui.screen == RUNNING)
		draw_progress(0);
	else
		draw_done();
	refresh();
	ui.drawn_at = now();
}

static void ui_tick(int step_over)
{
	int ch;

	(void)step_over;
	while ((ch = getch()) != ERR) {
		if (ui.asking_stop) {
			ui.asking_stop = 0;
			if (ch == 'y' || ch == 'Y')
				interrupted = interrupted ? 2 : 1;
		} else if (ch == 'q' || ch == 'Q' || ch == 27) {
			ui.asking_stop = 1;
		}
		ui.drawn_at = 0;
	}
	if (now() - ui.drawn_at >= 0.2)
		draw();
}

static void start(void)
{
	char err[256];
	int r;

	run.n = 0;
	for (int i = 0; i < ui.nsel; i++) {
		memset(&run.t[run.n], 0, sizeof(run.t[0]));
		snprintf(run.t[run.n++].name, DDEBLK_NAME_MAX, "%s", ui.sel[i]);
	}
	r = sweep_open(err, sizeof(err));
	if (r) {
		snprintf(ui.status, sizeof(ui.status), "cannot start: %s", err);
		ui.screen = SETUP;
		return;
	}
	ui.screen = RUNNING;
	run.tick = ui_tick;
	timeout(0);
	sweep_all();
	ui.screen = DONE;
	if (ui.report)
		ui.report_err = sweep_report(ui.report);
	timeout(250);
}

static void setup_key(int ch)
{
	int cur = cursor_index();

	ui.status[0] = 0;
	switch (ch) {
	case KEY_UP: case 'k': move_cursor(-1); break;
	case KEY_DOWN: case 'j': move_cursor(1); break;
	case ' ': case 'x':
		if (cur >= 0)
			toggle(ui.e[cur].name);
		break;
	case 'a': {
		int all = 1;

		for (int i = 0; i < ui.n; i++)
			if (selectable(i) && !is_selected(ui.e[i].name))
				all = 0;
		ui.nsel = 0;
		for (int i = 0; i < ui.n && !all; i++)
			if (selectable(i))
				toggle(ui.e[i].name);
		break;
	}
	case 'm':
		run.m = &methods[((unsigned)(run.m - methods) + 1) % nmethods];
		break;
	case 'v': run.verify = (run.verify + 1) % 3; break;
	case 'b': run.blank = !run.blank; break;
	case 'r': run.rounds = run.rounds % MAX_ROUNDS + 1; break;
	case 's': case 'S': case '\n': case KEY_ENTER:
		if (!ui.nsel) {
			snprintf(ui.status, sizeof(ui.status), "select partitions first (Space)");
		} else if (run.write) {
			ui.typed[0] = 0;
			ui.screen = CONFIRM;
		} else {
			start();
		}
		break;
	}
}

static void confirm_key(int ch)
{
	size_t len = strlen(ui.typed);

	if (ch == 27) {
		ui.screen = SETUP;
		snprintf(ui.status, sizeof(ui.status), "not started");
	} else if (ch == '\n' || ch == KEY_ENTER) {
		if (!strcmp(ui.typed, "yes")) {
			start();
		} else {
			ui.screen = SETUP;
			snprintf(ui.status, sizeof(ui.status), "not started: the confirmation is the word yes");
		}
	} else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len) {
		ui.typed[len - 1] = 0;
	} else if (ch >= ' ' && ch < 127 && len + 1 < sizeof(ui.typed)) {
		ui.typed[len] = (char)ch;
		ui.typed[len + 1] = 0;
	}
}

int ui_main(const char *report)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: getch returns */
	int swept, seen = 0;

	ui.report = report;
	setlocale(LC_ALL, "");
	if (!newterm(NULL, stdout, stdin)) {
		fprintf(stderr, "dsweeper: this terminal (TERM=%s) cannot show the UI\n",
			getenv("TERM") ? getenv("TERM") : "");
		return 2;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(50);
	timeout(250);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	/* a signal quits, or stops a sweep (and the next one quits its summary) */
	while (ui.screen == DONE ? signals == seen && !hangup : !interrupted) {
		if (ui.screen == SETUP && now() - ui.listed_at >= 1)
			relist();
		draw();
		int ch = getch();

		if (ch == ERR)
			continue;
		if (ui.screen == DONE) {
			if (ch == 'q' || ch == 'Q' || ch == '\n' || ch == 27)
				break;
		} else if (ui.screen == CONFIRM) {
			confirm_key(ch);
		} else if (ch == 'q' || ch == 'Q') {
			break;
		} else {
			setup_key(ch);
		}
		seen = signals;	/* what stopped a sweep does not also close its summary */
	}
	endwin();
	swept = ui.screen == DONE;
	free(ui.e);
	if (!swept)
		return interrupted ? 1 : 0;
	sweep_summary(stdout);
	sweep_close();
	return sweep_ok() ? 0 : 1;
}
