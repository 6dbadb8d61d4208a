/* DSweeper's terminal UI (ui.c) */
#ifndef DSWEEPER_UI_H
#define DSWEEPER_UI_H

/*
 * Run the full-screen UI over the block server of `run` (sweep.h), with
 * run.write/m/verify/blank as the starting choices; @report: the report
 * file to write at the end, or NULL. Returns the exit status.
 */
int ui_main(const char *report);

#endif
