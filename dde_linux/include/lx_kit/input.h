/*
 * The input class bridge: the Linux side's glue (dde_linux/usb/input.c)
 * hands every input device Linux's input core registers, and its events,
 * to the input server; the host side (lx_kit/input.c) speaks inputd's
 * protocol (libddeinput/proto.h: plain fixed-width types only, shared by
 * both sides).
 */
#ifndef LX_KIT_INPUT_H
#define LX_KIT_INPUT_H

#include "../../../libddeinput/proto.h"

/*
 * Attach to the input server ($DDE_INPUT): 0, 1 if the process was started
 * without one, or -errno. @output(@arg) runs on the Linux CPU when a client
 * sent output events (LEDs); lx_kit_input_output takes them.
 */
int lx_kit_input_attach(void (*output)(void *arg), void *arg);

/* A device (dev->id: the glue's number for it) came, or went. 0 or -errno. */
int lx_kit_input_device(const struct ddeinput_device *dev);
int lx_kit_input_gone(unsigned id);

/* One event of device @id, stamped now; sent at its report's end (SYN_REPORT)
 * or when a message is full. */
void lx_kit_input_event(unsigned id, unsigned type, unsigned code, int value);

/* The next output event a client sent: 1 (into @id and @ev), or 0. */
int lx_kit_input_output(unsigned *id, struct ddeinput_event *ev);

#endif
