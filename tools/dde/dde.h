/* The dde front end's subcommands and shared helpers. */
#ifndef DDE_DDE_H
#define DDE_DDE_H

#include <stdbool.h>

#include "../../common/machine.h"

#define DDE_MAX_MARGS 64

/* Machine options as given, to hand on to ddeio verbatim. */
struct machine_args {
	struct machine_config cfg;	/* parsed, for checks and messages */
	char *argv[DDE_MAX_MARGS];
	int argc;
};

/*
 * If getopt_long's @opt is a machine option, apply it; returns 1 if it was
 * one, 0 if not, -1 (after printing one line) if its value is wrong.
 */
int dde_machine_option(struct machine_args *m, int opt, const char *name,
		       const char *value);

int dde_lspci(int argc, char **argv);
int dde_drivers(int argc, char **argv);
int dde_input(int argc, char **argv);
int dde_run(int argc, char **argv);
int dde_ko(int argc, char **argv);
int dde_efi(int argc, char **argv);
int dde_disks(int argc, char **argv);
int dde_sound(int argc, char **argv);
int dde_net(int argc, char **argv);
int dde_sweep(int argc, char **argv);
int dde_status(int argc, char **argv);
int dde_faults(int argc, char **argv);

#endif
