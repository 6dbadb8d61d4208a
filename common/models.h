/*
 * The device models the project knows: what each QEMU device is (its
 * class, the backend it needs, its PCI id, its quirks), in one table
 * (models.c). Every other place — the option parser, the QEMU platform,
 * the front end's driver choice — asks here. A model QEMU has but this
 * table lacks still works with --device (its backend then given as
 * disk=/net=), only without the conveniences the table adds.
 */
#ifndef DDE_MODELS_H
#define DDE_MODELS_H

#include <stdint.h>

enum model_class { MODEL_NET, MODEL_DISK, MODEL_SOUND, MODEL_USB, MODEL_OTHER };

enum model_backend {
	BACKEND_NONE,		/* a device on its own */
	BACKEND_NETDEV,		/* -netdev ... + netdev=ID */
	BACKEND_DRIVE,		/* -drive if=none ... + drive=ID */
	BACKEND_IDE_BUS,	/* a controller: disks are ide-hd devices on its buses */
	BACKEND_AUDIODEV,	/* -audiodev ... + audiodev=ID */
	BACKEND_HDA_CODEC,	/* an HD Audio controller: the output is a codec on its bus */
};

/* flags */
#define MODEL_PC_ONLY     0x1	/* exists on --machine pc only (the PIIX's IDE) */
#define MODEL_BUILTIN     0x2	/* the chipset has it: q35's AHCI, pc's IDE */
#define MODEL_BUILTIN_PC  0x4	/* ... built into pc only */

struct machine_model {
	const char *name;	/* QEMU's -device name */
	const char *alias;	/* the short name --disk/--nic/--sound take, or NULL */
	enum model_class cls;
	enum model_backend backend;
	uint16_t vendor, device;	/* its PCI id as QEMU makes it */
	unsigned flags;
	const char *props;	/* properties always given ("%u": the device's index) */
	const char *what;	/* a few words for --help and dde drivers */
};

extern const struct machine_model machine_models[];
extern const unsigned machine_nmodels;

/* the model called NAME (QEMU's name or the alias), or NULL */
const struct machine_model *machine_model_find(const char *name);

/* "net", "disk", "sound", "usb", "other" */
const char *model_class_name(enum model_class c);

/* the known models of class C as "a, b or c" (for error lines) */
void machine_model_names(enum model_class c, char *out, unsigned long cap);

#endif
