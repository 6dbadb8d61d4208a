/*
 * make bench: the platform's figures, the ceiling later issues compare
 * against. In one run, on one machine:
 *   - MMIO read round trip, posted MMIO write cost, port I/O round trip and
 *     interrupt latency (device to handler), each measured twice: by a
 *     driver process through ddeio (ddekit), and by this process talking to
 *     its own QEMU directly through the platform layer; and their ratio;
 *   - NVMe DMA throughput reading 64 MiB at 4 KiB, 64 KiB and 256 KiB per
 *     command (32 in flight), by the test driver through ddeio;
 *   - the same for the disk models Linux's ahci and ata_piix drive, each
 *     read the cheapest way it allows (the best of three passes): QEMU's
 *     ich9-ahci with 32 commands in flight by NCQ, the PIIX IDE by bus
 *     master DMA one command at a time (all an IDE channel takes), and the
 *     4 KiB figure also as IOPS; block_bench.sh holds each driver against
 *     its own model's figures;
 *   - interrupt latency and the cost of a whole interrupt (cause set,
 *     handler run, cause cleared, line acknowledged) on one e1000e, by INTx
 *     (through ddeio, with its unmask round trip) and by MSI (an eventfd
 *     straight to the driver), in one driver process.
 * The driver's figures are taken twice, the first time with ddeio serving
 * as it did before batching (DDE_IO_BATCH=0).
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "../../common/machine.h"
#include "../../drivers/selftest/testdev.h"
#include "../../platform/platform.h"
#include "../integration/harness.h"

#define SAMPLES 3000
#define WARMUP 200
#define IRQ_SAMPLES 300
#define BURST 64	/* posted writes before the read that waits for them */

#define E1000_STATUS 0x08
#define E1000_ICR 0xc0
#define E1000_ICS 0xc8
#define E1000_IMS 0xd0
#define E1000_IMC 0xd8
#define ICS_CAUSE (1u << 9)	/* a cause QEMU never raises by itself */

struct stat {
	double median_us, p99_us;
};

struct results {
	struct stat mmio_read, mmio_write, pio_read, irq;
	struct stat trap_read, trap_write;	/* a plain load/store on the BAR, trapped */
	struct stat write_burst;		/* per write of 64 posted ones and a read */
	struct stat intx, msi;			/* e1000e: cause set -> handler */
	double intx_cycle_us, msi_cycle_us;	/* a whole interrupt, back to back */
	double nvme_mbs[3];
	double ahci_mbs[3], piix_mbs[3];	/* the chunks[] as NVMe's */
	int error;
};

static const uint32_t chunks[3] = { 4096, 65536, 262144 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct stat summarize(uint64_t *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return (struct stat){ ns[n / 2] / 1000.0, ns[n * 99 / 100] / 1000.0 };
}

/* Time @n calls of @op after a warm-up. */
#define MEASURE(out, n, op)                                             \
	do {                                                            \
		static uint64_t s_[SAMPLES];                            \
		for (unsigned i_ = 0; i_ < (n) + WARMUP; i_++) {        \
			uint64_t t0_ = now_ns();                        \
			op;                                             \
			if (i_ >= WARMUP)                               \
				s_[i_ - WARMUP] = now_ns() - t0_;       \
		}                                                       \
		(out) = summarize(s_, (n));                             \
	} while (0)

/* ---- through ddeio: a driver process using ddekit ---- */

static struct ddekit_sem *irq_sem;
static uint64_t irq_at;
static volatile char *e1000_regs;

static void e1000_handler(void *arg)
{
	uint64_t icr;

	irq_at = now_ns();
	ddekit_mmio_read(e1000_regs + E1000_ICR, 4, &icr);	/* clears: line drops */
	ddekit_sem_up(irq_sem);
}

static int via_ddeio_e1000(struct results *r)
{
	const struct ddekit_pci_dev *d = ddekit_pci_device(0);
	uint64_t v;
	uint32_t pv;
	size_t size;
	static uint64_t lat[IRQ_SAMPLES];

	e1000_regs = ddekit_mmio_map(0, 0, &size);
	if (!e1000_regs || d->bar[1].kind != DDEKIT_BAR_IO)
		return -1;
	MEASURE(r->mmio_read, SAMPLES, ddekit_mmio_read(e1000_regs + E1000_STATUS, 4, &v));
	MEASURE(r->mmio_write, SAMPLES, ddekit_mmio_write(e1000_regs + E1000_IMC, 4, ICS_CAUSE));
	ddekit_mmio_read(e1000_regs + E1000_STATUS, 4, &v);	/* drain posted writes */
	/* what a driver's readl/writel costs: the same accesses as plain instructions */
	MEASURE(r->trap_read, SAMPLES, v = *(volatile uint32_t *)(e1000_regs + E1000_STATUS));
	MEASURE(r->trap_write, SAMPLES, *(volatile uint32_t *)(e1000_regs + E1000_IMC) = ICS_CAUSE);
	ddekit_mmio_read(e1000_regs + E1000_STATUS, 4, &v);
	MEASURE(r->write_burst, SAMPLES / 10, {
		for (unsigned k = 0; k < BURST; k++)
			ddekit_mmio_write(e1000_regs + E1000_IMC, 4, ICS_CAUSE);
		ddekit_mmio_read(e1000_regs + E1000_STATUS, 4, &v);
	});
	r->write_burst.median_us /= BURST;
	r->write_burst.p99_us /= BURST;
	MEASURE(r->pio_read, SAMPLES, ddekit_pio_read((uint16_t)d->bar[1].addr, 4, &pv));
	irq_sem = ddekit_sem_create(0);
	if (ddekit_irq_attach(d->irq, e1000_handler, NULL))
		return -1;
	ddekit_mmio_write(e1000_regs + E1000_IMS, 4, ICS_CAUSE);
	for (unsigned i = 0; i < IRQ_SAMPLES + 20; i++) {
		uint64_t t0 = now_ns();

		ddekit_mmio_write(e1000_regs + E1000_ICS, 4, ICS_CAUSE);
		if (ddekit_sem_down(irq_sem, 1000000))
			return -1;
		if (i >= 20)
			lat[i - 20] = irq_at - t0;
	}
	r->irq = summarize(lat, IRQ_SAMPLES);
	ddekit_irq_detach(d->irq);
	return 0;
}

/* e1000e: @n interrupts on @line, each set by ICS, its latency into @lat; the mean cycle */
static int e1000e_irqs(unsigned line, struct stat *st, double *cycle_us)
{
	static uint64_t lat[IRQ_SAMPLES];
	uint64_t start = 0;

	if (ddekit_irq_attach(line, e1000_handler, NULL))
		return -1;
	ddekit_mmio_write(e1000_regs + E1000_IMS, 4, ICS_CAUSE);
	for (unsigned i = 0; i < IRQ_SAMPLES + 20; i++) {
		uint64_t t0 = now_ns();

		if (i == 20)
			start = t0;
		ddekit_mmio_write(e1000_regs + E1000_ICS, 4, ICS_CAUSE);
		if (ddekit_sem_down(irq_sem, 1000000))
			return -1;
		if (i >= 20)
			lat[i - 20] = irq_at - t0;
	}
	*cycle_us = (now_ns() - start) / 1e3 / IRQ_SAMPLES;
	*st = summarize(lat, IRQ_SAMPLES);
	ddekit_mmio_write(e1000_regs + E1000_IMC, 4, ICS_CAUSE);
	ddekit_irq_detach(line);
	return 0;
}

static int via_ddeio_e1000e(struct results *r)
{
	const struct ddekit_pci_dev *d = ddekit_pci_device(0);
	unsigned first;
	size_t size;

	irq_sem = ddekit_sem_create(0);
	e1000_regs = ddekit_mmio_map(0, 0, &size);
	if (!e1000_regs || !irq_sem)
		return -1;
	if (e1000e_irqs(d->irq, &r->intx, &r->intx_cycle_us))
		return -1;
	if (ddekit_pci_msi_enable(0, DDEKIT_MSI_MSI, 1, 1, &first, NULL) != 1 ||
	    e1000e_irqs(first, &r->msi, &r->msi_cycle_us))
		return -1;
	return ddekit_pci_msi_disable(0);
}

static int via_ddeio_nvme(struct results *r)
{
	struct testdev_nvme *n;

	if (testdev_nvme_open(0, &n))
		return -1;
	for (unsigned i = 0; i < 3; i++) {
		uint64_t t0 = now_ns();

		if (testdev_nvme_read_stream(n, 64u << 20, chunks[i], 32))
			return -1;
		r->nvme_mbs[i] = (64.0 * 1048576.0) / ((now_ns() - t0) / 1e9) / 1e6;
	}
	testdev_nvme_close(n);
	return 0;
}

/* One 64 MiB pass of a disk model's stream reader in @chunk-byte commands. */
typedef int disk_pass_fn(void *dev, uint32_t chunk);

static int ahci_pass(void *a, uint32_t chunk)
{
	return testdev_ahci_read_stream(a, 64u << 20, chunk, 32);
}

static int piix_pass(void *d, uint32_t chunk)
{
	return testdev_ide_read_stream(d, 64u << 20, chunk);
}

/*
 * MB/s at each of chunks[], the best of DISK_PASSES passes (the chunk
 * sizes taking turns): a pass takes 10-40 ms at the larger chunks, where
 * one scheduling hiccup on two cores costs a third of the figure, and the
 * ceiling is what the model can do.
 */
#define DISK_PASSES 3

static int disk_ceiling(disk_pass_fn *pass, void *dev, double mbs[3])
{
	for (unsigned i = 0; i < 3 * DISK_PASSES; i++) {
		uint64_t t0 = now_ns();
		double v;

		if (pass(dev, chunks[i % 3]))
			return -1;
		v = (64.0 * 1048576.0) / ((now_ns() - t0) / 1e9) / 1e6;
		if (v > mbs[i % 3])
			mbs[i % 3] = v;
	}
	return 0;
}

static int via_ddeio_ahci(struct results *r)
{
	struct testdev_ahci *a;

	if (testdev_ahci_open(0, &a) || disk_ceiling(ahci_pass, a, r->ahci_mbs))
		return -1;
	testdev_ahci_close(a);
	return 0;
}

static int via_ddeio_piix(struct results *r)
{
	struct testdev_ide *d;

	if (testdev_ide_open(0, &d) || disk_ceiling(piix_pass, d, r->piix_mbs))
		return -1;
	testdev_ide_close(d);
	return 0;
}

static int pipe_out = -1;

typedef int measure_fn(struct results *r);

/* The driver process: one measurement, its results down the pipe. */
static int driver_main(void *arg)
{
	measure_fn *measure = (measure_fn *)arg;
	struct results r = { 0 };

	r.error = measure(&r);
	return write(pipe_out, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

static int run_driver(struct harness *h, const char *slot, measure_fn *measure,
		      struct results *r)
{
	int p[2];

	if (pipe(p))
		return -1;
	pipe_out = p[1];
	pid_t pid = harness_fork_driver(h, slot, driver_main, (void *)measure);
	int rc = harness_wait(pid);
	ssize_t n = read(p[0], r, sizeof(*r));

	close(p[0]);
	close(p[1]);
	return rc || n != sizeof(*r) || r->error ? -1 : 0;
}

/* ---- directly: this process owns its own QEMU through the platform ---- */

static volatile uint64_t direct_irq_at;
static unsigned direct_line;

static void direct_irq(void *ctx, unsigned line, bool level)
{
	if (line == direct_line && level)
		direct_irq_at = now_ns();
}

static int direct(struct results *r, const char *image)
{
	struct machine_config cfg;
	char err[256], disk[256];
	struct platform *p;
	const struct ddeio_device *e = NULL;
	static uint64_t lat[IRQ_SAMPLES];
	uint64_t v;
	uint32_t pv;

	machine_config_init(&cfg);
	snprintf(disk, sizeof(disk), "nvme:%s", image);
	if (machine_config_set(&cfg, "nic", "e1000", err, sizeof(err)) ||
	    machine_config_set(&cfg, "disk", disk, err, sizeof(err)) ||
	    !(p = platform_start(&cfg, err, sizeof(err)))) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < platform_device_count(p); i++)
		if (platform_device(p, i)->device == 0x100e)
			e = platform_device(p, i);
	if (!e) {
		platform_stop(p);
		return -1;
	}
	uint64_t bar = e->bar[0].start;
	uint16_t port = (uint16_t)e->bar[1].start;

	MEASURE(r->mmio_read, SAMPLES, platform_mmio_read(p, bar + E1000_STATUS, 4, &v));
	MEASURE(r->mmio_write, SAMPLES,
		platform_mmio_write(p, bar + E1000_IMC, 4, ICS_CAUSE, true));
	platform_mmio_read(p, bar + E1000_STATUS, 4, &v);
	MEASURE(r->write_burst, SAMPLES / 10, {
		for (unsigned k = 0; k < BURST; k++)
			platform_mmio_write(p, bar + E1000_IMC, 4, ICS_CAUSE, true);
		platform_mmio_read(p, bar + E1000_STATUS, 4, &v);
	});
	r->write_burst.median_us /= BURST;
	r->write_burst.p99_us /= BURST;
	MEASURE(r->pio_read, SAMPLES, platform_pio_read(p, port, 4, &pv));
	direct_line = e->irq;
	platform_set_irq_handler(p, direct_irq, NULL);
	platform_mmio_write(p, bar + E1000_IMS, 4, ICS_CAUSE, false);
	for (unsigned i = 0; i < IRQ_SAMPLES + 20; i++) {
		uint64_t t0 = now_ns(), deadline = t0 + 1000000000u;

		direct_irq_at = 0;
		platform_mmio_write(p, bar + E1000_ICS, 4, ICS_CAUSE, true);
		/* wait as ddeio does: sleep in poll(2) until QEMU reports */
		while (!direct_irq_at && now_ns() < deadline) {
			struct pollfd pfd = { platform_event_fd(p), POLLIN, 0 };

			poll(&pfd, 1, 100);
			platform_poll_events(p);
		}
		if (!direct_irq_at)
			break;
		if (i >= 20)
			lat[i - 20] = direct_irq_at - t0;
		platform_mmio_read(p, bar + E1000_ICR, 4, &v);
	}
	r->irq = summarize(lat, IRQ_SAMPLES);
	platform_stop(p);
	return direct_irq_at ? 0 : -1;
}

/*
 * The floor of any hop through a separate process on this machine: one
 * request and its answer between two processes over a socket, each side
 * sleeping until the other writes, as the driver and ddeio do. No device,
 * no check: what a read through ddeio costs above a direct one is this.
 */
static int ipc_round_trip(struct stat *out)
{
	int sv[2];
	char b[64];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		for (ssize_t n; (n = read(sv[1], b, sizeof(b))) > 0;)
			if (write(sv[1], b, (size_t)n) != n)
				break;
		_exit(0);
	}
	close(sv[1]);
	MEASURE(*out, SAMPLES, {
		if (write(sv[0], "readl 0xfebc0008\n", 17) != 17 || read(sv[0], b, sizeof(b)) <= 0)
			break;
	});
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return 0;
}

static void machine_name(void)
{
	char model[256];

	harness_cpu_model(model, sizeof(model));
	printf("machine: %s, %ld cores, QEMU accel %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       access("/dev/kvm", R_OK | W_OK) ? "tcg" : "kvm");
}

static void row(const char *what, struct stat single, struct stat via, struct stat dir)
{
	printf("%-34s %8.1f %8.1f   %8.1f %8.1f   %8.1f %8.1f   %6.2fx\n", what,
	       single.median_us, single.p99_us, via.median_us, via.p99_us, dir.median_us,
	       dir.p99_us, dir.median_us > 0 ? via.median_us / dir.median_us : 0);
}

/* "  AHCI   4 KiB per command:    123.4 MB/s = 30127 IOPS" (IOPS for 4 KiB) */
static void disk_rows(const char *model, const double mbs[3])
{
	for (unsigned i = 0; i < 3; i++) {
		printf("  %s %3u KiB per command: %8.1f MB/s", model, chunks[i] >> 10, mbs[i]);
		if (chunks[i] == 4096)
			printf(" = %.0f IOPS", mbs[i] * 1e6 / 4096);
		printf("\n");
	}
}

int main(void)
{
	struct results via = { 0 }, dir = { 0 }, nvme = { 0 }, ee = { 0 }, single = { 0 };
	struct results ahci = { 0 }, piix = { 0 };
	struct stat ipc = { 0 };
	char image[128], image2[128], disk[160], disk2[160];
	struct harness h;
	struct ddeio_device devs[32];
	int n, rc = 0;

	machine_name();
	/* the platform finds its firmware beside bin/; this program lives elsewhere */
	char firmware[512];

	harness_path("share/dde/firmware.bin", firmware, sizeof(firmware));
	setenv("DDE_FIRMWARE", firmware, 0);
	if (harness_image(image, sizeof(image), 64, 3)) {
		fprintf(stderr, "bench: cannot write a 64 MiB image in /tmp\n");
		return 1;
	}
	/* QEMU locks an image: the AHCI disk on the same machine has its own */
	if (harness_image(image2, sizeof(image2), 64, 4)) {
		fprintf(stderr, "bench: cannot write a 64 MiB image in /tmp\n");
		unlink(image);
		return 1;
	}
	snprintf(disk, sizeof(disk), "nvme:%s", image);
	snprintf(disk2, sizeof(disk2), "ahci:%s", image2);
	const char *args[] = { "--nic", "e1000", "--disk", disk, "--nic", "e1000e,net=none",
			       "--disk", disk2, NULL };

	/* ddeio as it was: one request per client per turn, each posted write sent alone */
	setenv("DDE_IO_BATCH", "0", 1);
	if (harness_start(&h, args)) {
		rc = 1;
	} else {
		n = harness_list(&h, devs, 32);
		const struct ddeio_device *e = harness_find(devs, n, 0x8086, 0x100e);

		if (!e || run_driver(&h, harness_slot(e), via_ddeio_e1000, &single)) {
			fprintf(stderr, "bench: a driver failed\n");
			rc = 1;
		}
		harness_stop(&h);
	}
	unsetenv("DDE_IO_BATCH");
	if (rc) {
		/* told */
	} else if (ipc_round_trip(&ipc) || direct(&dir, image)) {
		fprintf(stderr, "bench: the direct measurement failed\n");
		rc = 1;
	} else if (harness_start(&h, args)) {
		rc = 1;
	} else {
		n = harness_list(&h, devs, 32);
		const struct ddeio_device *e = harness_find(devs, n, 0x8086, 0x100e);
		const struct ddeio_device *nv = harness_find(devs, n, 0x1b36, 0x0010);
		const struct ddeio_device *e2 = harness_find(devs, n, 0x8086, 0x10d3);
		const struct ddeio_device *ah = harness_find(devs, n, 0x8086, 0x2922);

		if (!e || !nv || !e2 || !ah || run_driver(&h, harness_slot(e), via_ddeio_e1000, &via) ||
		    run_driver(&h, harness_slot(nv), via_ddeio_nvme, &nvme) ||
		    run_driver(&h, harness_slot(e2), via_ddeio_e1000e, &ee) ||
		    run_driver(&h, harness_slot(ah), via_ddeio_ahci, &ahci)) {
			fprintf(stderr, "bench: a driver failed\n");
			rc = 1;
		}
		harness_stop(&h);
	}
	/* the PIIX IDE is pc's: a machine of its own, the first image its disk */
	snprintf(disk, sizeof(disk), "ide:%s", image);
	const char *pc_args[] = { "--machine", "pc", "--disk", disk, NULL };

	if (rc) {
		/* told */
	} else if (harness_start(&h, pc_args)) {
		rc = 1;
	} else {
		n = harness_list(&h, devs, 32);
		const struct ddeio_device *ide = harness_find(devs, n, 0x8086, 0x7010);

		if (!ide || run_driver(&h, harness_slot(ide), via_ddeio_piix, &piix)) {
			fprintf(stderr, "bench: a driver failed\n");
			rc = 1;
		}
		harness_stop(&h);
	}
	unlink(image);
	unlink(image2);
	if (rc)
		return rc;
	printf("\n%-34s %17s   %17s   %17s   %7s\n", "", "ddeio unbatched", "through ddeio",
	       "direct qtest", "ratio");
	printf("%-34s %8s %8s   %8s %8s   %8s %8s   %7s\n", "(us)", "median", "p99", "median",
	       "p99", "median", "p99", "");
	row("MMIO read round trip", single.mmio_read, via.mmio_read, dir.mmio_read);
	row("MMIO write (posted)", single.mmio_write, via.mmio_write, dir.mmio_write);
	row("64 posted writes + read, per write", single.write_burst, via.write_burst,
	    dir.write_burst);
	row("MMIO read, trapped load", single.trap_read, via.trap_read, dir.mmio_read);
	row("MMIO write, trapped store", single.trap_write, via.trap_write, dir.mmio_write);
	row("port I/O read round trip", single.pio_read, via.pio_read, dir.pio_read);
	row("interrupt, device->handler", single.irq, via.irq, dir.irq);
	printf("(unbatched: ddeio as before issue 21, one request per client per turn and each\n"
	       " posted write sent to QEMU alone; ratio: through ddeio / direct)\n");
	if (ipc.median_us > 0)
		printf("\nOne round trip between two processes over a socket, no device: median %.1f,"
		       " p99 %.1f us\n(the floor of any checking hop in its own process: a read"
		       " through ddeio costs\n %.1f us more than a direct one, %.2f of these)\n",
		       ipc.median_us, ipc.p99_us, via.mmio_read.median_us - dir.mmio_read.median_us,
		       (via.mmio_read.median_us - dir.mmio_read.median_us) / ipc.median_us);
	printf("\nInterrupts of one e1000e, by one driver process (IOMMU on):\n");
	printf("%-28s %9s %9s   %s\n", "", "median", "p99", "a whole interrupt, back to back");
	printf("%-28s %9.1f %9.1f   %9.1f us\n", "INTx (through ddeio)", ee.intx.median_us,
	       ee.intx.p99_us, ee.intx_cycle_us);
	printf("%-28s %9.1f %9.1f   %9.1f us\n", "MSI (eventfd to the driver)", ee.msi.median_us,
	       ee.msi.p99_us, ee.msi_cycle_us);
	printf("%-28s %9.2fx %8.2fx   %9.2fx\n", "ratio INTx/MSI", ee.intx.median_us / ee.msi.median_us,
	       ee.intx.p99_us / ee.msi.p99_us, ee.intx_cycle_us / ee.msi_cycle_us);
	printf("\nNVMe DMA read of 64 MiB, 32 commands in flight, test driver through ddeio:\n");
	for (unsigned i = 0; i < 3; i++)
		printf("  %3u KiB per command: %8.1f MB/s\n", chunks[i] >> 10, nvme.nvme_mbs[i]);
	/* the disk models' ceilings: their own prefix, for block_bench.sh's sed */
	printf("\nAHCI DMA read of 64 MiB, 32 commands in flight (NCQ), test driver through ddeio:\n");
	disk_rows("AHCI", ahci.ahci_mbs);
	printf("\nPIIX IDE DMA read of 64 MiB, one command at a time, test driver through ddeio:\n");
	disk_rows("PIIX", piix.piix_mbs);
	return 0;
}
