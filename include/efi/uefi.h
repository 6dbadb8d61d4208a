/*
 * UEFI's binary interface as a driver sees it: the system table, boot and
 * runtime services, and the protocols of the drivers the host runs (PCI
 * I/O, block I/O, the storage pass-thru protocols, simple network, ...).
 *
 * Written for this project from the UEFI 2.x and PI 1.x specifications;
 * the names are ours (efi_ snake_case types and members), the constants
 * keep the specification's names so that they can be looked up there.
 *
 * Layout: a 64-bit target's (UINTN and pointers 8 bytes, natural
 * alignment), which is both x86-64's and AArch64's. The same structs
 * describe the tables the host builds for images it runs natively and
 * for images it runs in the emulator, where every function pointer is
 * simply a 64-bit address: the _Static_asserts below pin the offsets the
 * specification fixes.
 *
 * EFIAPI: the calling convention of UEFI functions. On an x86-64 host it
 * is Microsoft's x64 one (__attribute__((ms_abi))), so native drivers call
 * our functions and we call theirs through these pointers directly. On
 * any other host it is empty: those pointers hold addresses in the
 * emulated image and are only called through the engine (efi_callv).
 *
 * Enumerations appear in structs and parameters as uint32_t (what a C
 * enum is on both ABIs), BOOLEAN as uint8_t, UINTN as uint64_t, CHAR16
 * as uint16_t.
 */
#ifndef EFI_UEFI_H
#define EFI_UEFI_H

#include <stddef.h>
#include <stdint.h>

#include <efi/guids.h>

#if defined(__x86_64__)
#define EFIAPI __attribute__((ms_abi))
#else
#define EFIAPI
#endif

/* --- basic types --- */

typedef uint64_t efi_status;
typedef void *efi_handle;
typedef void *efi_event;
typedef uint64_t efi_tpl;
typedef uint64_t efi_lba;
typedef uint64_t efi_physical_address;
typedef uint64_t efi_virtual_address;
typedef uint16_t efi_char16;
typedef uint8_t efi_boolean;

_Static_assert(sizeof(void *) == 8, "the UEFI tables are laid out for a 64-bit target");
_Static_assert(sizeof(void (*)(void)) == 8, "a function pointer member is one 64-bit word");

/* --- status codes --- */

#define EFI_ERROR_BIT 0x8000000000000000ull
#define EFI_ERR(n) ((efi_status)(EFI_ERROR_BIT | (n)))
#define EFI_ERROR(s) (((efi_status)(s) & EFI_ERROR_BIT) != 0)

#define EFI_SUCCESS			((efi_status)0)
#define EFI_LOAD_ERROR			EFI_ERR(1)
#define EFI_INVALID_PARAMETER		EFI_ERR(2)
#define EFI_UNSUPPORTED			EFI_ERR(3)
#define EFI_BAD_BUFFER_SIZE		EFI_ERR(4)
#define EFI_BUFFER_TOO_SMALL		EFI_ERR(5)
#define EFI_NOT_READY			EFI_ERR(6)
#define EFI_DEVICE_ERROR		EFI_ERR(7)
#define EFI_WRITE_PROTECTED		EFI_ERR(8)
#define EFI_OUT_OF_RESOURCES		EFI_ERR(9)
#define EFI_VOLUME_CORRUPTED		EFI_ERR(10)
#define EFI_VOLUME_FULL			EFI_ERR(11)
#define EFI_NO_MEDIA			EFI_ERR(12)
#define EFI_MEDIA_CHANGED		EFI_ERR(13)
#define EFI_NOT_FOUND			EFI_ERR(14)
#define EFI_ACCESS_DENIED		EFI_ERR(15)
#define EFI_NO_RESPONSE			EFI_ERR(16)
#define EFI_NO_MAPPING			EFI_ERR(17)
#define EFI_TIMEOUT			EFI_ERR(18)
#define EFI_NOT_STARTED			EFI_ERR(19)
#define EFI_ALREADY_STARTED		EFI_ERR(20)
#define EFI_ABORTED			EFI_ERR(21)
#define EFI_ICMP_ERROR			EFI_ERR(22)
#define EFI_TFTP_ERROR			EFI_ERR(23)
#define EFI_PROTOCOL_ERROR		EFI_ERR(24)
#define EFI_INCOMPATIBLE_VERSION	EFI_ERR(25)
#define EFI_SECURITY_VIOLATION		EFI_ERR(26)
#define EFI_CRC_ERROR			EFI_ERR(27)
#define EFI_END_OF_MEDIA		EFI_ERR(28)
#define EFI_END_OF_FILE			EFI_ERR(31)
#define EFI_INVALID_LANGUAGE		EFI_ERR(32)
#define EFI_COMPROMISED_DATA		EFI_ERR(33)
#define EFI_IP_ADDRESS_CONFLICT		EFI_ERR(34)
#define EFI_HTTP_ERROR			EFI_ERR(35)

/* warnings: the high bit clear */
#define EFI_WARN_UNKNOWN_GLYPH		((efi_status)1)
#define EFI_WARN_DELETE_FAILURE		((efi_status)2)
#define EFI_WARN_WRITE_FAILURE		((efi_status)3)
#define EFI_WARN_BUFFER_TOO_SMALL	((efi_status)4)
#define EFI_WARN_STALE_DATA		((efi_status)5)
#define EFI_WARN_FILE_SYSTEM		((efi_status)6)
#define EFI_WARN_RESET_REQUIRED		((efi_status)7)

/* "EFI_NOT_FOUND", ... or, for a code it does not know, its number in hex (efi/status.c) */
const char *efi_status_name(efi_status s);

/* --- task priority levels, events, timers --- */

#define TPL_APPLICATION	4
#define TPL_CALLBACK	8
#define TPL_NOTIFY	16
#define TPL_HIGH_LEVEL	31

#define EVT_TIMER				0x80000000u
#define EVT_RUNTIME				0x40000000u
#define EVT_NOTIFY_WAIT				0x00000100u
#define EVT_NOTIFY_SIGNAL			0x00000200u
#define EVT_SIGNAL_EXIT_BOOT_SERVICES		0x00000201u
#define EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE	0x60000202u

typedef void (EFIAPI *efi_event_notify)(efi_event event, void *context);

enum efi_timer_delay {
	TimerCancel = 0,
	TimerPeriodic = 1,
	TimerRelative = 2,
};

/* --- memory --- */

enum efi_allocate_type {
	AllocateAnyPages = 0,
	AllocateMaxAddress = 1,
	AllocateAddress = 2,
	MaxAllocateType = 3,
};

enum efi_memory_type {
	EfiReservedMemoryType = 0,
	EfiLoaderCode = 1,
	EfiLoaderData = 2,
	EfiBootServicesCode = 3,
	EfiBootServicesData = 4,
	EfiRuntimeServicesCode = 5,
	EfiRuntimeServicesData = 6,
	EfiConventionalMemory = 7,
	EfiUnusableMemory = 8,
	EfiACPIReclaimMemory = 9,
	EfiACPIMemoryNVS = 10,
	EfiMemoryMappedIO = 11,
	EfiMemoryMappedIOPortSpace = 12,
	EfiPalCode = 13,
	EfiPersistentMemory = 14,
	EfiUnacceptedMemoryType = 15,
	EfiMaxMemoryType = 16,
};

#define EFI_PAGE_SIZE	4096
#define EFI_PAGE_SHIFT	12
#define EFI_SIZE_TO_PAGES(n) (((uint64_t)(n) + EFI_PAGE_SIZE - 1) >> EFI_PAGE_SHIFT)

/* efi_memory_descriptor.attribute */
#define EFI_MEMORY_UC			0x0000000000000001ull
#define EFI_MEMORY_WC			0x0000000000000002ull
#define EFI_MEMORY_WT			0x0000000000000004ull
#define EFI_MEMORY_WB			0x0000000000000008ull
#define EFI_MEMORY_UCE			0x0000000000000010ull
#define EFI_MEMORY_WP			0x0000000000001000ull
#define EFI_MEMORY_RP			0x0000000000002000ull
#define EFI_MEMORY_XP			0x0000000000004000ull
#define EFI_MEMORY_NV			0x0000000000008000ull
#define EFI_MEMORY_MORE_RELIABLE	0x0000000000010000ull
#define EFI_MEMORY_RO			0x0000000000020000ull
#define EFI_MEMORY_SP			0x0000000000040000ull
#define EFI_MEMORY_CPU_CRYPTO		0x0000000000080000ull
#define EFI_MEMORY_RUNTIME		0x8000000000000000ull

#define EFI_MEMORY_DESCRIPTOR_VERSION 1

struct efi_memory_descriptor {
	uint32_t type;			/* enum efi_memory_type */
	efi_physical_address physical_start;
	efi_virtual_address virtual_start;
	uint64_t number_of_pages;
	uint64_t attribute;
};

/* --- protocol handler services --- */

enum efi_interface_type {
	EFI_NATIVE_INTERFACE = 0,
};

enum efi_locate_search_type {
	AllHandles = 0,
	ByRegisterNotify = 1,
	ByProtocol = 2,
};

#define EFI_OPEN_PROTOCOL_BY_HANDLE_PROTOCOL	0x00000001u
#define EFI_OPEN_PROTOCOL_GET_PROTOCOL		0x00000002u
#define EFI_OPEN_PROTOCOL_TEST_PROTOCOL		0x00000004u
#define EFI_OPEN_PROTOCOL_BY_CHILD_CONTROLLER	0x00000008u
#define EFI_OPEN_PROTOCOL_BY_DRIVER		0x00000010u
#define EFI_OPEN_PROTOCOL_EXCLUSIVE		0x00000020u

struct efi_open_protocol_information_entry {
	efi_handle agent_handle;
	efi_handle controller_handle;
	uint32_t attributes;
	uint32_t open_count;
};

/* --- time --- */

struct efi_time {
	uint16_t year;			/* 1900 - 9999 */
	uint8_t month;			/* 1 - 12 */
	uint8_t day;			/* 1 - 31 */
	uint8_t hour;
	uint8_t minute;
	uint8_t second;
	uint8_t pad1;
	uint32_t nanosecond;
	int16_t time_zone;		/* minutes from UTC, or EFI_UNSPECIFIED_TIMEZONE */
	uint8_t daylight;
	uint8_t pad2;
};

#define EFI_UNSPECIFIED_TIMEZONE	0x07ff
#define EFI_TIME_ADJUST_DAYLIGHT	0x01
#define EFI_TIME_IN_DAYLIGHT		0x02

struct efi_time_capabilities {
	uint32_t resolution;
	uint32_t accuracy;
	efi_boolean sets_to_zero;
};

/* --- variables, reset, capsules --- */

#define EFI_VARIABLE_NON_VOLATILE				0x00000001u
#define EFI_VARIABLE_BOOTSERVICE_ACCESS				0x00000002u
#define EFI_VARIABLE_RUNTIME_ACCESS				0x00000004u
#define EFI_VARIABLE_HARDWARE_ERROR_RECORD			0x00000008u
#define EFI_VARIABLE_AUTHENTICATED_WRITE_ACCESS			0x00000010u
#define EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS	0x00000020u
#define EFI_VARIABLE_APPEND_WRITE				0x00000040u
#define EFI_VARIABLE_ENHANCED_AUTHENTICATED_ACCESS		0x00000080u

enum efi_reset_type {
	EfiResetCold = 0,
	EfiResetWarm = 1,
	EfiResetShutdown = 2,
	EfiResetPlatformSpecific = 3,
};

struct efi_capsule_header {
	struct efi_guid capsule_guid;
	uint32_t header_size;
	uint32_t flags;
	uint32_t capsule_image_size;
};

/* --- tables --- */

struct efi_table_header {
	uint64_t signature;
	uint32_t revision;
	uint32_t header_size;
	uint32_t crc32;
	uint32_t reserved;
};

#define EFI_SYSTEM_TABLE_SIGNATURE	0x5453595320494249ull	/* "IBI SYST" */
#define EFI_BOOT_SERVICES_SIGNATURE	0x56524553544f4f42ull	/* "BOOTSERV" */
#define EFI_RUNTIME_SERVICES_SIGNATURE	0x56524553544e5552ull	/* "RUNTSERV" */

#define EFI_REVISION(major, minor)	(((uint32_t)(major) << 16) | (uint32_t)(minor))
#define EFI_2_70_SYSTEM_TABLE_REVISION	EFI_REVISION(2, 70)
#define EFI_2_80_SYSTEM_TABLE_REVISION	EFI_REVISION(2, 80)
/* what the host's tables say they are: 2.70, as edk2-stable202211 (Debian 12's OVMF) */
#define EFI_SPECIFICATION_REVISION	EFI_2_70_SYSTEM_TABLE_REVISION

struct efi_device_path_protocol;
struct efi_simple_text_input_protocol;
struct efi_simple_text_output_protocol;

struct efi_runtime_services {
	struct efi_table_header hdr;
	efi_status (EFIAPI *get_time)(struct efi_time *time, struct efi_time_capabilities *caps);
	efi_status (EFIAPI *set_time)(struct efi_time *time);
	efi_status (EFIAPI *get_wakeup_time)(efi_boolean *enabled, efi_boolean *pending,
					     struct efi_time *time);
	efi_status (EFIAPI *set_wakeup_time)(efi_boolean enable, struct efi_time *time);
	efi_status (EFIAPI *set_virtual_address_map)(uint64_t memory_map_size, uint64_t descriptor_size,
						     uint32_t descriptor_version,
						     struct efi_memory_descriptor *virtual_map);
	efi_status (EFIAPI *convert_pointer)(uint64_t debug_disposition, void **address);
	efi_status (EFIAPI *get_variable)(const efi_char16 *name, const struct efi_guid *vendor_guid,
					  uint32_t *attributes, uint64_t *data_size, void *data);
	efi_status (EFIAPI *get_next_variable_name)(uint64_t *name_size, efi_char16 *name,
						    struct efi_guid *vendor_guid);
	efi_status (EFIAPI *set_variable)(const efi_char16 *name, const struct efi_guid *vendor_guid,
					  uint32_t attributes, uint64_t data_size, void *data);
	efi_status (EFIAPI *get_next_high_monotonic_count)(uint32_t *high_count);
	void (EFIAPI *reset_system)(uint32_t reset_type, efi_status reset_status, uint64_t data_size,
				    void *reset_data);
	efi_status (EFIAPI *update_capsule)(struct efi_capsule_header **capsules, uint64_t count,
					    efi_physical_address scatter_gather_list);
	efi_status (EFIAPI *query_capsule_capabilities)(struct efi_capsule_header **capsules,
							uint64_t count, uint64_t *max_capsule_size,
							uint32_t *reset_type);
	efi_status (EFIAPI *query_variable_info)(uint32_t attributes, uint64_t *max_storage_size,
						 uint64_t *remaining_storage_size,
						 uint64_t *max_variable_size);
};

struct efi_boot_services {
	struct efi_table_header hdr;

	/* task priority */
	efi_tpl (EFIAPI *raise_tpl)(efi_tpl new_tpl);
	void (EFIAPI *restore_tpl)(efi_tpl old_tpl);

	/* memory */
	efi_status (EFIAPI *allocate_pages)(uint32_t type, uint32_t memory_type, uint64_t pages,
					    efi_physical_address *memory);
	efi_status (EFIAPI *free_pages)(efi_physical_address memory, uint64_t pages);
	efi_status (EFIAPI *get_memory_map)(uint64_t *memory_map_size, struct efi_memory_descriptor *map,
					    uint64_t *map_key, uint64_t *descriptor_size,
					    uint32_t *descriptor_version);
	efi_status (EFIAPI *allocate_pool)(uint32_t pool_type, uint64_t size, void **buffer);
	efi_status (EFIAPI *free_pool)(void *buffer);

	/* events and timers */
	efi_status (EFIAPI *create_event)(uint32_t type, efi_tpl notify_tpl, efi_event_notify notify,
					  void *context, efi_event *event);
	efi_status (EFIAPI *set_timer)(efi_event event, uint32_t type, uint64_t trigger_time);
	efi_status (EFIAPI *wait_for_event)(uint64_t number_of_events, efi_event *events,
					    uint64_t *index);
	efi_status (EFIAPI *signal_event)(efi_event event);
	efi_status (EFIAPI *close_event)(efi_event event);
	efi_status (EFIAPI *check_event)(efi_event event);

	/* protocol handlers */
	efi_status (EFIAPI *install_protocol_interface)(efi_handle *handle, const struct efi_guid *protocol,
							uint32_t interface_type, void *interface);
	efi_status (EFIAPI *reinstall_protocol_interface)(efi_handle handle, const struct efi_guid *protocol,
							  void *old_interface, void *new_interface);
	efi_status (EFIAPI *uninstall_protocol_interface)(efi_handle handle, const struct efi_guid *protocol,
							  void *interface);
	efi_status (EFIAPI *handle_protocol)(efi_handle handle, const struct efi_guid *protocol,
					     void **interface);
	void *reserved;
	efi_status (EFIAPI *register_protocol_notify)(const struct efi_guid *protocol, efi_event event,
						      void **registration);
	efi_status (EFIAPI *locate_handle)(uint32_t search_type, const struct efi_guid *protocol,
					   void *search_key, uint64_t *buffer_size, efi_handle *buffer);
	efi_status (EFIAPI *locate_device_path)(const struct efi_guid *protocol,
						struct efi_device_path_protocol **device_path,
						efi_handle *device);
	efi_status (EFIAPI *install_configuration_table)(const struct efi_guid *guid, void *table);

	/* images */
	efi_status (EFIAPI *load_image)(efi_boolean boot_policy, efi_handle parent_image_handle,
					struct efi_device_path_protocol *device_path, void *source_buffer,
					uint64_t source_size, efi_handle *image_handle);
	efi_status (EFIAPI *start_image)(efi_handle image_handle, uint64_t *exit_data_size,
					 efi_char16 **exit_data);
	efi_status (EFIAPI *exit)(efi_handle image_handle, efi_status exit_status,
				  uint64_t exit_data_size, efi_char16 *exit_data);
	efi_status (EFIAPI *unload_image)(efi_handle image_handle);
	efi_status (EFIAPI *exit_boot_services)(efi_handle image_handle, uint64_t map_key);

	/* miscellaneous */
	efi_status (EFIAPI *get_next_monotonic_count)(uint64_t *count);
	efi_status (EFIAPI *stall)(uint64_t microseconds);
	efi_status (EFIAPI *set_watchdog_timer)(uint64_t timeout, uint64_t watchdog_code,
						uint64_t data_size, efi_char16 *watchdog_data);

	/* the driver model */
	efi_status (EFIAPI *connect_controller)(efi_handle controller_handle,
						efi_handle *driver_image_handle,
						struct efi_device_path_protocol *remaining_device_path,
						efi_boolean recursive);
	efi_status (EFIAPI *disconnect_controller)(efi_handle controller_handle,
						   efi_handle driver_image_handle,
						   efi_handle child_handle);

	/* open and close protocol */
	efi_status (EFIAPI *open_protocol)(efi_handle handle, const struct efi_guid *protocol,
					   void **interface, efi_handle agent_handle,
					   efi_handle controller_handle, uint32_t attributes);
	efi_status (EFIAPI *close_protocol)(efi_handle handle, const struct efi_guid *protocol,
					    efi_handle agent_handle, efi_handle controller_handle);
	efi_status (EFIAPI *open_protocol_information)(efi_handle handle, const struct efi_guid *protocol,
						       struct efi_open_protocol_information_entry **entries,
						       uint64_t *entry_count);

	/* library */
	efi_status (EFIAPI *protocols_per_handle)(efi_handle handle, struct efi_guid ***protocols,
						  uint64_t *protocol_count);
	efi_status (EFIAPI *locate_handle_buffer)(uint32_t search_type, const struct efi_guid *protocol,
						  void *search_key, uint64_t *no_handles,
						  efi_handle **buffer);
	efi_status (EFIAPI *locate_protocol)(const struct efi_guid *protocol, void *registration,
					     void **interface);
	/* (handle, guid, interface, guid, interface, ..., NULL) */
	efi_status (EFIAPI *install_multiple_protocol_interfaces)(efi_handle *handle, ...);
	efi_status (EFIAPI *uninstall_multiple_protocol_interfaces)(efi_handle handle, ...);

	/* 32-bit CRC */
	efi_status (EFIAPI *calculate_crc32)(void *data, uint64_t data_size, uint32_t *crc32);

	/* miscellaneous */
	void (EFIAPI *copy_mem)(void *destination, void *source, uint64_t length);
	void (EFIAPI *set_mem)(void *buffer, uint64_t size, uint8_t value);
	efi_status (EFIAPI *create_event_ex)(uint32_t type, efi_tpl notify_tpl, efi_event_notify notify,
					     const void *context, const struct efi_guid *event_group,
					     efi_event *event);
};

struct efi_configuration_table {
	struct efi_guid vendor_guid;
	void *vendor_table;
};

struct efi_system_table {
	struct efi_table_header hdr;
	efi_char16 *firmware_vendor;
	uint32_t firmware_revision;
	efi_handle console_in_handle;
	struct efi_simple_text_input_protocol *con_in;
	efi_handle console_out_handle;
	struct efi_simple_text_output_protocol *con_out;
	efi_handle standard_error_handle;
	struct efi_simple_text_output_protocol *std_err;
	struct efi_runtime_services *runtime_services;
	struct efi_boot_services *boot_services;
	uint64_t number_of_table_entries;
	struct efi_configuration_table *configuration_table;
};

/* --- device paths --- */

/* a node's header; LENGTH (little-endian) counts the whole node, header included */
struct efi_device_path_protocol {
	uint8_t type;
	uint8_t sub_type;
	uint8_t length[2];
};

#define HARDWARE_DEVICE_PATH		0x01
#define   HW_PCI_DP			0x01
#define   HW_PCCARD_DP			0x02
#define   HW_MEMMAP_DP			0x03
#define   HW_VENDOR_DP			0x04
#define   HW_CONTROLLER_DP		0x05
#define   HW_BMC_DP			0x06
#define ACPI_DEVICE_PATH		0x02
#define   ACPI_DP			0x01
#define   ACPI_EXTENDED_DP		0x02
#define   ACPI_ADR_DP			0x03
#define   ACPI_NVDIMM_DP		0x04
#define MESSAGING_DEVICE_PATH		0x03
#define   MSG_ATAPI_DP			0x01
#define   MSG_SCSI_DP			0x02
#define   MSG_FIBRECHANNEL_DP		0x03
#define   MSG_1394_DP			0x04
#define   MSG_USB_DP			0x05
#define   MSG_I2O_DP			0x06
#define   MSG_INFINIBAND_DP		0x09
#define   MSG_VENDOR_DP			0x0a
#define   MSG_MAC_ADDR_DP		0x0b
#define   MSG_IPv4_DP			0x0c
#define   MSG_IPv6_DP			0x0d
#define   MSG_UART_DP			0x0e
#define   MSG_USB_CLASS_DP		0x0f
#define   MSG_USB_WWID_DP		0x10
#define   MSG_DEVICE_LOGICAL_UNIT_DP	0x11
#define   MSG_SATA_DP			0x12
#define   MSG_ISCSI_DP			0x13
#define   MSG_VLAN_DP			0x14
#define   MSG_FIBRECHANNELEX_DP		0x15
#define   MSG_SASEX_DP			0x16
#define   MSG_NVME_NAMESPACE_DP		0x17
#define   MSG_URI_DP			0x18
#define   MSG_UFS_DP			0x19
#define   MSG_SD_DP			0x1a
#define   MSG_BLUETOOTH_DP		0x1b
#define   MSG_WIFI_DP			0x1c
#define   MSG_EMMC_DP			0x1d
#define MEDIA_DEVICE_PATH		0x04
#define   MEDIA_HARDDRIVE_DP		0x01
#define   MEDIA_CDROM_DP		0x02
#define   MEDIA_VENDOR_DP		0x03
#define   MEDIA_FILEPATH_DP		0x04
#define   MEDIA_PROTOCOL_DP		0x05
#define   MEDIA_PIWG_FW_FILE_DP		0x06
#define   MEDIA_PIWG_FW_VOL_DP		0x07
#define   MEDIA_RELATIVE_OFFSET_RANGE_DP 0x08
#define   MEDIA_RAM_DISK_DP		0x09
#define BBS_DEVICE_PATH			0x05
#define END_DEVICE_PATH_TYPE		0x7f
#define   END_ENTIRE_DEVICE_PATH_SUBTYPE 0xff
#define   END_INSTANCE_DEVICE_PATH_SUBTYPE 0x01

/* the PNP ID of ACPI nodes: EISA_PNP_ID(0x0a03) is a PCI root bridge (PNP0A03) */
#define EISA_PNP_ID(id)		(((uint32_t)(id) << 16) | 0x41d0u)

/* nodes are byte-aligned in a path: packed */
struct __attribute__((packed)) efi_device_path_pci {
	struct efi_device_path_protocol header;
	uint8_t function;
	uint8_t device;
};

struct __attribute__((packed)) efi_device_path_controller {
	struct efi_device_path_protocol header;
	uint32_t controller_number;
};

struct __attribute__((packed)) efi_device_path_memmap {
	struct efi_device_path_protocol header;
	uint32_t memory_type;
	efi_physical_address starting_address;
	efi_physical_address ending_address;
};

/* hardware, messaging and media vendor nodes: a GUID, then vendor data */
struct __attribute__((packed)) efi_device_path_vendor {
	struct efi_device_path_protocol header;
	struct efi_guid guid;
};

struct __attribute__((packed)) efi_device_path_acpi {
	struct efi_device_path_protocol header;
	uint32_t hid;
	uint32_t uid;
};

struct __attribute__((packed)) efi_device_path_atapi {
	struct efi_device_path_protocol header;
	uint8_t primary_secondary;
	uint8_t slave_master;
	uint16_t lun;
};

struct __attribute__((packed)) efi_device_path_scsi {
	struct efi_device_path_protocol header;
	uint16_t pun;
	uint16_t lun;
};

struct __attribute__((packed)) efi_device_path_usb {
	struct efi_device_path_protocol header;
	uint8_t parent_port_number;
	uint8_t interface_number;
};

struct __attribute__((packed)) efi_device_path_mac {
	struct efi_device_path_protocol header;
	uint8_t mac_address[32];
	uint8_t if_type;
};

struct __attribute__((packed)) efi_device_path_sata {
	struct efi_device_path_protocol header;
	uint16_t hba_port_number;
	uint16_t port_multiplier_port_number;	/* 0xffff: the device is on the port itself */
	uint16_t lun;
};

struct __attribute__((packed)) efi_device_path_nvme_namespace {
	struct efi_device_path_protocol header;
	uint32_t namespace_id;
	uint64_t namespace_uuid;		/* the IEEE EUI-64, or 0 */
};

struct __attribute__((packed)) efi_device_path_hard_drive {
	struct efi_device_path_protocol header;
	uint32_t partition_number;
	uint64_t partition_start;
	uint64_t partition_size;
	uint8_t signature[16];
	uint8_t mbr_type;			/* 1: MBR, 2: GPT */
	uint8_t signature_type;			/* 0: none, 1: MBR's 32 bits, 2: a GUID */
};

/* a node's length, from its header */
static inline uint16_t efi_device_path_node_length(const struct efi_device_path_protocol *p)
{
	return (uint16_t)(p->length[0] | p->length[1] << 8);
}

static inline void efi_device_path_set_length(struct efi_device_path_protocol *p, uint16_t len)
{
	p->length[0] = (uint8_t)len;
	p->length[1] = (uint8_t)(len >> 8);
}

static inline int efi_device_path_is_end(const struct efi_device_path_protocol *p)
{
	return p->type == END_DEVICE_PATH_TYPE && p->sub_type == END_ENTIRE_DEVICE_PATH_SUBTYPE;
}

/* --- EFI_LOADED_IMAGE_PROTOCOL --- */

#define EFI_LOADED_IMAGE_PROTOCOL_REVISION 0x1000

struct efi_loaded_image_protocol {
	uint32_t revision;
	efi_handle parent_handle;
	struct efi_system_table *system_table;
	efi_handle device_handle;
	struct efi_device_path_protocol *file_path;
	void *reserved;
	uint32_t load_options_size;
	void *load_options;
	void *image_base;
	uint64_t image_size;
	uint32_t image_code_type;		/* enum efi_memory_type */
	uint32_t image_data_type;
	efi_status (EFIAPI *unload)(efi_handle image_handle);
};

/* --- EFI_DRIVER_BINDING_PROTOCOL --- */

struct efi_driver_binding_protocol {
	efi_status (EFIAPI *supported)(struct efi_driver_binding_protocol *this,
				       efi_handle controller_handle,
				       struct efi_device_path_protocol *remaining_device_path);
	efi_status (EFIAPI *start)(struct efi_driver_binding_protocol *this,
				   efi_handle controller_handle,
				   struct efi_device_path_protocol *remaining_device_path);
	efi_status (EFIAPI *stop)(struct efi_driver_binding_protocol *this,
				  efi_handle controller_handle, uint64_t number_of_children,
				  efi_handle *child_handle_buffer);
	uint32_t version;
	efi_handle image_handle;
	efi_handle driver_binding_handle;
};

/* --- EFI_COMPONENT_NAME2_PROTOCOL (and EFI_COMPONENT_NAME: the same layout, ISO 639-2 languages) --- */

struct efi_component_name2_protocol {
	efi_status (EFIAPI *get_driver_name)(struct efi_component_name2_protocol *this,
					     const char *language, efi_char16 **driver_name);
	efi_status (EFIAPI *get_controller_name)(struct efi_component_name2_protocol *this,
						 efi_handle controller_handle,
						 efi_handle child_handle, const char *language,
						 efi_char16 **controller_name);
	const char *supported_languages;	/* RFC 4646: "en;fr" */
};

/* --- EFI_PCI_IO_PROTOCOL --- */

enum efi_pci_io_width {
	EfiPciIoWidthUint8 = 0,
	EfiPciIoWidthUint16 = 1,
	EfiPciIoWidthUint32 = 2,
	EfiPciIoWidthUint64 = 3,
	EfiPciIoWidthFifoUint8 = 4,	/* the same address each time, the buffer advancing */
	EfiPciIoWidthFifoUint16 = 5,
	EfiPciIoWidthFifoUint32 = 6,
	EfiPciIoWidthFifoUint64 = 7,
	EfiPciIoWidthFillUint8 = 8,	/* the address advancing, the same buffer element each time */
	EfiPciIoWidthFillUint16 = 9,
	EfiPciIoWidthFillUint32 = 10,
	EfiPciIoWidthFillUint64 = 11,
	EfiPciIoWidthMaximum = 12,
};

enum efi_pci_io_operation {
	EfiPciIoOperationBusMasterRead = 0,		/* the device reads system memory */
	EfiPciIoOperationBusMasterWrite = 1,		/* the device writes system memory */
	EfiPciIoOperationBusMasterCommonBuffer = 2,	/* both, concurrently with the CPU */
	EfiPciIoOperationBusMasterRead64 = 3,		/* the same, any 64-bit address */
	EfiPciIoOperationBusMasterWrite64 = 4,
	EfiPciIoOperationBusMasterCommonBuffer64 = 5,
	EfiPciIoOperationMaximum = 6,
};

enum efi_pci_io_attribute_operation {
	EfiPciIoAttributeOperationGet = 0,
	EfiPciIoAttributeOperationSet = 1,
	EfiPciIoAttributeOperationEnable = 2,
	EfiPciIoAttributeOperationDisable = 3,
	EfiPciIoAttributeOperationSupported = 4,
	EfiPciIoAttributeOperationMaximum = 5,
};

#define EFI_PCI_IO_ATTRIBUTE_ISA_MOTHERBOARD_IO		0x00001ull
#define EFI_PCI_IO_ATTRIBUTE_ISA_IO			0x00002ull
#define EFI_PCI_IO_ATTRIBUTE_VGA_PALETTE_IO		0x00004ull
#define EFI_PCI_IO_ATTRIBUTE_VGA_MEMORY			0x00008ull
#define EFI_PCI_IO_ATTRIBUTE_VGA_IO			0x00010ull
#define EFI_PCI_IO_ATTRIBUTE_IDE_PRIMARY_IO		0x00020ull
#define EFI_PCI_IO_ATTRIBUTE_IDE_SECONDARY_IO		0x00040ull
#define EFI_PCI_IO_ATTRIBUTE_MEMORY_WRITE_COMBINE	0x00080ull
#define EFI_PCI_IO_ATTRIBUTE_IO				0x00100ull
#define EFI_PCI_IO_ATTRIBUTE_MEMORY			0x00200ull
#define EFI_PCI_IO_ATTRIBUTE_BUS_MASTER			0x00400ull
#define EFI_PCI_IO_ATTRIBUTE_MEMORY_CACHED		0x00800ull
#define EFI_PCI_IO_ATTRIBUTE_MEMORY_DISABLE		0x01000ull
#define EFI_PCI_IO_ATTRIBUTE_EMBEDDED_DEVICE		0x02000ull
#define EFI_PCI_IO_ATTRIBUTE_EMBEDDED_ROM		0x04000ull
#define EFI_PCI_IO_ATTRIBUTE_DUAL_ADDRESS_CYCLE		0x08000ull
#define EFI_PCI_IO_ATTRIBUTE_ISA_IO_16			0x10000ull
#define EFI_PCI_IO_ATTRIBUTE_VGA_PALETTE_IO_16		0x20000ull
#define EFI_PCI_IO_ATTRIBUTE_VGA_IO_16			0x40000ull
#define EFI_PCI_DEVICE_ENABLE \
	(EFI_PCI_IO_ATTRIBUTE_IO | EFI_PCI_IO_ATTRIBUTE_MEMORY | EFI_PCI_IO_ATTRIBUTE_BUS_MASTER)

/* get_bar_attributes/set_bar_attributes and pci io calls: "the BAR the offset is in" */
#define EFI_PCI_IO_PASS_THROUGH_BAR 0xff

struct efi_pci_io_protocol;

typedef efi_status (EFIAPI *efi_pci_io_poll_io_mem)(struct efi_pci_io_protocol *this, uint32_t width,
						    uint8_t bar_index, uint64_t offset, uint64_t mask,
						    uint64_t value, uint64_t delay, uint64_t *result);
typedef efi_status (EFIAPI *efi_pci_io_io_mem)(struct efi_pci_io_protocol *this, uint32_t width,
					       uint8_t bar_index, uint64_t offset, uint64_t count,
					       void *buffer);
typedef efi_status (EFIAPI *efi_pci_io_config)(struct efi_pci_io_protocol *this, uint32_t width,
					       uint32_t offset, uint64_t count, void *buffer);

struct efi_pci_io_protocol_access {
	efi_pci_io_io_mem read;
	efi_pci_io_io_mem write;
};

struct efi_pci_io_protocol_config_access {
	efi_pci_io_config read;
	efi_pci_io_config write;
};

struct efi_pci_io_protocol {
	efi_pci_io_poll_io_mem poll_mem;
	efi_pci_io_poll_io_mem poll_io;
	struct efi_pci_io_protocol_access mem;
	struct efi_pci_io_protocol_access io;
	struct efi_pci_io_protocol_config_access pci;
	efi_status (EFIAPI *copy_mem)(struct efi_pci_io_protocol *this, uint32_t width,
				      uint8_t dest_bar_index, uint64_t dest_offset,
				      uint8_t src_bar_index, uint64_t src_offset, uint64_t count);
	efi_status (EFIAPI *map)(struct efi_pci_io_protocol *this, uint32_t operation,
				 void *host_address, uint64_t *number_of_bytes,
				 efi_physical_address *device_address, void **mapping);
	efi_status (EFIAPI *unmap)(struct efi_pci_io_protocol *this, void *mapping);
	efi_status (EFIAPI *allocate_buffer)(struct efi_pci_io_protocol *this, uint32_t type,
					     uint32_t memory_type, uint64_t pages, void **host_address,
					     uint64_t attributes);
	efi_status (EFIAPI *free_buffer)(struct efi_pci_io_protocol *this, uint64_t pages,
					 void *host_address);
	efi_status (EFIAPI *flush)(struct efi_pci_io_protocol *this);
	efi_status (EFIAPI *get_location)(struct efi_pci_io_protocol *this, uint64_t *segment,
					  uint64_t *bus, uint64_t *device, uint64_t *function);
	efi_status (EFIAPI *attributes)(struct efi_pci_io_protocol *this, uint32_t operation,
					uint64_t attributes, uint64_t *result);
	efi_status (EFIAPI *get_bar_attributes)(struct efi_pci_io_protocol *this, uint8_t bar_index,
						uint64_t *supports, void **resources);
	efi_status (EFIAPI *set_bar_attributes)(struct efi_pci_io_protocol *this, uint64_t attributes,
						uint8_t bar_index, uint64_t *offset, uint64_t *length);
	uint64_t rom_size;
	void *rom_image;
};

/* --- EFI_BLOCK_IO_PROTOCOL --- */

#define EFI_BLOCK_IO_PROTOCOL_REVISION	0x00010000u
#define EFI_BLOCK_IO_PROTOCOL_REVISION2	0x00020001u
#define EFI_BLOCK_IO_PROTOCOL_REVISION3	0x0002001fu

struct efi_block_io_media {
	uint32_t media_id;
	efi_boolean removable_media;
	efi_boolean media_present;
	efi_boolean logical_partition;
	efi_boolean read_only;
	efi_boolean write_caching;
	uint32_t block_size;
	uint32_t io_align;
	efi_lba last_block;
	/* revision 2 */
	efi_lba lowest_aligned_lba;
	uint32_t logical_blocks_per_physical_block;
	/* revision 3 */
	uint32_t optimal_transfer_length_granularity;
};

struct efi_block_io_protocol {
	uint64_t revision;
	struct efi_block_io_media *media;
	efi_status (EFIAPI *reset)(struct efi_block_io_protocol *this,
				   efi_boolean extended_verification);
	efi_status (EFIAPI *read_blocks)(struct efi_block_io_protocol *this, uint32_t media_id,
					 efi_lba lba, uint64_t buffer_size, void *buffer);
	efi_status (EFIAPI *write_blocks)(struct efi_block_io_protocol *this, uint32_t media_id,
					  efi_lba lba, uint64_t buffer_size, void *buffer);
	efi_status (EFIAPI *flush_blocks)(struct efi_block_io_protocol *this);
};

/* --- EFI_BLOCK_IO2_PROTOCOL --- */

struct efi_block_io2_token {
	efi_event event;			/* signalled when the request is done; NULL: blocking */
	efi_status transaction_status;
};

struct efi_block_io2_protocol {
	struct efi_block_io_media *media;
	efi_status (EFIAPI *reset)(struct efi_block_io2_protocol *this,
				   efi_boolean extended_verification);
	efi_status (EFIAPI *read_blocks_ex)(struct efi_block_io2_protocol *this, uint32_t media_id,
					    efi_lba lba, struct efi_block_io2_token *token,
					    uint64_t buffer_size, void *buffer);
	efi_status (EFIAPI *write_blocks_ex)(struct efi_block_io2_protocol *this, uint32_t media_id,
					     efi_lba lba, struct efi_block_io2_token *token,
					     uint64_t buffer_size, void *buffer);
	efi_status (EFIAPI *flush_blocks_ex)(struct efi_block_io2_protocol *this,
					     struct efi_block_io2_token *token);
};

/* --- EFI_DISK_INFO_PROTOCOL --- */

struct efi_disk_info_protocol {
	struct efi_guid interface;		/* EFI_GUID_DISK_INFO_*_INTERFACE */
	efi_status (EFIAPI *inquiry)(struct efi_disk_info_protocol *this, void *inquiry_data,
				     uint32_t *inquiry_data_size);
	efi_status (EFIAPI *identify)(struct efi_disk_info_protocol *this, void *identify_data,
				      uint32_t *identify_data_size);
	efi_status (EFIAPI *sense_data)(struct efi_disk_info_protocol *this, void *sense_data,
					uint32_t *sense_data_size, uint8_t *sense_data_number);
	efi_status (EFIAPI *which_ide)(struct efi_disk_info_protocol *this, uint32_t *ide_channel,
				       uint32_t *ide_device);
};

/* --- EFI_NVM_EXPRESS_PASS_THRU_PROTOCOL --- */

#define EFI_NVM_EXPRESS_PASS_THRU_ATTRIBUTES_PHYSICAL	0x0001u
#define EFI_NVM_EXPRESS_PASS_THRU_ATTRIBUTES_LOGICAL	0x0002u
#define EFI_NVM_EXPRESS_PASS_THRU_ATTRIBUTES_NONBLOCKIO	0x0004u
#define EFI_NVM_EXPRESS_PASS_THRU_ATTRIBUTES_CMD_SET_NVM 0x0008u

struct efi_nvm_express_pass_thru_mode {
	uint32_t attributes;
	uint32_t io_align;
	uint32_t nvme_version;
};

/* command dword 0: opcode (bits 0-7), fused operation (8-9) */
#define EFI_NVME_CDW0(opcode, fused) ((uint32_t)(opcode) | ((uint32_t)(fused) & 3) << 8)

/* efi_nvm_express_command.flags: which of cdw2..cdw15 the command gives */
#define CDW2_VALID	0x01
#define CDW3_VALID	0x02
#define CDW10_VALID	0x04
#define CDW11_VALID	0x08
#define CDW12_VALID	0x10
#define CDW13_VALID	0x20
#define CDW14_VALID	0x40
#define CDW15_VALID	0x80

struct efi_nvm_express_command {
	uint32_t cdw0;				/* EFI_NVME_CDW0 */
	uint8_t flags;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

struct efi_nvm_express_completion {
	uint32_t dw0;
	uint32_t dw1;
	uint32_t dw2;
	uint32_t dw3;
};

#define NVME_ADMIN_QUEUE	0x00
#define NVME_IO_QUEUE		0x01

struct efi_nvm_express_pass_thru_command_packet {
	uint64_t command_timeout;		/* 100 ns units; 0: wait forever */
	void *transfer_buffer;
	uint32_t transfer_length;
	void *metadata_buffer;
	uint32_t metadata_length;
	uint8_t queue_type;			/* NVME_ADMIN_QUEUE, NVME_IO_QUEUE */
	struct efi_nvm_express_command *nvme_cmd;
	struct efi_nvm_express_completion *nvme_completion;
};

struct efi_nvm_express_pass_thru_protocol {
	struct efi_nvm_express_pass_thru_mode *mode;
	efi_status (EFIAPI *pass_thru)(struct efi_nvm_express_pass_thru_protocol *this,
				       uint32_t namespace_id,
				       struct efi_nvm_express_pass_thru_command_packet *packet,
				       efi_event event);
	efi_status (EFIAPI *get_next_namespace)(struct efi_nvm_express_pass_thru_protocol *this,
						uint32_t *namespace_id);
	efi_status (EFIAPI *build_device_path)(struct efi_nvm_express_pass_thru_protocol *this,
					       uint32_t namespace_id,
					       struct efi_device_path_protocol **device_path);
	efi_status (EFIAPI *get_namespace)(struct efi_nvm_express_pass_thru_protocol *this,
					   struct efi_device_path_protocol *device_path,
					   uint32_t *namespace_id);
};

/* --- EFI_EXT_SCSI_PASS_THRU_PROTOCOL --- */

#define TARGET_MAX_BYTES 0x10

#define EFI_EXT_SCSI_PASS_THRU_ATTRIBUTES_PHYSICAL	0x0001u
#define EFI_EXT_SCSI_PASS_THRU_ATTRIBUTES_LOGICAL	0x0002u
#define EFI_EXT_SCSI_PASS_THRU_ATTRIBUTES_NONBLOCKIO	0x0004u

#define EFI_EXT_SCSI_DATA_DIRECTION_READ		0
#define EFI_EXT_SCSI_DATA_DIRECTION_WRITE		1
#define EFI_EXT_SCSI_DATA_DIRECTION_BIDIRECTIONAL	2

struct efi_ext_scsi_pass_thru_mode {
	uint32_t adapter_id;
	uint32_t attributes;
	uint32_t io_align;
};

struct efi_ext_scsi_pass_thru_scsi_request_packet {
	uint64_t timeout;			/* 100 ns units; 0: wait forever */
	void *in_data_buffer;
	void *out_data_buffer;
	void *sense_data;
	void *cdb;
	uint32_t in_transfer_length;
	uint32_t out_transfer_length;
	uint8_t cdb_length;
	uint8_t data_direction;
	uint8_t host_adapter_status;
	uint8_t target_status;
	uint8_t sense_data_length;
};

struct efi_ext_scsi_pass_thru_protocol {
	struct efi_ext_scsi_pass_thru_mode *mode;
	efi_status (EFIAPI *pass_thru)(struct efi_ext_scsi_pass_thru_protocol *this, uint8_t *target,
				       uint64_t lun,
				       struct efi_ext_scsi_pass_thru_scsi_request_packet *packet,
				       efi_event event);
	efi_status (EFIAPI *get_next_target_lun)(struct efi_ext_scsi_pass_thru_protocol *this,
						 uint8_t **target, uint64_t *lun);
	efi_status (EFIAPI *build_device_path)(struct efi_ext_scsi_pass_thru_protocol *this,
					       uint8_t *target, uint64_t lun,
					       struct efi_device_path_protocol **device_path);
	efi_status (EFIAPI *get_target_lun)(struct efi_ext_scsi_pass_thru_protocol *this,
					    struct efi_device_path_protocol *device_path,
					    uint8_t **target, uint64_t *lun);
	efi_status (EFIAPI *reset_channel)(struct efi_ext_scsi_pass_thru_protocol *this);
	efi_status (EFIAPI *reset_target_lun)(struct efi_ext_scsi_pass_thru_protocol *this,
					      uint8_t *target, uint64_t lun);
	efi_status (EFIAPI *get_next_target)(struct efi_ext_scsi_pass_thru_protocol *this,
					     uint8_t **target);
};

/* --- EFI_ATA_PASS_THRU_PROTOCOL --- */

#define EFI_ATA_PASS_THRU_ATTRIBUTES_PHYSICAL	0x0001u
#define EFI_ATA_PASS_THRU_ATTRIBUTES_LOGICAL	0x0002u
#define EFI_ATA_PASS_THRU_ATTRIBUTES_NONBLOCKIO	0x0004u

struct efi_ata_pass_thru_mode {
	uint32_t attributes;
	uint32_t io_align;
};

/* the task file registers sent */
struct efi_ata_command_block {
	uint8_t reserved1[2];
	uint8_t ata_command;
	uint8_t ata_features;
	uint8_t ata_sector_number;
	uint8_t ata_cylinder_low;
	uint8_t ata_cylinder_high;
	uint8_t ata_device_head;
	uint8_t ata_sector_number_exp;
	uint8_t ata_cylinder_low_exp;
	uint8_t ata_cylinder_high_exp;
	uint8_t ata_features_exp;
	uint8_t ata_sector_count;
	uint8_t ata_sector_count_exp;
	uint8_t reserved2[6];
};

/* the task file registers returned */
struct efi_ata_status_block {
	uint8_t reserved1[2];
	uint8_t ata_status;
	uint8_t ata_error;
	uint8_t ata_sector_number;
	uint8_t ata_cylinder_low;
	uint8_t ata_cylinder_high;
	uint8_t ata_device_head;
	uint8_t ata_sector_number_exp;
	uint8_t ata_cylinder_low_exp;
	uint8_t ata_cylinder_high_exp;
	uint8_t reserved2;
	uint8_t ata_sector_count;
	uint8_t ata_sector_count_exp;
	uint8_t reserved3[6];
};

/* efi_ata_pass_thru_command_packet.protocol */
#define EFI_ATA_PASS_THRU_PROTOCOL_ATA_HARDWARE_RESET		0x00
#define EFI_ATA_PASS_THRU_PROTOCOL_ATA_SOFTWARE_RESET		0x01
#define EFI_ATA_PASS_THRU_PROTOCOL_ATA_NON_DATA			0x02
#define EFI_ATA_PASS_THRU_PROTOCOL_PIO_DATA_IN			0x04
#define EFI_ATA_PASS_THRU_PROTOCOL_PIO_DATA_OUT			0x05
#define EFI_ATA_PASS_THRU_PROTOCOL_DMA				0x06
#define EFI_ATA_PASS_THRU_PROTOCOL_DMA_QUEUED			0x07
#define EFI_ATA_PASS_THRU_PROTOCOL_DEVICE_DIAGNOSTIC		0x08
#define EFI_ATA_PASS_THRU_PROTOCOL_DEVICE_RESET			0x09
#define EFI_ATA_PASS_THRU_PROTOCOL_UDMA_DATA_IN			0x0a
#define EFI_ATA_PASS_THRU_PROTOCOL_UDMA_DATA_OUT		0x0b
#define EFI_ATA_PASS_THRU_PROTOCOL_FPDMA			0x0c
#define EFI_ATA_PASS_THRU_PROTOCOL_RETURN_RESPONSE		0xff

/* efi_ata_pass_thru_command_packet.length */
#define EFI_ATA_PASS_THRU_LENGTH_BYTES			0x80	/* lengths in bytes, not sectors */
#define EFI_ATA_PASS_THRU_LENGTH_MASK			0x70
#define EFI_ATA_PASS_THRU_LENGTH_NO_DATA_TRANSFER	0x00
#define EFI_ATA_PASS_THRU_LENGTH_FEATURES		0x10
#define EFI_ATA_PASS_THRU_LENGTH_SECTOR_COUNT		0x20
#define EFI_ATA_PASS_THRU_LENGTH_TPSIU			0x30
#define EFI_ATA_PASS_THRU_LENGTH_COUNT			0x0f

struct efi_ata_pass_thru_command_packet {
	struct efi_ata_status_block *asb;
	struct efi_ata_command_block *acb;
	uint64_t timeout;			/* 100 ns units; 0: wait forever */
	void *in_data_buffer;
	void *out_data_buffer;
	uint32_t in_transfer_length;
	uint32_t out_transfer_length;
	uint8_t protocol;
	uint8_t length;
};

struct efi_ata_pass_thru_protocol {
	struct efi_ata_pass_thru_mode *mode;
	efi_status (EFIAPI *pass_thru)(struct efi_ata_pass_thru_protocol *this, uint16_t port,
				       uint16_t port_multiplier_port,
				       struct efi_ata_pass_thru_command_packet *packet,
				       efi_event event);
	efi_status (EFIAPI *get_next_port)(struct efi_ata_pass_thru_protocol *this, uint16_t *port);
	efi_status (EFIAPI *get_next_device)(struct efi_ata_pass_thru_protocol *this, uint16_t port,
					     uint16_t *port_multiplier_port);
	efi_status (EFIAPI *build_device_path)(struct efi_ata_pass_thru_protocol *this, uint16_t port,
					       uint16_t port_multiplier_port,
					       struct efi_device_path_protocol **device_path);
	efi_status (EFIAPI *get_device)(struct efi_ata_pass_thru_protocol *this,
					struct efi_device_path_protocol *device_path, uint16_t *port,
					uint16_t *port_multiplier_port);
	efi_status (EFIAPI *reset_port)(struct efi_ata_pass_thru_protocol *this, uint16_t port);
	efi_status (EFIAPI *reset_device)(struct efi_ata_pass_thru_protocol *this, uint16_t port,
					  uint16_t port_multiplier_port);
};

/* --- EFI_SIMPLE_NETWORK_PROTOCOL --- */

struct efi_mac_address {
	uint8_t addr[32];
};

union efi_ip_address {
	uint32_t addr[4];
	uint8_t v4[4];
	uint8_t v6[16];
};

#define MAX_MCAST_FILTER_CNT 16

enum efi_simple_network_state {
	EfiSimpleNetworkStopped = 0,
	EfiSimpleNetworkStarted = 1,
	EfiSimpleNetworkInitialized = 2,
	EfiSimpleNetworkMaxState = 3,
};

#define EFI_SIMPLE_NETWORK_RECEIVE_UNICAST		0x01u
#define EFI_SIMPLE_NETWORK_RECEIVE_MULTICAST		0x02u
#define EFI_SIMPLE_NETWORK_RECEIVE_BROADCAST		0x04u
#define EFI_SIMPLE_NETWORK_RECEIVE_PROMISCUOUS		0x08u
#define EFI_SIMPLE_NETWORK_RECEIVE_PROMISCUOUS_MULTICAST 0x10u

/* get_status's interrupt status */
#define EFI_SIMPLE_NETWORK_RECEIVE_INTERRUPT	0x01u
#define EFI_SIMPLE_NETWORK_TRANSMIT_INTERRUPT	0x02u
#define EFI_SIMPLE_NETWORK_COMMAND_INTERRUPT	0x04u
#define EFI_SIMPLE_NETWORK_SOFTWARE_INTERRUPT	0x08u

#define EFI_SIMPLE_NETWORK_PROTOCOL_REVISION 0x00010000u

struct efi_simple_network_mode {
	uint32_t state;				/* enum efi_simple_network_state */
	uint32_t hw_address_size;
	uint32_t media_header_size;
	uint32_t max_packet_size;
	uint32_t nv_ram_size;
	uint32_t nv_ram_access_size;
	uint32_t receive_filter_mask;
	uint32_t receive_filter_setting;
	uint32_t max_mcast_filter_count;
	uint32_t mcast_filter_count;
	struct efi_mac_address mcast_filter[MAX_MCAST_FILTER_CNT];
	struct efi_mac_address current_address;
	struct efi_mac_address broadcast_address;
	struct efi_mac_address permanent_address;
	uint8_t if_type;			/* RFC 3232's ARP hardware type: 1 for Ethernet */
	efi_boolean mac_address_changeable;
	efi_boolean multiple_tx_supported;
	efi_boolean media_present_supported;
	efi_boolean media_present;
};

/* statistics(): a table of counters, as many as the caller's size holds */
struct efi_network_statistics {
	uint64_t rx_total_frames;
	uint64_t rx_good_frames;
	uint64_t rx_undersize_frames;
	uint64_t rx_oversize_frames;
	uint64_t rx_dropped_frames;
	uint64_t rx_unicast_frames;
	uint64_t rx_broadcast_frames;
	uint64_t rx_multicast_frames;
	uint64_t rx_crc_error_frames;
	uint64_t rx_total_bytes;
	uint64_t tx_total_frames;
	uint64_t tx_good_frames;
	uint64_t tx_undersize_frames;
	uint64_t tx_oversize_frames;
	uint64_t tx_dropped_frames;
	uint64_t tx_unicast_frames;
	uint64_t tx_broadcast_frames;
	uint64_t tx_multicast_frames;
	uint64_t tx_crc_error_frames;
	uint64_t tx_total_bytes;
	uint64_t collisions;
	uint64_t unsupported_protocol;
	uint64_t rx_duplicated_frames;
	uint64_t rx_decrypt_error_frames;
	uint64_t tx_error_frames;
	uint64_t tx_retry_frames;
};

struct efi_simple_network_protocol {
	uint64_t revision;
	efi_status (EFIAPI *start)(struct efi_simple_network_protocol *this);
	efi_status (EFIAPI *stop)(struct efi_simple_network_protocol *this);
	efi_status (EFIAPI *initialize)(struct efi_simple_network_protocol *this,
					uint64_t extra_rx_buffer_size, uint64_t extra_tx_buffer_size);
	efi_status (EFIAPI *reset)(struct efi_simple_network_protocol *this,
				   efi_boolean extended_verification);
	efi_status (EFIAPI *shutdown)(struct efi_simple_network_protocol *this);
	efi_status (EFIAPI *receive_filters)(struct efi_simple_network_protocol *this, uint32_t enable,
					     uint32_t disable, efi_boolean reset_mcast_filter,
					     uint64_t mcast_filter_count,
					     struct efi_mac_address *mcast_filter);
	efi_status (EFIAPI *station_address)(struct efi_simple_network_protocol *this,
					     efi_boolean reset, struct efi_mac_address *new_address);
	efi_status (EFIAPI *statistics)(struct efi_simple_network_protocol *this, efi_boolean reset,
					uint64_t *statistics_size,
					struct efi_network_statistics *statistics_table);
	efi_status (EFIAPI *mcast_ip_to_mac)(struct efi_simple_network_protocol *this, efi_boolean ipv6,
					     union efi_ip_address *ip, struct efi_mac_address *mac);
	efi_status (EFIAPI *nv_data)(struct efi_simple_network_protocol *this, efi_boolean read_write,
				     uint64_t offset, uint64_t buffer_size, void *buffer);
	efi_status (EFIAPI *get_status)(struct efi_simple_network_protocol *this,
					uint32_t *interrupt_status, void **tx_buf);
	efi_status (EFIAPI *transmit)(struct efi_simple_network_protocol *this, uint64_t header_size,
				      uint64_t buffer_size, void *buffer,
				      struct efi_mac_address *src_addr,
				      struct efi_mac_address *dest_addr, uint16_t *protocol);
	efi_status (EFIAPI *receive)(struct efi_simple_network_protocol *this, uint64_t *header_size,
				     uint64_t *buffer_size, void *buffer,
				     struct efi_mac_address *src_addr,
				     struct efi_mac_address *dest_addr, uint16_t *protocol);
	efi_event wait_for_packet;
	struct efi_simple_network_mode *mode;
};

/* --- EFI_NETWORK_INTERFACE_IDENTIFIER_PROTOCOL (3.1 has the same layout) --- */

#define EFI_NETWORK_INTERFACE_IDENTIFIER_PROTOCOL_REVISION 0x00020000u

enum efi_network_protocol_type {
	EfiNetworkInterfaceUndi = 1,
};

struct efi_network_interface_identifier_protocol {
	uint64_t revision;
	uint64_t id;				/* the UNDI's !PXE structure, or 0 */
	uint64_t image_addr;
	uint32_t image_size;
	char string_id[4];			/* "UNDI" */
	uint8_t type;				/* enum efi_network_protocol_type */
	uint8_t major_ver;
	uint8_t minor_ver;
	efi_boolean ipv6_supported;
	uint16_t if_num;
};

/* --- EFI_SIMPLE_TEXT_INPUT_PROTOCOL and EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL --- */

struct efi_input_key {
	uint16_t scan_code;
	efi_char16 unicode_char;
};

struct efi_simple_text_input_protocol {
	efi_status (EFIAPI *reset)(struct efi_simple_text_input_protocol *this,
				   efi_boolean extended_verification);
	efi_status (EFIAPI *read_key_stroke)(struct efi_simple_text_input_protocol *this,
					     struct efi_input_key *key);
	efi_event wait_for_key;
};

struct efi_simple_text_output_mode {
	int32_t max_mode;
	int32_t mode;
	int32_t attribute;
	int32_t cursor_column;
	int32_t cursor_row;
	efi_boolean cursor_visible;
};

#define EFI_BLACK		0x00
#define EFI_BLUE		0x01
#define EFI_GREEN		0x02
#define EFI_RED			0x04
#define EFI_LIGHTGRAY		0x07
#define EFI_WHITE		0x0f
#define EFI_TEXT_ATTR(fg, bg)	((fg) | ((bg) << 4))

struct efi_simple_text_output_protocol {
	efi_status (EFIAPI *reset)(struct efi_simple_text_output_protocol *this,
				   efi_boolean extended_verification);
	efi_status (EFIAPI *output_string)(struct efi_simple_text_output_protocol *this,
					   efi_char16 *string);
	efi_status (EFIAPI *test_string)(struct efi_simple_text_output_protocol *this,
					 efi_char16 *string);
	efi_status (EFIAPI *query_mode)(struct efi_simple_text_output_protocol *this,
					uint64_t mode_number, uint64_t *columns, uint64_t *rows);
	efi_status (EFIAPI *set_mode)(struct efi_simple_text_output_protocol *this,
				      uint64_t mode_number);
	efi_status (EFIAPI *set_attribute)(struct efi_simple_text_output_protocol *this,
					   uint64_t attribute);
	efi_status (EFIAPI *clear_screen)(struct efi_simple_text_output_protocol *this);
	efi_status (EFIAPI *set_cursor_position)(struct efi_simple_text_output_protocol *this,
						 uint64_t column, uint64_t row);
	efi_status (EFIAPI *enable_cursor)(struct efi_simple_text_output_protocol *this,
					   efi_boolean visible);
	struct efi_simple_text_output_mode *mode;
};

/* --- the layouts the specification fixes (64-bit target) --- */

#define EFI_ASSERT_AT(type, member, off) \
	_Static_assert(offsetof(type, member) == (off), #type "." #member " at " #off)
#define EFI_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof " #type)

EFI_ASSERT_SIZE(struct efi_table_header, 24);
EFI_ASSERT_AT(struct efi_table_header, revision, 8);
EFI_ASSERT_AT(struct efi_table_header, crc32, 16);

EFI_ASSERT_AT(struct efi_system_table, firmware_vendor, 0x18);
EFI_ASSERT_AT(struct efi_system_table, firmware_revision, 0x20);
EFI_ASSERT_AT(struct efi_system_table, console_in_handle, 0x28);
EFI_ASSERT_AT(struct efi_system_table, con_in, 0x30);
EFI_ASSERT_AT(struct efi_system_table, console_out_handle, 0x38);
EFI_ASSERT_AT(struct efi_system_table, con_out, 0x40);
EFI_ASSERT_AT(struct efi_system_table, standard_error_handle, 0x48);
EFI_ASSERT_AT(struct efi_system_table, std_err, 0x50);
EFI_ASSERT_AT(struct efi_system_table, runtime_services, 0x58);
EFI_ASSERT_AT(struct efi_system_table, boot_services, 0x60);
EFI_ASSERT_AT(struct efi_system_table, number_of_table_entries, 0x68);
EFI_ASSERT_AT(struct efi_system_table, configuration_table, 0x70);
EFI_ASSERT_SIZE(struct efi_system_table, 0x78);

EFI_ASSERT_SIZE(struct efi_configuration_table, 24);
EFI_ASSERT_AT(struct efi_configuration_table, vendor_table, 16);

EFI_ASSERT_AT(struct efi_runtime_services, get_time, 0x18);
EFI_ASSERT_AT(struct efi_runtime_services, set_virtual_address_map, 0x38);
EFI_ASSERT_AT(struct efi_runtime_services, get_variable, 0x48);
EFI_ASSERT_AT(struct efi_runtime_services, get_next_variable_name, 0x50);
EFI_ASSERT_AT(struct efi_runtime_services, set_variable, 0x58);
EFI_ASSERT_AT(struct efi_runtime_services, get_next_high_monotonic_count, 0x60);
EFI_ASSERT_AT(struct efi_runtime_services, reset_system, 0x68);
EFI_ASSERT_AT(struct efi_runtime_services, update_capsule, 0x70);
EFI_ASSERT_AT(struct efi_runtime_services, query_capsule_capabilities, 0x78);
EFI_ASSERT_AT(struct efi_runtime_services, query_variable_info, 0x80);
EFI_ASSERT_SIZE(struct efi_runtime_services, 0x88);

EFI_ASSERT_AT(struct efi_boot_services, raise_tpl, 0x18);
EFI_ASSERT_AT(struct efi_boot_services, restore_tpl, 0x20);
EFI_ASSERT_AT(struct efi_boot_services, allocate_pages, 0x28);
EFI_ASSERT_AT(struct efi_boot_services, free_pages, 0x30);
EFI_ASSERT_AT(struct efi_boot_services, get_memory_map, 0x38);
EFI_ASSERT_AT(struct efi_boot_services, allocate_pool, 0x40);
EFI_ASSERT_AT(struct efi_boot_services, free_pool, 0x48);
EFI_ASSERT_AT(struct efi_boot_services, create_event, 0x50);
EFI_ASSERT_AT(struct efi_boot_services, set_timer, 0x58);
EFI_ASSERT_AT(struct efi_boot_services, wait_for_event, 0x60);
EFI_ASSERT_AT(struct efi_boot_services, signal_event, 0x68);
EFI_ASSERT_AT(struct efi_boot_services, close_event, 0x70);
EFI_ASSERT_AT(struct efi_boot_services, check_event, 0x78);
EFI_ASSERT_AT(struct efi_boot_services, install_protocol_interface, 0x80);
EFI_ASSERT_AT(struct efi_boot_services, reinstall_protocol_interface, 0x88);
EFI_ASSERT_AT(struct efi_boot_services, uninstall_protocol_interface, 0x90);
EFI_ASSERT_AT(struct efi_boot_services, handle_protocol, 0x98);
EFI_ASSERT_AT(struct efi_boot_services, reserved, 0xa0);
EFI_ASSERT_AT(struct efi_boot_services, register_protocol_notify, 0xa8);
EFI_ASSERT_AT(struct efi_boot_services, locate_handle, 0xb0);
EFI_ASSERT_AT(struct efi_boot_services, locate_device_path, 0xb8);
EFI_ASSERT_AT(struct efi_boot_services, install_configuration_table, 0xc0);
EFI_ASSERT_AT(struct efi_boot_services, load_image, 0xc8);
EFI_ASSERT_AT(struct efi_boot_services, start_image, 0xd0);
EFI_ASSERT_AT(struct efi_boot_services, exit, 0xd8);
EFI_ASSERT_AT(struct efi_boot_services, unload_image, 0xe0);
EFI_ASSERT_AT(struct efi_boot_services, exit_boot_services, 0xe8);
EFI_ASSERT_AT(struct efi_boot_services, get_next_monotonic_count, 0xf0);
EFI_ASSERT_AT(struct efi_boot_services, stall, 0xf8);
EFI_ASSERT_AT(struct efi_boot_services, set_watchdog_timer, 0x100);
EFI_ASSERT_AT(struct efi_boot_services, connect_controller, 0x108);
EFI_ASSERT_AT(struct efi_boot_services, disconnect_controller, 0x110);
EFI_ASSERT_AT(struct efi_boot_services, open_protocol, 0x118);
EFI_ASSERT_AT(struct efi_boot_services, close_protocol, 0x120);
EFI_ASSERT_AT(struct efi_boot_services, open_protocol_information, 0x128);
EFI_ASSERT_AT(struct efi_boot_services, protocols_per_handle, 0x130);
EFI_ASSERT_AT(struct efi_boot_services, locate_handle_buffer, 0x138);
EFI_ASSERT_AT(struct efi_boot_services, locate_protocol, 0x140);
EFI_ASSERT_AT(struct efi_boot_services, install_multiple_protocol_interfaces, 0x148);
EFI_ASSERT_AT(struct efi_boot_services, uninstall_multiple_protocol_interfaces, 0x150);
EFI_ASSERT_AT(struct efi_boot_services, calculate_crc32, 0x158);
EFI_ASSERT_AT(struct efi_boot_services, copy_mem, 0x160);
EFI_ASSERT_AT(struct efi_boot_services, set_mem, 0x168);
EFI_ASSERT_AT(struct efi_boot_services, create_event_ex, 0x170);
EFI_ASSERT_SIZE(struct efi_boot_services, 0x178);

EFI_ASSERT_SIZE(struct efi_open_protocol_information_entry, 24);
EFI_ASSERT_AT(struct efi_open_protocol_information_entry, open_count, 20);

EFI_ASSERT_SIZE(struct efi_memory_descriptor, 40);
EFI_ASSERT_AT(struct efi_memory_descriptor, physical_start, 8);
EFI_ASSERT_AT(struct efi_memory_descriptor, attribute, 32);

EFI_ASSERT_SIZE(struct efi_time, 16);
EFI_ASSERT_AT(struct efi_time, nanosecond, 8);
EFI_ASSERT_AT(struct efi_time, time_zone, 12);
EFI_ASSERT_AT(struct efi_time, daylight, 14);

EFI_ASSERT_SIZE(struct efi_capsule_header, 28);

EFI_ASSERT_SIZE(struct efi_device_path_protocol, 4);
EFI_ASSERT_SIZE(struct efi_device_path_pci, 6);
EFI_ASSERT_SIZE(struct efi_device_path_controller, 8);
EFI_ASSERT_SIZE(struct efi_device_path_memmap, 24);
EFI_ASSERT_SIZE(struct efi_device_path_vendor, 20);
EFI_ASSERT_SIZE(struct efi_device_path_acpi, 12);
EFI_ASSERT_SIZE(struct efi_device_path_atapi, 8);
EFI_ASSERT_SIZE(struct efi_device_path_scsi, 8);
EFI_ASSERT_SIZE(struct efi_device_path_usb, 6);
EFI_ASSERT_SIZE(struct efi_device_path_mac, 37);
EFI_ASSERT_SIZE(struct efi_device_path_sata, 10);
EFI_ASSERT_SIZE(struct efi_device_path_nvme_namespace, 16);
EFI_ASSERT_SIZE(struct efi_device_path_hard_drive, 42);

EFI_ASSERT_AT(struct efi_loaded_image_protocol, parent_handle, 8);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, system_table, 16);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, device_handle, 24);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, file_path, 32);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, load_options_size, 48);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, load_options, 56);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, image_base, 64);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, image_size, 72);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, image_code_type, 80);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, image_data_type, 84);
EFI_ASSERT_AT(struct efi_loaded_image_protocol, unload, 88);
EFI_ASSERT_SIZE(struct efi_loaded_image_protocol, 96);

EFI_ASSERT_AT(struct efi_driver_binding_protocol, stop, 16);
EFI_ASSERT_AT(struct efi_driver_binding_protocol, version, 24);
EFI_ASSERT_AT(struct efi_driver_binding_protocol, image_handle, 32);
EFI_ASSERT_AT(struct efi_driver_binding_protocol, driver_binding_handle, 40);
EFI_ASSERT_SIZE(struct efi_driver_binding_protocol, 48);

EFI_ASSERT_SIZE(struct efi_component_name2_protocol, 24);

EFI_ASSERT_AT(struct efi_pci_io_protocol, poll_mem, 0);
EFI_ASSERT_AT(struct efi_pci_io_protocol, poll_io, 8);
EFI_ASSERT_AT(struct efi_pci_io_protocol, mem.read, 16);
EFI_ASSERT_AT(struct efi_pci_io_protocol, mem.write, 24);
EFI_ASSERT_AT(struct efi_pci_io_protocol, io.read, 32);
EFI_ASSERT_AT(struct efi_pci_io_protocol, io.write, 40);
EFI_ASSERT_AT(struct efi_pci_io_protocol, pci.read, 48);
EFI_ASSERT_AT(struct efi_pci_io_protocol, pci.write, 56);
EFI_ASSERT_AT(struct efi_pci_io_protocol, copy_mem, 64);
EFI_ASSERT_AT(struct efi_pci_io_protocol, map, 72);
EFI_ASSERT_AT(struct efi_pci_io_protocol, unmap, 80);
EFI_ASSERT_AT(struct efi_pci_io_protocol, allocate_buffer, 88);
EFI_ASSERT_AT(struct efi_pci_io_protocol, free_buffer, 96);
EFI_ASSERT_AT(struct efi_pci_io_protocol, flush, 104);
EFI_ASSERT_AT(struct efi_pci_io_protocol, get_location, 112);
EFI_ASSERT_AT(struct efi_pci_io_protocol, attributes, 120);
EFI_ASSERT_AT(struct efi_pci_io_protocol, get_bar_attributes, 128);
EFI_ASSERT_AT(struct efi_pci_io_protocol, set_bar_attributes, 136);
EFI_ASSERT_AT(struct efi_pci_io_protocol, rom_size, 144);
EFI_ASSERT_AT(struct efi_pci_io_protocol, rom_image, 152);
EFI_ASSERT_SIZE(struct efi_pci_io_protocol, 160);

EFI_ASSERT_AT(struct efi_block_io_media, removable_media, 4);
EFI_ASSERT_AT(struct efi_block_io_media, media_present, 5);
EFI_ASSERT_AT(struct efi_block_io_media, logical_partition, 6);
EFI_ASSERT_AT(struct efi_block_io_media, read_only, 7);
EFI_ASSERT_AT(struct efi_block_io_media, write_caching, 8);
EFI_ASSERT_AT(struct efi_block_io_media, block_size, 12);
EFI_ASSERT_AT(struct efi_block_io_media, io_align, 16);
EFI_ASSERT_AT(struct efi_block_io_media, last_block, 24);
EFI_ASSERT_AT(struct efi_block_io_media, lowest_aligned_lba, 32);
EFI_ASSERT_AT(struct efi_block_io_media, logical_blocks_per_physical_block, 40);
EFI_ASSERT_AT(struct efi_block_io_media, optimal_transfer_length_granularity, 44);
EFI_ASSERT_SIZE(struct efi_block_io_media, 48);

EFI_ASSERT_AT(struct efi_block_io_protocol, media, 8);
EFI_ASSERT_AT(struct efi_block_io_protocol, reset, 16);
EFI_ASSERT_AT(struct efi_block_io_protocol, read_blocks, 24);
EFI_ASSERT_AT(struct efi_block_io_protocol, write_blocks, 32);
EFI_ASSERT_AT(struct efi_block_io_protocol, flush_blocks, 40);
EFI_ASSERT_SIZE(struct efi_block_io_protocol, 48);

EFI_ASSERT_SIZE(struct efi_block_io2_token, 16);
EFI_ASSERT_AT(struct efi_block_io2_protocol, read_blocks_ex, 16);
EFI_ASSERT_AT(struct efi_block_io2_protocol, flush_blocks_ex, 32);
EFI_ASSERT_SIZE(struct efi_block_io2_protocol, 40);

EFI_ASSERT_AT(struct efi_disk_info_protocol, inquiry, 16);
EFI_ASSERT_AT(struct efi_disk_info_protocol, which_ide, 40);
EFI_ASSERT_SIZE(struct efi_disk_info_protocol, 48);

EFI_ASSERT_SIZE(struct efi_nvm_express_pass_thru_mode, 12);
EFI_ASSERT_AT(struct efi_nvm_express_command, flags, 4);
EFI_ASSERT_AT(struct efi_nvm_express_command, nsid, 8);
EFI_ASSERT_AT(struct efi_nvm_express_command, cdw10, 20);
EFI_ASSERT_AT(struct efi_nvm_express_command, cdw15, 40);
EFI_ASSERT_SIZE(struct efi_nvm_express_command, 44);
EFI_ASSERT_SIZE(struct efi_nvm_express_completion, 16);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, transfer_buffer, 8);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, transfer_length, 16);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, metadata_buffer, 24);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, metadata_length, 32);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, queue_type, 36);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, nvme_cmd, 40);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_command_packet, nvme_completion, 48);
EFI_ASSERT_SIZE(struct efi_nvm_express_pass_thru_command_packet, 56);
EFI_ASSERT_AT(struct efi_nvm_express_pass_thru_protocol, get_namespace, 32);
EFI_ASSERT_SIZE(struct efi_nvm_express_pass_thru_protocol, 40);

EFI_ASSERT_SIZE(struct efi_ext_scsi_pass_thru_mode, 12);
EFI_ASSERT_AT(struct efi_ext_scsi_pass_thru_scsi_request_packet, cdb, 32);
EFI_ASSERT_AT(struct efi_ext_scsi_pass_thru_scsi_request_packet, in_transfer_length, 40);
EFI_ASSERT_AT(struct efi_ext_scsi_pass_thru_scsi_request_packet, cdb_length, 48);
EFI_ASSERT_AT(struct efi_ext_scsi_pass_thru_scsi_request_packet, sense_data_length, 52);
EFI_ASSERT_SIZE(struct efi_ext_scsi_pass_thru_scsi_request_packet, 56);
EFI_ASSERT_AT(struct efi_ext_scsi_pass_thru_protocol, get_next_target, 56);
EFI_ASSERT_SIZE(struct efi_ext_scsi_pass_thru_protocol, 64);

EFI_ASSERT_SIZE(struct efi_ata_pass_thru_mode, 8);
EFI_ASSERT_SIZE(struct efi_ata_command_block, 20);
EFI_ASSERT_SIZE(struct efi_ata_status_block, 20);
EFI_ASSERT_AT(struct efi_ata_command_block, ata_command, 2);
EFI_ASSERT_AT(struct efi_ata_command_block, ata_sector_count, 12);
EFI_ASSERT_AT(struct efi_ata_status_block, ata_status, 2);
EFI_ASSERT_AT(struct efi_ata_status_block, ata_sector_count, 12);
EFI_ASSERT_AT(struct efi_ata_pass_thru_command_packet, timeout, 16);
EFI_ASSERT_AT(struct efi_ata_pass_thru_command_packet, in_transfer_length, 40);
EFI_ASSERT_AT(struct efi_ata_pass_thru_command_packet, protocol, 48);
EFI_ASSERT_AT(struct efi_ata_pass_thru_command_packet, length, 49);
EFI_ASSERT_SIZE(struct efi_ata_pass_thru_command_packet, 56);
EFI_ASSERT_AT(struct efi_ata_pass_thru_protocol, reset_device, 56);
EFI_ASSERT_SIZE(struct efi_ata_pass_thru_protocol, 64);

EFI_ASSERT_SIZE(struct efi_mac_address, 32);
EFI_ASSERT_SIZE(union efi_ip_address, 16);
EFI_ASSERT_AT(struct efi_simple_network_mode, mcast_filter, 40);
EFI_ASSERT_AT(struct efi_simple_network_mode, current_address, 552);
EFI_ASSERT_AT(struct efi_simple_network_mode, broadcast_address, 584);
EFI_ASSERT_AT(struct efi_simple_network_mode, permanent_address, 616);
EFI_ASSERT_AT(struct efi_simple_network_mode, if_type, 648);
EFI_ASSERT_AT(struct efi_simple_network_mode, media_present, 652);
EFI_ASSERT_SIZE(struct efi_simple_network_mode, 656);
EFI_ASSERT_SIZE(struct efi_network_statistics, 26 * 8);
EFI_ASSERT_AT(struct efi_simple_network_protocol, start, 8);
EFI_ASSERT_AT(struct efi_simple_network_protocol, get_status, 88);
EFI_ASSERT_AT(struct efi_simple_network_protocol, transmit, 96);
EFI_ASSERT_AT(struct efi_simple_network_protocol, receive, 104);
EFI_ASSERT_AT(struct efi_simple_network_protocol, wait_for_packet, 112);
EFI_ASSERT_AT(struct efi_simple_network_protocol, mode, 120);
EFI_ASSERT_SIZE(struct efi_simple_network_protocol, 128);

EFI_ASSERT_AT(struct efi_network_interface_identifier_protocol, image_size, 24);
EFI_ASSERT_AT(struct efi_network_interface_identifier_protocol, string_id, 28);
EFI_ASSERT_AT(struct efi_network_interface_identifier_protocol, type, 32);
EFI_ASSERT_AT(struct efi_network_interface_identifier_protocol, if_num, 36);
EFI_ASSERT_SIZE(struct efi_network_interface_identifier_protocol, 40);

EFI_ASSERT_SIZE(struct efi_input_key, 4);
EFI_ASSERT_SIZE(struct efi_simple_text_input_protocol, 24);
EFI_ASSERT_SIZE(struct efi_simple_text_output_mode, 24);
EFI_ASSERT_AT(struct efi_simple_text_output_protocol, enable_cursor, 64);
EFI_ASSERT_AT(struct efi_simple_text_output_protocol, mode, 72);
EFI_ASSERT_SIZE(struct efi_simple_text_output_protocol, 80);

#endif
