/*
 * qmpsend SOCKET EVENT[+EVENT...]...: send input events to
 * QEMU through its QMP monitor (dde run --qmp SOCKET), one
 * `input-send-event` command per argument (the events joined by '+' go
 * in one command, which QEMU delivers as one report), in order.
 *
 *   key:QCODE:down|up     a key by QEMU's name ("a", "shift", "ret", "f1")
 *   btn:BUTTON:down|up    left, right, middle, wheel-up, wheel-down ...
 *   rel:x|y:N             relative motion (a mouse)
 *   abs:x|y:N             absolute position, 0..32767 (a tablet)
 *   sleep:MS              a pause between commands
 *
 * QEMU hands each event to the input device of its kind that was activated
 * last (a keyboard; a HID pointer is active once its driver polls it):
 * input-send-event's "device" argument needs a display console, which dde
 * run's machine has none of. Exit 0 when QEMU accepted every command, 1
 * with QEMU's error line if not, 2 on bad usage.
 */
#include <time.h>

#include "qmp.h"

/* one EVENT as QMP's InputEvent into @out; 0, or -1 if it is not one */
static int event_json(const char *ev, char *out, size_t cap)
{
	char kind[8], name[32], arg[16];

	if (sscanf(ev, "%7[a-z]:%31[a-z0-9_-]:%15[-0-9a-z]", kind, name, arg) != 3)
		return -1;
	if (!strcmp(kind, "key") && (!strcmp(arg, "down") || !strcmp(arg, "up")))
		snprintf(out, cap, "{\"type\":\"key\",\"data\":{\"down\":%s,\"key\":{\"type\":\"qcode\","
			 "\"data\":\"%s\"}}}", arg[0] == 'd' ? "true" : "false", name);
	else if (!strcmp(kind, "btn") && (!strcmp(arg, "down") || !strcmp(arg, "up")))
		snprintf(out, cap, "{\"type\":\"btn\",\"data\":{\"down\":%s,\"button\":\"%s\"}}",
			 arg[0] == 'd' ? "true" : "false", name);
	else if ((!strcmp(kind, "rel") || !strcmp(kind, "abs")) &&
		 (!strcmp(name, "x") || !strcmp(name, "y")))
		snprintf(out, cap, "{\"type\":\"%s\",\"data\":{\"axis\":\"%s\",\"value\":%ld}}", kind,
			 name, strtol(arg, NULL, 10));
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int first = 2;

	if (argc <= first) {
		fprintf(stderr, "usage: qmpsend SOCKET EVENT[+EVENT...]...\n");
		return 2;
	}
	if (qmp_open(argv[1]))
		return 1;
	for (int i = first; i < argc; i++) {
		char cmd[8192], events[7000] = "", one[512], *save = NULL, copy[1024];

		if (!strncmp(argv[i], "sleep:", 6)) {
			long ms = strtol(argv[i] + 6, NULL, 10);
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
			continue;
		}
		snprintf(copy, sizeof(copy), "%s", argv[i]);
		for (char *ev = strtok_r(copy, "+", &save); ev; ev = strtok_r(NULL, "+", &save)) {
			if (event_json(ev, one, sizeof(one))) {
				fprintf(stderr, "qmpsend: bad event '%s' (key:QCODE:down|up, "
					"btn:BUTTON:down|up, rel:x|y:N, abs:x|y:N)\n", ev);
				return 2;
			}
			if (strlen(events) + strlen(one) + 2 >= sizeof(events)) {
				fprintf(stderr, "qmpsend: too many events in '%s'\n", argv[i]);
				return 2;
			}
			strcat(events, events[0] ? "," : "");
			strcat(events, one);
		}
		snprintf(cmd, sizeof(cmd), "{\"execute\":\"input-send-event\",\"arguments\":{"
			 "\"events\":[%s]}}\n", events);
		if (qmp_command(cmd))
			return 1;
	}
	close(fd);
	return 0;
}
