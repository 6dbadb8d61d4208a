/*
 * keylat QMP-SOCKET DEVICE COUNT: key-press latency from QEMU to an
 * inputd client (make bench, tests/bench/usb_bench.sh). COUNT times: a
 * key press (or release) is sent with input-send-event, timed before the
 * command is written, and the client waits for that key event of DEVICE
 * (inputd's name: input0) through libddeinput ($DDE_INPUT). Prints the
 * median and p99 in microseconds of QEMU -> client (send to receipt) and
 * of the part after the driver (the driver's stamp, taken when Linux's
 * input core passed the event on, to receipt): the rest is QEMU's HID
 * model, the USB host controller model and the driver's polling.
 */
#include <stdint.h>
#include <time.h>

#include "../../common/clock.h"
#include "../../libddeinput/client.h"
#include "qmp.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%s: median %.0f us, p99 %.0f us (%d events)\n", what, v[(n - 1) / 2] / 1e3,
	       v[n * 99 / 100 < n ? n * 99 / 100 : n - 1] / 1e3, n);
}

int main(int argc, char **argv)
{
	struct ddeinput *c;
	struct ddeinput_msg *m = malloc(sizeof(*m));
	uint64_t *total, *after;
	char err[256];
	int count, got = 0;

	if (argc != 4 || (count = atoi(argv[3])) < 1 || !m) {
		fprintf(stderr, "usage: keylat QMP-SOCKET DEVICE COUNT ($DDE_INPUT: inputd)\n");
		return 2;
	}
	total = calloc((size_t)count, sizeof(*total));
	after = calloc((size_t)count, sizeof(*after));
	c = ddeinput_connect(NULL, "keylat", err, sizeof(err));
	if (!c) {
		fprintf(stderr, "keylat: %s\n", err);
		return 1;
	}
	if (ddeinput_subscribe(c, argv[2]) || qmp_open(argv[1]) || !total || !after) {
		fprintf(stderr, "keylat: cannot subscribe to %s or reach QMP\n", argv[2]);
		return 1;
	}
	for (int i = 0; i < count; i++) {
		char cmd[256];
		int down = !(i & 1), seen = 0;
		uint64_t t0 = mono_ns();

		snprintf(cmd, sizeof(cmd), "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":"
			 "[{\"type\":\"key\",\"data\":{\"down\":%s,\"key\":{\"type\":\"qcode\","
			 "\"data\":\"a\"}}}]}}\n", down ? "true" : "false");
		if (qmp_command(cmd))
			return 1;
		while (!seen) {
			int r = ddeinput_next(c, m, 5000);

			if (r <= 0) {
				fprintf(stderr, "keylat: event %d did not come within 5 s\n", i);
				return 1;
			}
			if (r != DDEINPUT_EVENTS)
				continue;
			for (uint32_t k = 0; k < m->count; k++)
				if (m->ev[k].type == 1 && m->ev[k].code == 30 && m->ev[k].value == down) {
					uint64_t t1 = mono_ns();

					total[got] = t1 - t0;
					after[got++] = t1 - m->ev[k].time_ns;
					seen = 1;
				}
		}
	}
	report("QEMU -> client", total, got);
	report("driver -> client", after, got);
	ddeinput_close(c);
	return 0;
}
