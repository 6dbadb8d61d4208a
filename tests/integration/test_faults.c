/*
 * Faults: a driver killed with SIGKILL releases its device (a new driver
 * can claim it); SIGKILL to ddeio or to `dde run` leaves no QEMU (and no
 * ddeio) behind within a second, and no file in /dev/shm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../ddekit/client.h"
#include "harness.h"

static int count_shm(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Wait up to @ms for @pid to be gone; true if it is. */
static bool gone_within(pid_t pid, int ms)
{
	for (int i = 0; i < ms; i += 10) {
		if (!harness_alive(pid))
			return true;
		usleep(10000);
	}
	return !harness_alive(pid);
}

static pid_t child_of(pid_t parent, int wait_ms)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	for (int i = 0; i < wait_ms; i += 10) {
		FILE *f = fopen(path, "r");
		pid_t pid = 0;

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				pid = (pid_t)atoi(buf);
			fclose(f);
		}
		if (pid > 0)
			return pid;
		usleep(10000);
	}
	return 0;
}

/* A driver that says when it holds its grant, then holds it forever. */
static int hold_forever(void *arg)
{
	if (write(*(int *)arg, "g", 1) != 1)
		return 1;
	for (;;)
		pause();
	return 0;
}

static void test_killed_driver_releases_device(void **state)
{
	const char *args[] = { "--nic", "e1000", NULL };
	struct harness h;
	struct ddeio_device devs[16];
	const struct ddeio_device *e;
	int n;

	assert_int_equal(harness_start(&h, args), 0);
	n = harness_list(&h, devs, 16);
	e = harness_find(devs, n, 0x8086, 0x100e);
	assert_non_null(e);
	int granted[2], r;
	char c;

	assert_int_equal(pipe(granted), 0);
	pid_t holder = harness_fork_driver(&h, harness_slot(e), hold_forever, &granted[1]);

	assert_int_equal(read(granted[0], &c, 1), 1);
	close(granted[0]);
	close(granted[1]);
	/* while the holder lives, a second claim is refused */
	assert_int_equal(ddeio_connect(h.socket, "claimer", &e->bdf, 1), -EBUSY);
	kill(holder, SIGKILL);
	assert_int_equal(harness_wait(holder), 128 + SIGKILL);
	/* the release happens as soon as ddeio sees the socket close */
	for (int i = 0; i < 100 && (r = ddeio_connect(h.socket, "claimer", &e->bdf, 1)); i++)
		usleep(10000);
	assert_int_equal(r, 0);
	assert_int_equal(ddekit_pci_count(), 1);
	uint32_t id;

	assert_int_equal(ddekit_pci_config_read(0, 0, 4, &id), 0);
	assert_int_equal(id, 0x100e8086);
	ddeio_disconnect();
	harness_stop(&h);
}

static void test_killed_ddeio_leaves_nothing(void **state)
{
	const char *args[] = { "--nic", "e1000", NULL };
	int shm_before = count_shm();
	struct harness h;
	pid_t qemu;

	assert_int_equal(harness_start(&h, args), 0);
	qemu = harness_qemu_pid(&h);
	assert_true(qemu > 0);
	assert_true(harness_alive(qemu));
	assert_int_equal(count_shm(), shm_before);
	kill(h.ddeio, SIGKILL);
	waitpid(h.ddeio, NULL, 0);
	h.ddeio = 0;
	assert_true(gone_within(qemu, 1000));
	assert_int_equal(count_shm(), shm_before);
}

static void test_killed_dde_run_leaves_nothing(void **state)
{
	char dde[PATH_MAX];
	int shm_before = count_shm();
	pid_t parent = getpid(), run, ddeio, qemu;

	harness_path("bin/dde", dde, sizeof(dde));
	run = fork();
	if (run == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(null, 2);
		execl(dde, dde, "run", "--nic", "e1000", (char *)NULL);
		_exit(127);
	}
	ddeio = child_of(run, 5000);
	assert_true(ddeio > 0);
	qemu = child_of(ddeio, 5000);
	assert_true(qemu > 0);
	kill(run, SIGKILL);
	waitpid(run, NULL, 0);
	assert_true(gone_within(ddeio, 1000));
	assert_true(gone_within(qemu, 1000));
	assert_int_equal(count_shm(), shm_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_driver_releases_device),
		cmocka_unit_test(test_killed_ddeio_leaves_nothing),
		cmocka_unit_test(test_killed_dde_run_leaves_nothing),
	};

	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
