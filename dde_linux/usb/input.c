/*
 * Input class glue: every input device Linux's input core registers in
 * this driver process (usbhid's keyboards, mice and tablets through
 * hid-input) is announced to the input server, and its events are passed
 * on as the core hands them to handlers. It is an input handler like
 * evdev, bound to every device: what evdev would give a program reading
 * /dev/input/eventN, inputd gives its clients. Output events clients send
 * (LEDs) are injected through the same handle, as evdev's write does.
 */
#include <linux/input.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <lx_kit/input.h>
#include "lx_emul.h"

#define MAX_HANDLES 32

static struct input_handle *handles[MAX_HANDLES];	/* by the id inputd knows */
static DEFINE_SPINLOCK(handles_lock);
static bool attached;

static void describe(struct input_dev *dev, unsigned id, struct ddeinput_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = id;
	strscpy(d->name, dev->name ?: "", sizeof(d->name));
	strscpy(d->phys, dev->phys ?: "", sizeof(d->phys));
	d->bustype = dev->id.bustype;
	d->vendor = dev->id.vendor;
	d->product = dev->id.product;
	d->version = dev->id.version;
	/* Linux's bitmaps are longs, little-endian: bit n is in byte n / 8 */
	memcpy(d->ev, dev->evbit, sizeof(d->ev));
	memcpy(d->key, dev->keybit, sizeof(d->key));
	memcpy(d->rel, dev->relbit, sizeof(d->rel));
	memcpy(d->abs, dev->absbit, sizeof(d->abs));
	memcpy(d->msc, dev->mscbit, sizeof(d->msc));
	memcpy(d->led, dev->ledbit, sizeof(d->led));
	for (unsigned a = 0; dev->absinfo && a < ABS_CNT && a < DDEINPUT_ABS_CNT; a++) {
		if (!test_bit(a, dev->absbit))
			continue;
		d->absinfo[a].value = dev->absinfo[a].value;
		d->absinfo[a].minimum = dev->absinfo[a].minimum;
		d->absinfo[a].maximum = dev->absinfo[a].maximum;
		d->absinfo[a].fuzz = dev->absinfo[a].fuzz;
		d->absinfo[a].flat = dev->absinfo[a].flat;
		d->absinfo[a].resolution = dev->absinfo[a].resolution;
	}
	d->rep_delay = dev->rep[REP_DELAY];
	d->rep_period = dev->rep[REP_PERIOD];
}

static unsigned handle_id(struct input_handle *handle)
{
	return (unsigned long)handle->private;
}

static void dde_input_events(struct input_handle *handle, const struct input_value *vals,
			     unsigned int count)
{
	for (unsigned i = 0; i < count; i++)
		lx_kit_input_event(handle_id(handle), vals[i].type, vals[i].code, vals[i].value);
}

static int dde_input_connect(struct input_handler *handler, struct input_dev *dev,
			     const struct input_device_id *id)
{
	static struct ddeinput_device d;	/* large: not on the stack */
	struct input_handle *handle;
	unsigned long flags;
	int slot, r;

	handle = kzalloc(sizeof(*handle), GFP_KERNEL);
	if (!handle)
		return -ENOMEM;
	spin_lock_irqsave(&handles_lock, flags);
	for (slot = 0; slot < MAX_HANDLES && handles[slot]; slot++)
		;
	if (slot < MAX_HANDLES)
		handles[slot] = handle;
	spin_unlock_irqrestore(&handles_lock, flags);
	if (slot == MAX_HANDLES) {
		kfree(handle);
		pr_warn("input: %s: more than %d input devices: not served\n", dev->name,
			MAX_HANDLES);
		return -ENOSPC;
	}
	handle->dev = dev;
	handle->handler = handler;
	handle->name = "dde";
	handle->private = (void *)(unsigned long)slot;
	r = input_register_handle(handle);
	if (r)
		goto fail;
	r = input_open_device(handle);
	if (r) {
		input_unregister_handle(handle);
		goto fail;
	}
	describe(dev, slot, &d);
	pr_info("input: %s (%s) to the input server\n", d.name, d.phys);
	r = lx_kit_input_device(&d);
	if (r < 0)
		pr_err("input: %s: cannot announce to the input server: %d\n", d.name, r);
	return 0;
fail:
	spin_lock_irqsave(&handles_lock, flags);
	handles[slot] = NULL;
	spin_unlock_irqrestore(&handles_lock, flags);
	kfree(handle);
	return r;
}

static void dde_input_disconnect(struct input_handle *handle)
{
	unsigned id = handle_id(handle);
	unsigned long flags;

	pr_info("input: %s gone\n", handle->dev->name);
	lx_kit_input_gone(id);
	input_close_device(handle);
	input_unregister_handle(handle);
	spin_lock_irqsave(&handles_lock, flags);
	handles[id] = NULL;
	spin_unlock_irqrestore(&handles_lock, flags);
	kfree(handle);
}

/* output events from clients (the server lets only EV_LED and EV_REP through) */
static void output(void *arg)
{
	struct ddeinput_event ev;
	unsigned id;

	while (lx_kit_input_output(&id, &ev)) {
		struct input_handle *handle = id < MAX_HANDLES ? handles[id] : NULL;

		if (handle && (ev.type == EV_LED || ev.type == EV_REP || ev.type == EV_SYN))
			input_inject_event(handle, ev.type, ev.code, ev.value);
	}
}

static const struct input_device_id dde_input_ids[] = {
	{ .driver_info = 1 },	/* every device */
	{ },
};

static struct input_handler dde_input_handler = {
	.events = dde_input_events,
	.connect = dde_input_connect,
	.disconnect = dde_input_disconnect,
	.name = "dde",
	.id_table = dde_input_ids,
};

static int __init dde_input_init(void)
{
	int r = lx_kit_input_attach(output, NULL);

	if (r < 0)	/* started to serve inputd: without it, stop */
		panic("cannot attach to the input server ($DDE_INPUT): %pe", ERR_PTR(r));
	attached = r == 0;
	if (!attached)
		pr_info("input: no input server ($DDE_INPUT): events are not passed on\n");
	return input_register_handler(&dde_input_handler);
}
/* before the drivers' initcalls register devices (the input core's is subsys) */
fs_initcall(dde_input_init);
