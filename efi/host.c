/*
 * The UEFI driver host (build/drivers/efi-blk, docs/efi.md): binary
 * drivers of another OS — UEFI DXE drivers from Debian's OVMF and iPXE,
 * PE32+ images in the Microsoft x64 convention — in a driver process of
 * ours, on UEFI's boot services as this OS's kernel-service library.
 *
 *   efi-blk|efi-net [--engine native] IMAGE.efi|ROM.rom [IMAGE...]
 *
 * Before the sandbox closes, the host reads and checks each image
 * (efi_pe_parse: every header and extent), places it in memory of its own
 * and relocates it, sections given their own protection (no page both
 * writable and executable where the image keeps code and data apart).
 * Then, as firmware's DXE dispatcher would, it runs each image's entry
 * point with its image handle and the system table; a driver of the UEFI
 * driver model installs its Driver Binding there. The host makes the
 * handle of the device ddeio granted it (PCI I/O on ddekit, a device
 * path) and connects every driver to it, recursively, as
 * ConnectController does: Supported, then Start, down the stack (the
 * NVMe driver makes a namespace's handle with Block I/O; an ATA bus driver
 * makes a disk's). What the drivers produced is then served by the class
 * glue (efi/blk.c: Block I/O to bddf).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <efi/guids.h>

#include "host.h"

struct efi_loaded efi_images[EFI_MAX_IMAGES];
unsigned efi_nimages;
static const char *prog = "efi-blk";
static bool translated;		/* --engine dbt, or an AArch64 image */
static char driver_name[64] = "efi";

void efi_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ddekit_log(DDEKIT_LOG_INFO, "%s", line);
}

_Noreturn void efi_unimplemented(const char *service)
{
	ddekit_panic("%s called %s, which this host does not give (the driver stops)",
		     driver_name, service);
}

void efi_describe(uint64_t addr, char *out, size_t outlen)
{
	for (unsigned i = 0; i < efi_nimages; i++) {
		uint64_t base = (uint64_t)(uintptr_t)efi_images[i].base;

		if (addr >= base && addr - base < efi_images[i].img.image_size) {
			snprintf(out, outlen, "%s+%#llx", efi_images[i].name,
				 (unsigned long long)(addr - base));
			return;
		}
	}
	snprintf(out, outlen, "%#llx", (unsigned long long)addr);
}

/* --- the native engine: the image's code runs here, in its own convention --- */

typedef uint64_t EFIAPI (*call10)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
				 uint64_t, uint64_t, uint64_t, uint64_t);

uint64_t efi_callv(const void *fn, unsigned n, const uint64_t *args)
{
	uint64_t a[10] = { 0 };

	if (!fn)
		ddekit_panic("a call to a NULL function of the driver");
	if (efi_translated)
		return efi_dbt_call(fn, n, args);
	if (n > 10)
		ddekit_panic("a call with %u arguments (at most 10)", n);
	memcpy(a, args, n * sizeof(*a));
	/* Microsoft x64: the callee ignores the arguments it does not take */
	return ((call10)(uintptr_t)fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
}

void *efi_export(void *fn, const char *name, unsigned nargs)
{
	return efi_translated ? efi_dbt_export(fn, name) : fn;
}

/* SIGUSR1: what the translated engine has done so far (make bench reads it) */
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	usr1 = 1;
}

void efi_report_counts(void)
{
	struct efi_dbt_counts c;
	char names[1024] = "";

	if (!usr1)
		return;
	usr1 = 0;
	if (!efi_translated) {
		efi_log("native engine: no counts (calls cross without the host seeing them)");
		return;
	}
	efi_dbt_counts(&c);
	for (unsigned i = 0; i < c.nnames; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? " " : "",
			 c.names[i]);
	efi_log("translated engine: %lu calls into the images, %lu services called; %u services "
		"given, %u of them used: %s", c.calls_in, c.calls_out, c.services, c.used, names);
}

/* a fault in driver code: name the image and offset, then stop */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint64_t ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	char where[128], line[256];
	int n;

	efi_describe(ip, where, sizeof(where));
	n = snprintf(line, sizeof(line), "%s: %s: %s at %s (address %p)\n", prog, driver_name,
		     strsignal(sig), where, si->si_addr);
	if (n > 0 && write(2, line, (size_t)n) < 0)
		_exit(128 + sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --- loading --- */

static int load_image(const char *path, char *err, size_t errlen)
{
	struct efi_loaded *l = &efi_images[efi_nimages];
	struct stat sb;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	uint8_t *data;
	size_t off = 0, len;
	int fd;

	if (efi_nimages == EFI_MAX_IMAGES) {
		snprintf(err, errlen, "at most %d images", EFI_MAX_IMAGES);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	data = sb.st_size > 0 ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0) :
				MAP_FAILED;
	close(fd);
	if (data == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot read it", path);
		return -1;
	}
	len = (size_t)sb.st_size;
	/* an option ROM: its EFI image is the driver */
	if (len >= 2 && data[0] == 0x55 && data[1] == 0xaa &&
	    efi_rom_find(data, len, &off, &len, err, errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err), " (%s)", path);
		return -1;
	}
	if (efi_pe_parse(data + off, len, &l->img, err, errlen)) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (!efi_machine_supported(l->img.machine) ||
	    (l->img.machine != EFI_MACHINE_X86_64 && !translated)) {
		snprintf(err, errlen, "%s: the image is for %s, not x86-64%s", path,
			 efi_machine_name(l->img.machine),
			 efi_machine_supported(l->img.machine) ?
				 ": it runs translated (--engine dbt; dde run's efi-aarch64:NAME)" :
				 " or AArch64");
		return -1;
	}
	if (efi_nimages && l->img.machine != efi_images[0].img.machine) {
		snprintf(err, errlen, "%s: the image is for %s, the one before for %s: one host "
			 "runs one ISA", path, efi_machine_name(l->img.machine),
			 efi_machine_name(efi_images[0].img.machine));
		return -1;
	}
	if (l->img.subsystem != 11 && l->img.subsystem != 12) {
		snprintf(err, errlen, "%s: the image is a UEFI %s, not a driver", path,
			 efi_subsystem_name(l->img.subsystem));
		return -1;
	}
	snprintf(l->name, sizeof(l->name), "%.*s", (int)strcspn(base, "."), base);
	efi_nimages++;
	return 0;
}

/* each page of image L at MEM the protection of the sections on it: 0, or -1 */
static int protect(struct efi_loaded *l, uint8_t *mem)
{
	/*
	 * Code read+execute, data read+write, headers read-only. edk2 aligns
	 * sections to 64 bytes, so code and data can share a page; such a
	 * page is all three (counted and logged), as it is in firmware.
	 * Translated, the emulator executes its own mapping: the host's never.
	 */
	size_t npages = ((size_t)l->img.image_size + 4095) / 4096;
	unsigned char *prot = calloc(npages, 1);
	int r = 0;

	if (!prot)
		return -1;
	for (size_t p = 0; p < npages && p * 4096 < l->img.header_size; p++)
		prot[p] = PROT_READ;
	for (unsigned s = 0; s < l->img.nsec; s++) {
		const struct efi_section *sec = &l->img.sec[s];
		size_t first = sec->vaddr / 4096, last = (sec->vaddr + (size_t)sec->vsize + 4095) / 4096;

		for (size_t p = first; p < last && p < npages; p++)
			prot[p] |= PROT_READ | (sec->flags & EFI_SCN_EXECUTE ? PROT_EXEC : 0) |
				   (sec->flags & EFI_SCN_WRITE ? PROT_WRITE : 0);
	}
	l->wx_pages = 0;
	for (size_t p = 0; p < npages && !r; p++) {
		if (translated)
			prot[p] &= ~PROT_EXEC;
		l->wx_pages += (prot[p] & (PROT_WRITE | PROT_EXEC)) == (PROT_WRITE | PROT_EXEC);
		r = mprotect(mem + p * 4096, 4096, prot[p]);
	}
	free(prot);
	return r;
}

/*
 * Place image L where it runs: in DMA memory at its bus address where the
 * host has that view (firmware's memory is identity-mapped and any of it
 * is a device's to reach; iPXE of 2019 keeps its rings and buffers in its
 * .bss and gives the NIC their addresses), else in memory of its own.
 */
static int place_image(struct efi_loaded *l, char *err, size_t errlen)
{
	size_t pages = ((size_t)l->img.image_size + 4095) / 4096;
	uint64_t bus;
	uint8_t *mem = efi_dma_pages(pages, &bus);
	const char *where = "in DMA memory at its bus address";

	if (mem && ((uint64_t)(uintptr_t)mem != bus ||
		    efi_pe_load(&l->img, mem, bus, err, errlen) || protect(l, mem))) {
		mprotect(mem, pages * 4096, PROT_READ | PROT_WRITE);
		efi_dma_free_pages(mem, pages);
		mem = NULL;
	}
	if (!mem) {
		where = "in memory of its own (no DMA memory at its bus address)";
		mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		if (mem == MAP_FAILED) {
			snprintf(err, errlen, "%s: no memory for %u bytes", l->name, l->img.image_size);
			return -1;
		}
		if (efi_pe_load(&l->img, mem, (uint64_t)(uintptr_t)mem, err, errlen) ||
		    protect(l, mem)) {
			snprintf(err + strlen(err), errlen - strlen(err), " (%s)", l->name);
			return -1;
		}
	}
	l->base = mem;
	efi_log("%s: placed %s, %p, %u bytes, %u relocations, %u page(s) both writable and "
		"executable (sections share them)", l->name, where, (void *)mem, l->img.image_size,
		l->img.nreloc, l->wx_pages);
	return 0;
}

/* run image L's entry point as the DXE dispatcher would */
static int start_image(struct efi_loaded *l)
{
	efi_status s;
	char where[96];

	l->loaded.revision = 0x1000;
	l->loaded.system_table = efi_st;
	l->loaded.image_base = l->base;
	l->loaded.image_size = l->img.image_size;
	l->loaded.image_code_type = 3;	/* EfiBootServicesCode */
	l->loaded.image_data_type = 4;	/* EfiBootServicesData */
	if (efi_install(&l->handle, &EFI_GUID_LOADED_IMAGE, &l->loaded))
		return -1;
	efi_describe((uint64_t)(uintptr_t)l->base + l->img.entry_rva, where, sizeof(where));
	s = efi_call((uint8_t *)l->base + l->img.entry_rva, (uint64_t)(uintptr_t)l->handle,
		     (uint64_t)(uintptr_t)efi_st);
	if (s) {
		efi_log("%s: its entry point (%s) returned %s", l->name, where, efi_status_name(s));
		return -1;
	}
	efi_log("%s: entry point %s returned success", l->name, where);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [--engine native] IMAGE.efi|ROM.rom [IMAGE...]\n", prog);
}

/*
 * The firmware thread's work runs on a stack below 4 GiB, as firmware's
 * own does: iPXE of 2019 orders its memory accesses with
 * "lock addl $0, (%esp)", a 32-bit stack address even in its 64-bit
 * build, which faults on a process's stack high above.
 */
#define LOW_STACK (1u << 20)

static struct {
	ucontext_t back, low;
	int (*fn)(void);
	int ret;
} low;

static void low_trampoline(void)
{
	low.ret = low.fn();
}

static int on_low_stack(int (*fn)(void))
{
	void *stack = mmap(NULL, LOW_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED || getcontext(&low.low)) {
		efi_log("no stack below 4 GiB for the drivers: on the process's own");
		return fn();
	}
	low.low.uc_stack.ss_sp = stack;
	low.low.uc_stack.ss_size = LOW_STACK;
	low.low.uc_link = &low.back;
	low.fn = fn;
	makecontext(&low.low, low_trampoline, 0);
	if (swapcontext(&low.back, &low.low))
		return fn();
	return low.ret;
}

/* the DXE core's part: services, the device, the images started and connected, the class */
static int firmware(void)
{
	char err[512];
	efi_handle controller;
	int r;

	for (unsigned k = 0; k < efi_nimages; k++) {
		if (place_image(&efi_images[k], err, sizeof(err))) {
			fprintf(stderr, "%s: cannot place %s\n", prog, err);
			return 1;
		}
		if (translated && efi_dbt_add_image(efi_images[k].base,
						    efi_images[k].img.image_size, err, sizeof(err))) {
			fprintf(stderr, "%s: translated engine: %s\n", prog, err);
			return 1;
		}
	}
	if (efi_boot_init())
		return 1;
	controller = efi_pci_controller(0);
	if (!controller) {
		fprintf(stderr, "%s: no device granted\n", prog);
		return 1;
	}
	for (unsigned k = 0; k < efi_nimages; k++)
		if (start_image(&efi_images[k]))
			return 1;
	if (efi_connect_all(controller) != EFI_SUCCESS) {
		fprintf(stderr, "%s: no driver of %s took the device (each one's Supported "
			"refused it)\n", prog, driver_name);
		return 1;
	}
	/* the class glue of this host: efi-net (iPXE's SNP to netd) or efi-blk */
	if (!strcmp(prog, "efi-net")) {
		if (efi_net_attach())
			return 1;
		r = efi_net_run();
	} else {
		if (efi_blk_attach())
			return 1;
		r = efi_blk_run();
	}
	return r;
}

int main(int argc, char **argv)
{
	char err[512];
	int i = 1, r;
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "dbt")) {
				translated = true;
			} else if (strcmp(argv[i], "native")) {
				fprintf(stderr, "%s: engine '%s': native or dbt\n", prog, argv[i]);
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (i == argc) {
		usage();
		return 2;
	}
	for (; i < argc; i++)
		if (load_image(argv[i], err, sizeof(err))) {
			fprintf(stderr, "%s: cannot load %s\n", prog, err);
			return 1;
		}
	snprintf(driver_name, sizeof(driver_name), "%s", efi_images[efi_nimages - 1].name);
	if (translated) {
		bool arm64 = efi_images[0].img.machine == EFI_MACHINE_AARCH64;

		if (efi_dbt_init(arm64, err, sizeof(err))) {
			fprintf(stderr, "%s: translated engine: %s\n", prog, err);
			return 1;
		}
		fprintf(stderr, "%s: translated engine (unicorn, %s)\n", prog,
			arm64 ? "AArch64 on this x86-64 host" : "x86-64");
	}
	/* before ddekit_init: its trap engine passes on the faults that are not its own */
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	signal(SIGUSR1, on_usr1);
	/* the images were read before ddekit_init seals the sandbox: no files after it */
	if (ddekit_init(driver_name))
		return 1;
	ddekit_io_set_posted(true);
	r = on_low_stack(firmware);
	ddekit_exit();
	return r;
}
