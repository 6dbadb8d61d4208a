/*
 * ddekit device access: port I/O and memory-mapped I/O.
 *
 * Every access goes to the I/O server, which checks it against this
 * driver's grants. Reads return 0 or a negative errno (-EACCES when the
 * resource is not granted, with the server's explanation in
 * ddekit_last_error()). MMIO and port writes are posted, as on PCI: they
 * return at once, and a refused write is reported asynchronously, where
 * it stops the driver with ddekit_panic() naming the resource.
 */
#ifndef DDEKIT_IO_H
#define DDEKIT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read @size (1, 2 or 4) bytes from I/O port @port into *@value. */
int ddekit_pio_read(uint16_t port, unsigned size, uint32_t *value);
int ddekit_pio_write(uint16_t port, unsigned size, uint32_t value);

/*
 * String port I/O (rep ins/outs): @count elements of @size bytes at one
 * port, from or into @buf, in one request per 4 KiB instead of one per
 * element.
 */
int ddekit_pio_read_rep(uint16_t port, unsigned size, void *buf, size_t count);
int ddekit_pio_write_rep(uint16_t port, unsigned size, const void *buf, size_t count);

/*
 * Writes are posted by default: they return at once, and the device acts
 * on them a little later, in order with this driver's other accesses. A
 * driver written for a machine where an MMIO or port write has taken
 * effect when the instruction completes (a virtual machine's device model:
 * QEMU handles a guest's write before the guest goes on) may rely on it,
 * e.g. acknowledge a status bit and then scan a DMA ring the device fills
 * concurrently. ddekit_io_set_posted(false) gives it that order, at the
 * cost of a round trip per write.
 */
void ddekit_io_set_posted(bool on);

/*
 * Map memory BAR @bar of device @dev (an index from ddekit_pci_device()).
 * Returns the BAR's base as seen by this process, or NULL and logs why.
 * *@size receives the BAR's size.
 *
 * On the qemu platform the range is reserved but not accessible. Use the
 * accessors below, or plain loads and stores: after ddekit_init() the trap
 * engine catches the fault, decodes the instruction and performs it
 * through the same accessors (mov of 1/2/4/8 bytes, movzx, movsx, movsxd,
 * movnti; movs/stos/lods with or without rep). Any other instruction on
 * the range, or an access crossing its end, stops the driver with
 * ddekit_panic() naming the instruction and its address. Each trapped
 * access costs a signal on top of the accessor's cost.
 *
 * Likewise, in/out/ins/outs (imm8 or DX port, 1/2/4 bytes, rep) work in
 * a driver: they are emulated with ddekit_pio_read/write; a port outside
 * the grant stops the driver, naming the instruction and the port.
 * A driver must not replace the SIGSEGV handler ddekit_init() installs.
 */
void *ddekit_mmio_map(unsigned dev, unsigned bar, size_t *size);

/*
 * From now on, map each BAR at its own bus address where that is free in
 * this process (else elsewhere, with a warning): for code that takes bus
 * addresses for pointers, as firmware drivers do (iPXE's UEFI drivers
 * reach their registers at the BAR's physical address).
 */
void ddekit_mmio_map_at_bus(bool on);

/* Read @size (1, 2, 4 or 8) bytes at @addr inside a mapped BAR. */
int ddekit_mmio_read(const volatile void *addr, unsigned size,
		     uint64_t *value);
int ddekit_mmio_write(volatile void *addr, unsigned size, uint64_t value);

/* Is [@addr, @addr+@size) inside one BAR mapped by ddekit_mmio_map()?
 * (For an engine that emulates the accesses itself: ko/dbt.c.) */
bool ddekit_mmio_contains(uintptr_t addr, size_t size);

/*
 * How many plain MMIO and port I/O instructions the trap engine has
 * emulated in this process (also printed on SIGUSR1).
 */
void ddekit_trap_counts(unsigned long *mmio, unsigned long *port);

#endif
