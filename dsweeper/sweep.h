/*
 * DSweeper's engine: sweeps partitions through the block stack (libddeblk
 * to bddf to the reused drivers), pass by pass, and keeps the proof: what
 * was written, verified and read, which sectors failed, what range every
 * pass completed. Its front ends are the command line (main.c) and the
 * terminal UI (ui.c); both watch the progress fields below.
 */
#ifndef DSWEEPER_SWEEP_H
#define DSWEEPER_SWEEP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <sodium.h>

#include <ddeblk/ddeblk.h>

#define MAX_TARGETS 32
#define MAX_ERRORS 64
#define MAX_ROUNDS 16

/* a pass: one byte everywhere, or the random stream */
struct pass_def {
	int random;
	unsigned char byte;
	const char *name;
};

struct method {
	const char *name;	/* --mode's value */
	const char *title;	/* for people */
	unsigned n;
	struct pass_def p[3];
};

extern const struct method methods[];
extern const unsigned nmethods;

enum { VERIFY_NONE, VERIFY_LAST, VERIFY_ALL };

struct bad {
	uint64_t sector, count;	/* partition-relative; count 0: not of a sector (a flush) */
	const char *what;	/* "write", "read", "verify", "flush" */
};

enum { T_WAITING, T_RUNNING, T_DONE };

struct target {
	char name[DDEBLK_NAME_MAX];
	struct ddeblk *b;
	struct ddeblk_info info;
	uint64_t written, verified, read;	/* bytes */
	/*
	 * bytes from the start that every pass wrote (swept), and for which
	 * the whole job is done: every pass and every verification asked
	 * (completed); readonly: read
	 */
	uint64_t swept, completed;
	unsigned char seed[crypto_stream_chacha20_KEYBYTES];	/* random passes: its own stream */
	struct bad bad[MAX_ERRORS];
	unsigned nbad, lost;	/* errors recorded, and beyond MAX_ERRORS */
	double seconds;
	/* progress, for the front ends */
	int state;		/* T_* */
	char phase[64];		/* "pass 1/3 (zeros)", "verifying pass 3/3 (random)" ... */
	uint64_t work_done, work_total;	/* bytes over all its passes and verifications */
	double started;		/* now() when it began */
};

struct sweep {
	const char *server;	/* NULL: $DDE_BLK */
	int write, verify, blank;
	const struct method *m;
	unsigned rounds;	/* the method, this many times over (nwipe's --rounds) */
	struct target t[MAX_TARGETS];
	unsigned n;
	char started[32];	/* UTC, ISO 8601 */
	double t0, seconds;	/* now() at the start; the whole run's time */
	double first_write;	/* seconds from the start to the first write done (-1: none) */
	char error[160];	/* why the run stopped early, if not by a signal or key */
	/* called often while a sweep runs (5 times a second at least), and at the end of each step */
	void (*tick)(int step_over);
};

extern struct sweep run;
extern volatile sig_atomic_t interrupted;	/* set to stop the sweep cleanly */

double now(void);

/* Start: open every target (run.t[0..run.n)); an error names the partition. */
int sweep_open(char *err, size_t cap);
/* Sweep the targets, all at once: each pass, its flush, its verification. */
void sweep_all(void);
void sweep_close(void);

/* 1 when every byte of every target was written (and verified) */
int sweep_ok(void);
const char *sweep_result(void);	/* "ok", "failed" or "interrupted" */
int sweep_has_random(void);
unsigned sweep_passes(void);	/* the method's passes times the rounds, and the blanking */
/* the one-line JSON summary; the report file for people (0 or -errno) */
void sweep_summary(FILE *f);
int sweep_report(const char *path);

/* --print-stream SEED:BYTES */
int sweep_print_stream(const char *arg);

#endif
