/*
 * testdev — tiny hand-written drivers for QEMU device models, written
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

/*
 * Batches, for the benchmarks (tests/bench/ceiling_net.c): many frames per
 * doorbell, completions seen in DMA memory (no register reads, no
 * interrupts). They mix with send/recv above.
 *
 * open_ring: as open, with rings of @ring descriptors (8..4096, a multiple
 * of 8; open uses 8), each with a 2 KiB buffer. ring() says how many.
 */
int testdev_e1000_open_ring(unsigned dev, unsigned ring,
			    struct testdev_e1000 **out);
unsigned testdev_e1000_ring(struct testdev_e1000 *e);
/*
 * TX: tx_free takes back the batches the device has done (their last
 * descriptor's DD) and says how many descriptors are free (at most ring-1).
 * tx_buf is the 2 KiB buffer of the @k-th free descriptor, for the caller
 * to fill; tx_post hands the device the first @n free descriptors as @n
 * frames of @len bytes each (60..1514: pad short frames yourself) with one
 * TDT write, asking a status write-back for the last one only. tx_drain
 * waits until all posted are done.
 */
unsigned testdev_e1000_tx_free(struct testdev_e1000 *e);
void *testdev_e1000_tx_buf(struct testdev_e1000 *e, unsigned k);
int testdev_e1000_tx_post(struct testdev_e1000 *e, unsigned n, size_t len);
int testdev_e1000_tx_drain(struct testdev_e1000 *e, unsigned timeout_ms);
/*
 * RX: all but one descriptor belong to the device from open on. rx_poll
 * takes the next received frame if its DD is set: 1 with *@frame (in the
 * ring's buffer, valid until rx_return) and *@len (without FCS), 0 if none
 * yet, -EIO for a bad descriptor (taken all the same). rx_return gives all
 * taken buffers back with one RDT write and says how many (0: no write).
 */
int testdev_e1000_rx_poll(struct testdev_e1000 *e, const void **frame, size_t *len);
unsigned testdev_e1000_rx_return(struct testdev_e1000 *e);
/* Any 32-bit register (a round trip), e.g. statistics. */
int testdev_e1000_reg(struct testdev_e1000 *e, unsigned off, uint32_t *val);

/* ---- RealTek RTL8139C+ (QEMU rtl8139), 10ec:8139, in C+ mode ---- */

struct testdev_rtl8139;

/*
 * For the benchmarks (tests/bench/ceiling_net.c), the e1000's batch
 * functions for the RTL8139C+ in C+ mode (descriptor rings, as Linux's
 * 8139cp): no interrupts, completions seen in DMA memory.
 *
 * open: map BAR1, reset, C+ mode, a TX ring of 64 descriptors (the model's
 * most) and an RX ring of @rx_ring (4..1024), each with a 2 KiB buffer,
 * receiver (promiscuous) and transmitter on. mac: IDR0-5. wait_link:
 * BMSR's link bit, up to @timeout_ms.
 */
int testdev_rtl8139_open(unsigned dev, unsigned rx_ring, struct testdev_rtl8139 **out);
void testdev_rtl8139_close(struct testdev_rtl8139 *r);
int testdev_rtl8139_mac(struct testdev_rtl8139 *r, uint8_t mac[6]);
int testdev_rtl8139_wait_link(struct testdev_rtl8139 *r, unsigned timeout_ms);
unsigned testdev_rtl8139_tx_ring(struct testdev_rtl8139 *r);
/*
 * TX, as the e1000's: tx_free takes back the batches done (their last
 * descriptor's OWN cleared) and says how many descriptors are free (all
 * 64 can be in flight); tx_buf: the buffer of the @k-th free one; tx_post:
 * the first @n free as frames of @len bytes (60..1514), one TPPoll write;
 * tx_drain: wait until all are done.
 */
unsigned testdev_rtl8139_tx_free(struct testdev_rtl8139 *r);
void *testdev_rtl8139_tx_buf(struct testdev_rtl8139 *r, unsigned k);
int testdev_rtl8139_tx_post(struct testdev_rtl8139 *r, unsigned n, size_t len);
int testdev_rtl8139_tx_drain(struct testdev_rtl8139 *r, unsigned timeout_ms);
/*
 * RX: rx_poll as the e1000's (the frame by its OWN bit, valid until
 * rx_return); rx_return gives the taken buffers back by their OWN bits:
 * memory only, the model has no receive doorbell (and no flow control in
 * C+ mode: a frame without a descriptor is dropped and counted in MPC).
 * missed: MPC.
 */
int testdev_rtl8139_rx_poll(struct testdev_rtl8139 *r, const void **frame, size_t *len);
unsigned testdev_rtl8139_rx_return(struct testdev_rtl8139 *r);
int testdev_rtl8139_missed(struct testdev_rtl8139 *r, uint32_t *missed);

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

/*
 * For the tests of the disk stream readers (the AHCI and IDE ones): called
 * for each command once its data has arrived, with its byte @offset on
 * the disk, before the buffer @data is used again. It may scribble on
 * @data (poison it, to catch a later command that moves nothing). Without
 * one the data is thrown away.
 */
typedef void testdev_stream_fn(void *arg, uint64_t offset, void *data,
			       uint32_t bytes);

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
/*
 * Benchmark helper, the NVMe stream's twin: read @total bytes from LBA 0
 * on in commands of @chunk bytes (4 KiB .. 256 KiB, whole pages) with
 * @depth (1..32) of them in flight by NCQ (READ FPDMA QUEUED, a slot and
 * tag each), completions polled without interrupts (PxSACT, read when
 * the HBA has written a Set Device Bits FIS). Wraps around before the
 * end of the disk. Runs IDENTIFY DEVICE first if it has not run.
 * stream_check: @fn sees each command's data (NULL: none does).
 */
int testdev_ahci_read_stream(struct testdev_ahci *a, uint64_t total,
			     uint32_t chunk, unsigned depth);
void testdev_ahci_stream_check(struct testdev_ahci *a, testdev_stream_fn *fn,
			       void *arg);

/* ---- PIIX3/PIIX4 IDE (QEMU piix3-ide, piix4-ide), 8086:7010 / 8086:7111 ---- */

struct testdev_ide;

/*
 * The primary channel's master disk of a compatibility-mode controller:
 * the legacy ports 0x1f0-0x1f7 and 0x3f6 (ddeio grants them with the
 * device) and the bus master registers in BAR4 (I/O). Stops a DMA a
 * previous driver left, resets the channel and turns its interrupt off
 * (nIEN): every command here is polled.
 */
int testdev_ide_open(unsigned dev, struct testdev_ide **out);
void testdev_ide_close(struct testdev_ide *d);
/* IDENTIFY DEVICE (PIO): sectors (LBA48) and model string (trimmed). */
int testdev_ide_identify(struct testdev_ide *d, uint64_t *sectors,
			 char model[41]);
/*
 * Benchmark helper: read @total bytes from LBA 0 on by bus master DMA,
 * one command of @chunk bytes (4 KiB .. 256 KiB, whole pages) at a time
 * (an IDE channel queues nothing): READ DMA where it fits (28-bit LBA,
 * 128 KiB), else READ DMA EXT; the ATA status polled for the end of each. Wraps around before the end of the disk; runs
 * IDENTIFY DEVICE first if it has not run. stream_check as the AHCI's.
 */
int testdev_ide_read_stream(struct testdev_ide *d, uint64_t total,
			    uint32_t chunk);
void testdev_ide_stream_check(struct testdev_ide *d, testdev_stream_fn *fn,
			      void *arg);

/* ---- NE2000 (QEMU ne2k_pci), 10ec:8029: port I/O, remote DMA ---- */

struct testdev_ne2k;

/*
 * Reset, station address from the PROM, receive ring in the card's packet
 * memory, transmit buffer at page 0x40; no interrupts (all polled). The
 * functions mirror the rtl8139's: tx_buf/tx_post send frames through the
 * data port (a frame is copied out when posted: every slot is always
 * free); rx_poll fetches what the model received with one read of CURR
 * and one remote read, and gives the ring back at once, so rx_return has
 * nothing to do.
 */
int testdev_ne2k_open(unsigned dev, struct testdev_ne2k **out);
void testdev_ne2k_close(struct testdev_ne2k *n);
int testdev_ne2k_mac(struct testdev_ne2k *n, uint8_t mac[6]);
unsigned testdev_ne2k_tx_ring(struct testdev_ne2k *n);
unsigned testdev_ne2k_tx_free(struct testdev_ne2k *n);
void *testdev_ne2k_tx_buf(struct testdev_ne2k *n, unsigned k);
int testdev_ne2k_tx_post(struct testdev_ne2k *n, unsigned count, size_t len);
int testdev_ne2k_tx_drain(struct testdev_ne2k *n, unsigned timeout_ms);
int testdev_ne2k_rx_poll(struct testdev_ne2k *n, const void **frame, size_t *len);
unsigned testdev_ne2k_rx_return(struct testdev_ne2k *n);
int testdev_ne2k_missed(struct testdev_ne2k *n, uint32_t *missed);

#endif
