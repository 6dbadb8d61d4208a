/* Unit-test helper: run a function that should panic in a child process. */
#ifndef DDE_TEST_CHILD_H
#define DDE_TEST_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Run @fn in a child process; returns the signal that ended it, or 0 if it
 * returned normally (the child then exits 0). Include after <cmocka.h>.
 */
static inline int run_in_child(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches SIGABRT to fail a test: the child must really die */
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	assert_true(WIFEXITED(status));
	return 0;
}

#endif
