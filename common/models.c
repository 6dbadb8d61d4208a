/*
 * The device models' table (models.h). PCI ids are QEMU 7.2's; `dde lspci
 * --device NAME` shows what a model really presents.
 */
#include "models.h"

#include <stdio.h>
#include <string.h>

const struct machine_model machine_models[] = {
	/* network cards: -netdev + netdev= */
	{ "e1000", NULL, MODEL_NET, BACKEND_NETDEV, 0x8086, 0x100e, 0, NULL, "Intel 82540EM" },
	{ "e1000e", NULL, MODEL_NET, BACKEND_NETDEV, 0x8086, 0x10d3, 0, NULL, "Intel 82574L" },
	{ "rtl8139", NULL, MODEL_NET, BACKEND_NETDEV, 0x10ec, 0x8139, 0, NULL, "Realtek RTL8139C+" },
	{ "ne2k_pci", NULL, MODEL_NET, BACKEND_NETDEV, 0x10ec, 0x8029, 0, NULL, "Realtek RTL8029 (NE2000)" },
	{ "pcnet", NULL, MODEL_NET, BACKEND_NETDEV, 0x1022, 0x2000, 0, NULL, "AMD PCnet-PCI II" },
	{ "vmxnet3", NULL, MODEL_NET, BACKEND_NETDEV, 0x15ad, 0x07b0, 0, NULL, "VMware vmxnet3" },
	{ "virtio-net-pci", "virtio-net", MODEL_NET, BACKEND_NETDEV, 0x1af4, 0x1000, 0, NULL,
	  "virtio network (transitional)" },
	{ "i82559er", NULL, MODEL_NET, BACKEND_NETDEV, 0x8086, 0x1209, 0, NULL, "Intel 82559ER" },
	{ "i82557b", NULL, MODEL_NET, BACKEND_NETDEV, 0x8086, 0x1229, 0, NULL, "Intel 82557B" },
	{ "i82801", NULL, MODEL_NET, BACKEND_NETDEV, 0x8086, 0x2449, 0, NULL, "Intel 82801 (ICH) LAN" },
	{ "tulip", NULL, MODEL_NET, BACKEND_NETDEV, 0x1011, 0x0019, 0, NULL, "DEC 21143 Tulip" },
	/* storage: a drive of its own, or disks on its IDE/SATA buses */
	{ "nvme", NULL, MODEL_DISK, BACKEND_DRIVE, 0x1b36, 0x0010, 0, "serial=dde-nvme%u",
	  "NVM Express controller" },
	{ "virtio-blk-pci", "virtio-blk", MODEL_DISK, BACKEND_DRIVE, 0x1af4, 0x1001, 0, NULL,
	  "virtio block (transitional)" },
	{ "ahci", NULL, MODEL_DISK, BACKEND_IDE_BUS, 0x8086, 0x2922, MODEL_BUILTIN, NULL,
	  "ICH9 AHCI (q35: the chipset's own at 00:1f.2)" },
	{ "piix3-ide", "ide", MODEL_DISK, BACKEND_IDE_BUS, 0x8086, 0x7010,
	  MODEL_PC_ONLY | MODEL_BUILTIN | MODEL_BUILTIN_PC, NULL, "PIIX3 IDE (pc: the chipset's own)" },
	/* sound */
	{ "ES1370", "es1370", MODEL_SOUND, BACKEND_AUDIODEV, 0x1274, 0x5000, 0, NULL,
	  "Ensoniq AudioPCI ES1370" },
	{ "AC97", "ac97", MODEL_SOUND, BACKEND_AUDIODEV, 0x8086, 0x2415, 0, NULL, "Intel 82801AA AC'97" },
	{ "intel-hda", "hda", MODEL_SOUND, BACKEND_HDA_CODEC, 0x8086, 0x2668, 0, NULL,
	  "Intel ICH6 HD Audio" },
	{ "ich9-intel-hda", NULL, MODEL_SOUND, BACKEND_HDA_CODEC, 0x8086, 0x293e, 0, NULL,
	  "Intel ICH9 HD Audio" },
	/* USB host controllers */
	{ "qemu-xhci", "xhci", MODEL_USB, BACKEND_NONE, 0x1b36, 0x000d, 0, NULL, "xHCI (USB 3)" },
	{ "ich9-usb-ehci1", "ehci", MODEL_USB, BACKEND_NONE, 0x8086, 0x293a, 0, NULL,
	  "ICH9 EHCI (USB 2)" },
	{ "usb-ehci", NULL, MODEL_USB, BACKEND_NONE, 0x8086, 0x24cd, 0, NULL, "EHCI (USB 2)" },
	{ "piix3-usb-uhci", "uhci", MODEL_USB, BACKEND_NONE, 0x8086, 0x7020, 0, NULL,
	  "PIIX3 UHCI (USB 1.1)" },
	{ "pci-ohci", "ohci", MODEL_USB, BACKEND_NONE, 0x106b, 0x003f, 0, NULL, "OHCI (USB 1.1)" },
};
const unsigned machine_nmodels = sizeof(machine_models) / sizeof(machine_models[0]);

const struct machine_model *machine_model_find(const char *name)
{
	for (unsigned i = 0; i < machine_nmodels; i++)
		if (!strcmp(machine_models[i].name, name) ||
		    (machine_models[i].alias && !strcmp(machine_models[i].alias, name)))
			return &machine_models[i];
	return NULL;
}

const char *model_class_name(enum model_class c)
{
	static const char *const names[] = {
		[MODEL_NET] = "net", [MODEL_DISK] = "disk", [MODEL_SOUND] = "sound",
		[MODEL_USB] = "usb", [MODEL_OTHER] = "other",
	};

	return names[c];
}

void machine_model_names(enum model_class c, char *out, unsigned long cap)
{
	unsigned n = 0, k = 0;

	for (unsigned i = 0; i < machine_nmodels; i++)
		n += machine_models[i].cls == c;
	out[0] = 0;
	for (unsigned i = 0; i < machine_nmodels; i++) {
		const struct machine_model *m = &machine_models[i];
		size_t len = strlen(out);

		if (m->cls != c)
			continue;
		k++;
		snprintf(out + len, cap - len, "%s%s", k == 1 ? "" : k == n ? " or " : ", ",
			 m->alias ? m->alias : m->name);
	}
}
