/*
 * testdev — tiny hand-written drivers for three QEMU device models, written
 * only against ddekit. They are the platform's own test and demo drivers:
 * the self-test driver, the integration tests and `make bench` use them to
 * prove register access, interrupts and DMA through the I/O server.
 * They are deliberately minimal; real drivers come from Linux.
 *
 * All functions return 0 or a negative errno, and log the reason with
 * ddekit_log() on failure. @dev is a ddekit device index.
 */
#ifndef TESTDEV_H
#define TESTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Intel 82540EM (QEMU e1000), 8086:100e ---- */

struct testdev_e1000;

/* Map BAR0, reset the device, set up one TX and one RX ring in DMA memory. */
int testdev_e1000_open(unsigned dev, struct testdev_e1000 **out);
void testdev_e1000_close(struct testdev_e1000 *e);
/* STATUS register (0x08). */
int testdev_e1000_status(struct testdev_e1000 *e, uint32_t *status);
/* Wait up to @timeout_ms for STATUS.LU; -ETIMEDOUT otherwise. */
int testdev_e1000_wait_link(struct testdev_e1000 *e, unsigned timeout_ms);
/* MAC address from EEPROM words 0-2 (via EERD). */
int testdev_e1000_eeprom_mac(struct testdev_e1000 *e, uint8_t mac[6]);
/*
 * Make the device raise an interrupt by writing the interrupt-cause-set
 * register, wait (up to 1 s) for the attached handler to run and see the
 * cause in ICR. *@latency_ns: time from the ICS write to the handler.
 */
int testdev_e1000_irq_selftest(struct testdev_e1000 *e, uint64_t *latency_ns);
/* Queue one frame (14..1514 bytes, no FCS) and wait up to 1 s for DD. */
int testdev_e1000_send(struct testdev_e1000 *e, const void *frame, size_t len);
/*
 * Send @len bytes from any bus address @bus as a frame, as a driver that
 * misprograms a descriptor would (the IOMMU tests): whatever the device
 * reads there goes out. 0 once the descriptor is done.
 */
int testdev_e1000_send_bus(struct testdev_e1000 *e, uint64_t bus, size_t len);
/*
 * Wait up to @timeout_ms for a received frame; copy at most @cap bytes
 * into @buf, *@len gets the frame length (without FCS). -ETIMEDOUT if none.
 * The receiver is enabled by open; QEMU holds frames for 1 s after RCTL
 * is written, so the first frame can take that long.
 */
int testdev_e1000_recv(struct testdev_e1000 *e, void *buf, size_t cap,
		       size_t *len, unsigned timeout_ms);

/* ---- NVMe (QEMU nvme), 1b36:0010 ---- */

struct testdev_nvme;

/*
 * Map BAR0, enable the controller with an admin queue, identify the
 * controller and namespace 1 (the identify completes by interrupt, INTx),
 * create one I/O queue pair of depth 64.
 */
int testdev_nvme_open(unsigned dev, struct testdev_nvme **out);
/*
 * The same with MSI-X instead of INTx: two vectors, the admin queue's
 * completions on the first, the I/O queue's on the second (-errno from
 * ddekit_pci_msi_enable if the machine or device has none).
 */
int testdev_nvme_open_msix(unsigned dev, struct testdev_nvme **out);
/* How many messages MSI-X vector @v (0 admin, 1 I/O) has brought. */
unsigned long testdev_nvme_vector_count(struct testdev_nvme *n, unsigned v);
void testdev_nvme_close(struct testdev_nvme *n);
/* CAP (0x00) and VS (0x08) registers. */
int testdev_nvme_regs(struct testdev_nvme *n, uint64_t *cap, uint32_t *vs);
/* From identify: namespace 1 size in logical blocks, block size, model. */
int testdev_nvme_info(struct testdev_nvme *n, uint64_t *blocks,
		      uint32_t *block_size, char model[41]);
/* How many interrupts the handler has seen so far. */
unsigned long testdev_nvme_irq_count(struct testdev_nvme *n);
/*
 * Read @count blocks from @lba into DMA memory @buf (from ddekit_dma_alloc,
 * physically contiguous as the whole region is), synchronously.
 */
int testdev_nvme_read(struct testdev_nvme *n, uint64_t lba, uint32_t count,
		      void *buf);
/*
 * Read block @lba into ANY bus address @bus, DMA memory or not (the IOMMU's
 * tests: a device told to write where its driver may not). 0, or -EIO if
 * the controller reports the transfer failed.
 */
int testdev_nvme_read_to_bus(struct testdev_nvme *n, uint64_t lba, uint64_t bus);
/*
 * Benchmark helper: read @total bytes starting at LBA 0 in commands of
 * @chunk bytes (4 KiB .. 256 KiB) with @depth commands in flight (<= 32),
 * polling completions in memory. Wraps around at the end of the namespace.
 */
int testdev_nvme_read_stream(struct testdev_nvme *n, uint64_t total,
			     uint32_t chunk, unsigned depth);

/* ---- AHCI (QEMU ich9-ahci), class 01:06:01 ---- */

struct testdev_ahci;

/*
 * Map BAR5, enable AHCI mode and interrupts, find the first port with a
 * disk (SSTS.DET == 3), start its command engine.
 */
int testdev_ahci_open(unsigned dev, struct testdev_ahci **out);
void testdev_ahci_close(struct testdev_ahci *a);
/* CAP (0x00), VS (0x10) and the port in use. */
int testdev_ahci_regs(struct testdev_ahci *a, uint32_t *cap, uint32_t *vs,
		      unsigned *port);
/* IDENTIFY DEVICE: sectors (LBA48) and model string (trimmed). */
int testdev_ahci_identify(struct testdev_ahci *a, uint64_t *sectors,
			  char model[41]);
/* How many interrupts the handler has seen so far. */
unsigned long testdev_ahci_irq_count(struct testdev_ahci *a);
/* READ DMA EXT of @count 512-byte sectors at @lba into DMA memory @buf. */
int testdev_ahci_read(struct testdev_ahci *a, uint64_t lba, uint32_t count,
		      void *buf);

#endif
