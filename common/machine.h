/*
 * The machine description: what `--machine`, `--disk`, `--nic`, `--sound`
 * and `--config` say, shared by every tool so that the options mean the
 * same everywhere. Parsing only; the qemu platform turns it into a QEMU
 * command line.
 */
#ifndef DDE_MACHINE_H
#define DDE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models.h"

#define MACHINE_MAX_DISKS 8
#define MACHINE_MAX_NICS 4
#define MACHINE_MAX_SOUND 2
#define MACHINE_MAX_DEVICES 8
#define MACHINE_MAX_VFIO 8
#define MACHINE_MAX_USB 3
#define MACHINE_MAX_USB_DEVICES 8
#define MACHINE_VFIO_NAME 16	/* "0000:BB:SS.F" */

enum machine_type { MACHINE_Q35, MACHINE_PC };
enum machine_accel { ACCEL_AUTO, ACCEL_TCG, ACCEL_KVM };
enum nic_net { NET_USER, NET_UDP, NET_NONE };

/* What every device has: its model and the QEMU properties given for it. */
struct machine_dev {
	const struct machine_model *model;	/* NULL: one QEMU has, the table lacks */
	char name[32];		/* QEMU's -device name */
	char props[256];	/* further PROP=V,... for QEMU, or "" */
};

struct machine_disk {
	struct machine_dev dev;
	char file[512];
	char blkdebug[512];	/* QEMU blkdebug config (error injection), or "" */
};

struct machine_nic {
	struct machine_dev dev;
	char mac[18];		/* "" = QEMU's default */
	enum nic_net net;
	uint16_t local_port;	/* net=udp: QEMU's own UDP port */
	uint16_t remote_port;	/* net=udp: the peer's UDP port */
	int revision;		/* the PCI revision drivers see; -1: the model's own */
};

struct machine_sound {
	struct machine_dev dev;
	char wav[512];		/* "" = play into the void */
	bool mix;		/* the wav file through QEMU's mixing engine (volume, mute) */
};

/* A USB device on one of the machine's USB host controllers. */
struct machine_usb_device {
	char model[24];		/* QEMU's: usb-kbd, usb-mouse, usb-tablet, usb-storage */
	char file[512];		/* usb-storage: the raw image */
	unsigned ctrl;		/* its host controller: usb[ctrl] (QEMU's bus usbCTRL.0) */
};

struct machine_config {
	enum machine_type type;
	enum machine_accel accel;
	unsigned dma_slots;	/* DMA regions, one per driver at a time */
	unsigned dma_mib;	/* size of each */
	struct machine_disk disk[MACHINE_MAX_DISKS];
	unsigned ndisks;
	struct machine_nic nic[MACHINE_MAX_NICS];
	unsigned nnics;
	struct machine_sound sound[MACHINE_MAX_SOUND];
	unsigned nsound;
	struct machine_dev usb[MACHINE_MAX_USB];	/* USB host controllers, QEMU ids usb0.. */
	unsigned nusb;
	struct machine_usb_device usbdev[MACHINE_MAX_USB_DEVICES];
	unsigned nusbdev;
	struct machine_dev device[MACHINE_MAX_DEVICES];	/* without a backend */
	unsigned ndevices;
	char monitor[108];	/* QEMU monitor socket path, or "" */
	char control_monitor[108];	/* a second one, dde run's own (hotplug), or "" */
	char qmp[108];		/* QEMU's QMP monitor socket path (input-send-event), or "" */
	unsigned hotplug_ports;	/* q35: hot-plug capable PCIe root ports hp0.. */
	enum machine_iommu { IOMMU_AUTO, IOMMU_ON, IOMMU_OFF } iommu;	/* auto: on for q35 */
	bool no_msi;		/* --msi off: devices interrupt through INTx only */
	char vfio[MACHINE_MAX_VFIO][MACHINE_VFIO_NAME];	/* --vfio: host devices */
	unsigned nvfio;
};

/* Defaults: q35, accel auto, 8 DMA regions of 64 MiB, no devices. */
void machine_config_init(struct machine_config *cfg);

/*
 * Apply one machine option: @name is "machine", "accel", "device", "disk",
 * "nic", "sound", "usb", "usb-device", "dma-mib", "dma-slots", "monitor" or "config" (which reads a file),
 * @value its argument. Returns 0, or -1 with a one-line reason in @err.
 */
int machine_config_set(struct machine_config *cfg, const char *name,
		       const char *value, char *err, size_t errlen);

/* Check cross-option rules (e.g. ide needs --machine pc); 0 or -1 + @err. */
int machine_config_check(const struct machine_config *cfg, char *err,
			 size_t errlen);

/*
 * getopt_long entries for the machine options, the same in every tool.
 * Their `val`s are MACHINE_OPT_FIRST..; pass opts[index].name and optarg
 * to machine_config_set().
 */
#define MACHINE_OPT_FIRST 0x1000
#define MACHINE_GETOPT_OPTIONS                                              \
	{ "machine", required_argument, 0, MACHINE_OPT_FIRST },             \
	{ "accel", required_argument, 0, MACHINE_OPT_FIRST + 1 },           \
	{ "disk", required_argument, 0, MACHINE_OPT_FIRST + 2 },            \
	{ "nic", required_argument, 0, MACHINE_OPT_FIRST + 3 },             \
	{ "sound", required_argument, 0, MACHINE_OPT_FIRST + 4 },           \
	{ "dma-mib", required_argument, 0, MACHINE_OPT_FIRST + 5 },         \
	{ "dma-slots", required_argument, 0, MACHINE_OPT_FIRST + 6 },       \
	{ "config", required_argument, 0, MACHINE_OPT_FIRST + 7 },          \
	{ "monitor", required_argument, 0, MACHINE_OPT_FIRST + 8 },         \
	{ "device", required_argument, 0, MACHINE_OPT_FIRST + 9 },          \
	{ "iommu", required_argument, 0, MACHINE_OPT_FIRST + 10 },          \
	{ "msi", required_argument, 0, MACHINE_OPT_FIRST + 11 },            \
	{ "vfio", required_argument, 0, MACHINE_OPT_FIRST + 12 },           \
	{ "hotplug-ports", required_argument, 0, MACHINE_OPT_FIRST + 13 },  \
	{ "control-monitor", required_argument, 0, MACHINE_OPT_FIRST + 14 }, \
	{ "usb", required_argument, 0, MACHINE_OPT_FIRST + 15 },            \
	{ "usb-device", required_argument, 0, MACHINE_OPT_FIRST + 16 },     \
	{ "qmp", required_argument, 0, MACHINE_OPT_FIRST + 17 }
#define MACHINE_OPT_LAST (MACHINE_OPT_FIRST + 17)
#define MACHINE_MAX_HOTPLUG_PORTS 8

/* The help text for the machine options, for every tool's --help. */
extern const char machine_options_help[];

const char *machine_type_name(enum machine_type t);

/* The USB device models --usb-device takes (QEMU's names), "a, b or c". */
extern const char machine_usb_device_models[];
/* @model is one of them */
bool machine_usb_device_known(const char *model);

/* Whether the machine gets an IOMMU that confines each device's DMA. */
bool machine_iommu_on(const struct machine_config *cfg);

#endif
