/*
 * The UEFI driver host's inner interfaces (build/drivers/efi-blk,
 * docs/efi.md): UEFI's boot services as this OS's kernel-service library
 * for binary drivers of another OS, the engine that runs their code, and
 * the class glue.
 */
#ifndef EFI_HOST_H
#define EFI_HOST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <efi/pe.h>
#include <efi/uefi.h>

/* --- the engine: calls between our code and the images' --- */

/*
 * Call the image's function FN with N 64-bit arguments in its own
 * convention (Microsoft x64 natively; the translated engines marshal).
 */
uint64_t efi_callv(const void *fn, unsigned n, const uint64_t *args);
#define EFI_NARGS(...) (sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
#define efi_call(fn, ...) \
	efi_callv((const void *)(fn), EFI_NARGS(__VA_ARGS__), (uint64_t[]){ __VA_ARGS__ })

/*
 * The address an image calls to reach our function FN (an EFIAPI function
 * of NARGS arguments, NAME in logs): FN itself natively, a bridge in the
 * translated engines.
 */
void *efi_export(void *fn, const char *name, unsigned nargs);
#define EFI_EXPORT(fn, nargs) efi_export((void *)(fn), #fn, nargs)

/* the translated engine (efi/dbt.c): set once it runs the images */
extern bool efi_translated;
int efi_dbt_init(bool arm64, char *err, size_t errlen);
int efi_dbt_add_image(void *base, size_t size, char *err, size_t errlen);
uint64_t efi_dbt_call(const void *fn, unsigned n, const uint64_t *args);
void *efi_dbt_export(void *fn, const char *name);
struct efi_dbt_counts {
	unsigned long calls_in, calls_out;	/* host -> image, image -> host */
	unsigned services;			/* the services given (not those that only stop it) */
	unsigned used;				/* of all the images were given, those they called */
	const char *names[64];			/* the ones used */
	unsigned nnames;
};
void efi_dbt_counts(struct efi_dbt_counts *c);
/* after SIGUSR1: the engine's counts to the log (the class glue's loops call it) */
void efi_report_counts(void);

/* --- the images --- */

#define EFI_MAX_IMAGES 8

struct efi_loaded {
	char name[64];			/* the driver's name (file name without .efi) */
	struct efi_image img;
	void *base;			/* where it runs */
	efi_handle handle;		/* its image handle */
	unsigned wx_pages;		/* pages code and data share: writable and executable */
	struct efi_loaded_image_protocol loaded;
};

extern struct efi_loaded efi_images[EFI_MAX_IMAGES];
extern unsigned efi_nimages;

/* the image and function an address of driver code is in, for reports */
void efi_describe(uint64_t addr, char *out, size_t outlen);

/* --- the boot services (efi/boot.c) --- */

extern struct efi_system_table *efi_st;
extern struct efi_boot_services *efi_bs;

/* build the system table, boot and runtime services: 0, or -1 */
int efi_boot_init(void);

/* EFI_DEVICE_PATH_UTILITIES_PROTOCOL on a handle of its own (efi/devpath.c) */
int efi_devpath_init(void);

/* a new handle with PROTOCOL at INTERFACE on it (NULL handle: a new one) */
efi_status efi_install(efi_handle *handle, const struct efi_guid *protocol, void *interface);
/* the interface of PROTOCOL on HANDLE, or NULL */
void *efi_interface(efi_handle handle, const struct efi_guid *protocol);
/* every handle with PROTOCOL: their count, up to MAX into OUT */
unsigned efi_handles_with(const struct efi_guid *protocol, efi_handle *out, unsigned max);

/* ConnectController with every driver binding, recursively */
efi_status efi_connect_all(efi_handle controller);
/* DisconnectController of every driver from CONTROLLER */
efi_status efi_disconnect_all(efi_handle controller);

/* run the timer events that are due (at TPL_APPLICATION): the host's idle work */
void efi_dispatch_timers(void);
/* ns until the next timer event is due, or UINT64_MAX */
uint64_t efi_next_timer_ns(void);

/* a service a driver called that the host does not give: the driver stops */
_Noreturn void efi_unimplemented(const char *service);
/* log a line naming the driver host */
void efi_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pool memory as AllocatePool gives it (FreePool frees it), or NULL */
void *efi_pool(size_t size);

/* --- the block class glue (efi/blk.c) --- */

/* every Block I/O of a whole medium to bddf: 0, or -errno */
int efi_blk_attach(void);
/* serve bddf's requests until it goes: the exit status */
int efi_blk_run(void);

/* --- the network class glue (efi/net.c, the host built as efi-net) --- */

/* the Simple Network Protocol the driver made, started and initialized, to netd: 0 or -errno */
int efi_net_attach(void);
/* move frames between netd and the driver until netd goes: the exit status */
int efi_net_run(void);

/* --- the device (efi/pciio.c) --- */

/*
 * The handle of the driver's PCI device: EFI_PCI_IO_PROTOCOL on ddekit's
 * grant (config space, BARs, DMA memory) and its device path.
 */
efi_handle efi_pci_controller(unsigned dev_index);

/* --- memory the drivers allocate --- */

/* pages the device may reach (PciIo AllocateBuffer, bounce buffers) */
void *efi_dma_pages(size_t pages, uint64_t *bus);
void efi_dma_free_pages(void *p, size_t pages);

#endif
