/*
 * LEDs (drivers/leds) and the entropy pool: no LEDs blink, disks feed no pool.
 * Each answers as Linux does when the facility is configured out or
 * absent, which is what the drivers are written to cope with. Nothing here
 * pretends to have done work someone later relies on.
 */
#include <linux/async.h>
#include <linux/attribute_container.h>
#include <linux/libata.h>
#include <linux/pm_runtime.h>
#include <linux/transport_class.h>
#include <scsi/scsi_device.h>
#include <linux/cdev.h>
#include <linux/cpuhotplug.h>
#include <linux/crash_dump.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dmi.h>
#include <linux/fs.h>
#include <linux/hwmon.h>
#include <linux/kobject.h>
#include <linux/leds.h>
#include <linux/module.h>
#include <linux/pm_qos.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>
#include <xen/xen.h>

#include "lx_emul.h"

#include "lx_emul.h"

/* ---- LEDs and the entropy pool: no LEDs blink, disks feed no pool ---- */

void ledtrig_disk_activity(bool write)
{
}

void add_disk_randomness(struct gendisk *disk)
{
}

/* triggers (the audio mute LEDs' ledtrig-audio): registered, never lit */
int led_trigger_register(struct led_trigger *trigger)
{
	INIT_LIST_HEAD(&trigger->led_cdevs);
	spin_lock_init(&trigger->leddev_list_lock);
	return 0;
}

void led_trigger_unregister(struct led_trigger *trigger)
{
}

void led_trigger_event(struct led_trigger *trigger, enum led_brightness event)
{
}

void led_set_brightness_nosleep(struct led_classdev *led_cdev, unsigned int value)
{
	led_cdev->brightness = min(value, led_cdev->max_brightness);
}

/* LED devices (a codec's mute LEDs): kept by their owner, shown nowhere */
int led_classdev_register_ext(struct device *parent, struct led_classdev *led_cdev,
			      struct led_init_data *init_data)
{
	return 0;
}

void led_classdev_unregister(struct led_classdev *led_cdev)
{
}

/* a trigger made by name (usbcore's usb-gadget/usb-host activity triggers) */
void led_trigger_register_simple(const char *name, struct led_trigger **trigger)
{
	struct led_trigger *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (t) {
		t->name = name;
		led_trigger_register(t);
	}
	*trigger = t;
}

void led_trigger_unregister_simple(struct led_trigger *trigger)
{
	kfree(trigger);
}

void led_trigger_blink_oneshot(struct led_trigger *trigger, unsigned long *delay_on,
			       unsigned long *delay_off, int invert)
{
}

void add_device_randomness(const void *buf, size_t len)
{
}

void add_input_randomness(unsigned int type, unsigned int code, unsigned int value)
{
}
