/*
 * Linux's names of the input event types and codes, as evtest prints
 * them. The table is made at build time from the host's
 * <linux/input-event-codes.h> (the Makefile's rule for input_names.h):
 * each "#define NAME number" of a type's prefix, in the header's order.
 * Where several names share a number, the header defines the range's
 * name first and the code's own after it (BTN_MOUSE, then BTN_LEFT;
 * BTN_MISC, then BTN_0): the last one defined is the one printed.
 */
#include <errno.h>
#include <string.h>
#include <linux/input-event-codes.h>

#include "client.h"

struct code_name {
	int type;		/* -1: the name of a type (EV_KEY) */
	unsigned code;
	const char *name;
};

static const struct code_name names[] = {
#include "input_names.h"
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

static const char *lookup(int type, unsigned code)
{
	const char *found = NULL;

	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].type == type && names[i].code == code)
			found = names[i].name;
	return found;
}

const char *ddeinput_type_name(unsigned type)
{
	return lookup(-1, type);
}

const char *ddeinput_code_name(unsigned type, unsigned code)
{
	if (type >= EV_CNT)
		return NULL;
	return lookup((int)type, code);
}

int ddeinput_code_by_name(const char *name, unsigned *type, unsigned *code)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].type >= 0 && !strcmp(names[i].name, name)) {
			*type = (unsigned)names[i].type;
			*code = names[i].code;
			return 0;
		}
	return -ENOENT;
}
