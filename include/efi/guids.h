/*
 * efi/guids: the GUIDs of the UEFI and PI specifications and of edk2's
 * drivers that the driver host uses or names in its messages.
 *
 * Values are from the specifications (UEFI 2.x, PI 1.x); each one in
 * efi/guids.c's table says whether it was seen in the firmware images
 * (OVMF, AAVMF, iPXE's option ROMs) that the host runs.
 */
#ifndef EFI_GUIDS_H
#define EFI_GUIDS_H

#include <stdint.h>

/*
 * A GUID as UEFI stores it: data1..data3 little-endian, then 8 bytes in
 * order (so "4cf5b200-68b8-4ca5-9eec-b23e3f50029a" is
 * { 0x4cf5b200, 0x68b8, 0x4ca5, { 0x9e, 0xec, 0xb2, 0x3e, 0x3f, 0x50, 0x02, 0x9a } }).
 */
struct efi_guid {
	uint32_t d1;
	uint16_t d2, d3;
	uint8_t d4[8];
};

_Static_assert(sizeof(struct efi_guid) == 16, "EFI_GUID is 16 bytes");

#define EFI_GUID_INIT(a, b, c, e0, e1, e2, e3, e4, e5, e6, e7) \
	{ (a), (b), (c), { (e0), (e1), (e2), (e3), (e4), (e5), (e6), (e7) } }

/* the name of a GUID the UEFI spec or edk2's drivers use ("EFI_PCI_IO_PROTOCOL"), or NULL */
const char *efi_guid_name(const uint8_t guid[16]);

/* 1 when A and B are the same GUID, else 0 */
int efi_guid_eq(const struct efi_guid *a, const struct efi_guid *b);

/* "4cf5b200-68b8-4ca5-9eec-b23e3f50029a" into OUT (37 bytes with the NUL); OUT */
char *efi_guid_text(const struct efi_guid *g, char out[37]);

/* --- protocols and GUIDs the host uses by name (efi/guids.c) --- */

/* images and device paths */
extern const struct efi_guid EFI_GUID_LOADED_IMAGE;
extern const struct efi_guid EFI_GUID_LOADED_IMAGE_DEVICE_PATH;
extern const struct efi_guid EFI_GUID_DEVICE_PATH;
extern const struct efi_guid EFI_GUID_DEVICE_PATH_UTILITIES;
extern const struct efi_guid EFI_GUID_DEVICE_PATH_TO_TEXT;
extern const struct efi_guid EFI_GUID_DEVICE_PATH_FROM_TEXT;

/* the UEFI driver model */
extern const struct efi_guid EFI_GUID_DRIVER_BINDING;
extern const struct efi_guid EFI_GUID_COMPONENT_NAME;
extern const struct efi_guid EFI_GUID_COMPONENT_NAME2;
extern const struct efi_guid EFI_GUID_DRIVER_DIAGNOSTICS;
extern const struct efi_guid EFI_GUID_DRIVER_DIAGNOSTICS2;
extern const struct efi_guid EFI_GUID_DRIVER_CONFIGURATION;
extern const struct efi_guid EFI_GUID_DRIVER_CONFIGURATION2;
extern const struct efi_guid EFI_GUID_DRIVER_SUPPORTED_EFI_VERSION;
extern const struct efi_guid EFI_GUID_DRIVER_FAMILY_OVERRIDE;
extern const struct efi_guid EFI_GUID_DRIVER_HEALTH;
extern const struct efi_guid EFI_GUID_BUS_SPECIFIC_DRIVER_OVERRIDE;
extern const struct efi_guid EFI_GUID_PLATFORM_DRIVER_OVERRIDE;

/* PCI */
extern const struct efi_guid EFI_GUID_PCI_IO;
extern const struct efi_guid EFI_GUID_PCI_ROOT_BRIDGE_IO;

/* storage */
extern const struct efi_guid EFI_GUID_BLOCK_IO;
extern const struct efi_guid EFI_GUID_BLOCK_IO2;
extern const struct efi_guid EFI_GUID_DISK_INFO;
extern const struct efi_guid EFI_GUID_DISK_IO;
extern const struct efi_guid EFI_GUID_DISK_IO2;
extern const struct efi_guid EFI_GUID_STORAGE_SECURITY_COMMAND;
extern const struct efi_guid EFI_GUID_NVM_EXPRESS_PASS_THRU;
extern const struct efi_guid EFI_GUID_ATA_PASS_THRU;
extern const struct efi_guid EFI_GUID_EXT_SCSI_PASS_THRU;
extern const struct efi_guid EFI_GUID_SCSI_IO;
extern const struct efi_guid EFI_GUID_IDE_CONTROLLER_INIT;
extern const struct efi_guid EFI_GUID_SIMPLE_FILE_SYSTEM;
/* efi_disk_info_protocol.interface: which bus the disk is on */
extern const struct efi_guid EFI_GUID_DISK_INFO_IDE_INTERFACE;
extern const struct efi_guid EFI_GUID_DISK_INFO_SCSI_INTERFACE;
extern const struct efi_guid EFI_GUID_DISK_INFO_AHCI_INTERFACE;
extern const struct efi_guid EFI_GUID_DISK_INFO_NVME_INTERFACE;

/* network */
extern const struct efi_guid EFI_GUID_SIMPLE_NETWORK;
extern const struct efi_guid EFI_GUID_NETWORK_INTERFACE_IDENTIFIER;
extern const struct efi_guid EFI_GUID_NETWORK_INTERFACE_IDENTIFIER_31;
extern const struct efi_guid EFI_GUID_MANAGED_NETWORK;
extern const struct efi_guid EFI_GUID_MANAGED_NETWORK_SERVICE_BINDING;

/* console */
extern const struct efi_guid EFI_GUID_SIMPLE_TEXT_INPUT;
extern const struct efi_guid EFI_GUID_SIMPLE_TEXT_INPUT_EX;
extern const struct efi_guid EFI_GUID_SIMPLE_TEXT_OUTPUT;

/* HII */
extern const struct efi_guid EFI_GUID_HII_DATABASE;
extern const struct efi_guid EFI_GUID_HII_STRING;
extern const struct efi_guid EFI_GUID_HII_CONFIG_ROUTING;
extern const struct efi_guid EFI_GUID_HII_CONFIG_ACCESS;

/* edk2's virtio transport (VIRTIO_DEVICE_PROTOCOL) */
extern const struct efi_guid EFI_GUID_VIRTIO_DEVICE;

/* edk2's IOMMU protocol (EDKII_IOMMU_PROTOCOL) */
extern const struct efi_guid EFI_GUID_EDKII_IOMMU;

/* configuration tables and event groups */
extern const struct efi_guid EFI_GUID_DXE_SERVICES_TABLE;
extern const struct efi_guid EFI_GUID_HOB_LIST;
extern const struct efi_guid EFI_GUID_EVENT_GROUP_EXIT_BOOT_SERVICES;
extern const struct efi_guid EFI_GUID_EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE;
extern const struct efi_guid EFI_GUID_EVENT_GROUP_MEMORY_MAP_CHANGE;
extern const struct efi_guid EFI_GUID_EVENT_GROUP_READY_TO_BOOT;
extern const struct efi_guid EFI_GUID_END_OF_DXE_EVENT_GROUP;
extern const struct efi_guid EFI_GUID_GLOBAL_VARIABLE;

#endif
