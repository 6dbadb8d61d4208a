/*
 * testdev_ahci_stream — the AHCI benchmark loop, the NVMe stream's twin:
 * keep up to 32 reads in flight by NCQ (READ FPDMA QUEUED, one slot and
 * tag each), issue them with posted writes only (PxSACT, then PxCI), and
 * find completions without interrupts. See testdev.h.
 *
 * How QEMU's ahci (hw/ide/ahci.c) completes a queued command: PxCI's bit
 * clears as soon as the command is taken (the read runs asynchronously);
 * when the read ends the HBA writes a Set Device Bits FIS into the
 * received-FIS area (its SActive field: that one command) and clears the
 * command's bit in PxSACT. The FIS in memory is rewritten per command, so
 * bits would be lost if polled there; it serves as a free hint instead:
 * its type byte is cleared here, and only once the HBA has written it
 * again is PxSACT read (one round trip) for the exact set, however many
 * completed meanwhile. A command that fails keeps its PxSACT bit (the
 * FIS carries ERR in its status): a stall shows it, and PxTFD says why.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "testdev_ahci_priv.h"

#define PAGE		4096u
#define MAX_CHUNK	(256u * 1024)
#define STREAM_BUFS	4
#define TABLE_STRIDE	256u	/* a command table with one PRD, 128-aligned */
#define STALL_NS	100000000ull	/* no completion this long: look at PxTFD */

void testdev_ahci_stream_check(struct testdev_ahci *a, testdev_stream_fn *fn,
			       void *arg)
{
	a->sink = fn;
	a->sink_arg = arg;
}

/* The command FIS of READ FPDMA QUEUED: the count in FEATURES, the tag in COUNT. */
static void ncq_fis(uint8_t *f, uint64_t lba, uint32_t count, unsigned tag)
{
	ahci_fis_lba(f, ATA_READ_FPDMA_QUEUED, lba);
	f[3] = (uint8_t)count;		/* NCQ: the count where the features go */
	f[11] = (uint8_t)(count >> 8);
	f[12] = (uint8_t)(tag << 3);
}

/* Has the HBA written a Set Device Bits FIS since the last call? Consumes it. */
static bool sdb_seen(struct testdev_ahci *a)
{
	uint8_t *type = (uint8_t *)a->rfis + RFIS_SDB;

	if (__atomic_load_n(type, __ATOMIC_ACQUIRE) != FIS_SDB)
		return false;
	/* Cleared before PxSACT is read: a later FIS is not missed. */
	__atomic_store_n(type, 0, __ATOMIC_RELEASE);
	return true;
}

/* The port's state after a stall, in one line, and the error to return. */
static int ahci_stall(struct testdev_ahci *a, uint32_t outstanding,
		      bool timed_out)
{
	uint32_t tfd = 0, serr = 0, sact = 0;

	testdev_rd32(a->port_regs, PX_TFD, &tfd);
	testdev_rd32(a->port_regs, PX_SERR, &serr);
	testdev_rd32(a->port_regs, PX_SACT, &sact);
	/* QEMU marks a failed tag in PxSERR; later commands may clear TFD's ERR. */
	if ((tfd & TFD_ERR) || serr) {
		testdev_err(&a->b, "NCQ read failed (TFD status 0x%02x error 0x%02x, SERR 0x%08x, SACT 0x%08x)",
			    tfd & 0xff, (tfd >> 8) & 0xff, serr, sact);
		return -EIO;
	}
	if (timed_out) {
		testdev_err(&a->b, "NCQ stream stalled, commands 0x%08x outstanding (SACT 0x%08x, TFD 0x%02x)",
			    outstanding, sact, tfd & 0xff);
		return -ETIMEDOUT;
	}
	return 0;
}

int testdev_ahci_read_stream(struct testdev_ahci *a, uint64_t total,
			     uint32_t chunk, unsigned depth)
{
	uint32_t nsect = chunk / SECTOR, outstanding = 0, done, sact, issue;
	uint64_t tables_bus, bufs_bus, submitted = 0, lba = 0, slot_lba[32];
	uint64_t last_done, last_look;
	unsigned slots = CAP_NCS(a->cap), i, nbufs, spins = 0;
	uint8_t *tables, *bufs;
	uint64_t sectors;
	char model[41];
	int err = 0;

	if (!(a->cap & CAP_SNCQ)) {
		testdev_err(&a->b, "the HBA has no NCQ (CAP 0x%08x)", a->cap);
		return -EOPNOTSUPP;
	}
	if (!a->sectors) {
		err = testdev_ahci_identify(a, &sectors, model);
		if (err)
			return err;
	}
	if (!a->ncq_depth) {
		testdev_err(&a->b, "the disk does not announce NCQ (IDENTIFY DEVICE word 76)");
		return -EOPNOTSUPP;
	}
	if (slots > a->ncq_depth)
		slots = a->ncq_depth;
	if (chunk < PAGE || chunk > MAX_CHUNK || chunk % PAGE || !depth ||
	    depth > slots || nsect > a->sectors) {
		testdev_err(&a->b, "bad stream (chunk %u, 4 KiB..%u KiB, depth %u, 1..%u: the HBA's slots and the disk's NCQ depth)",
			    chunk, MAX_CHUNK / 1024, depth, slots);
		return -EINVAL;
	}
	/*
	 * A command table per slot. The data is thrown away, so a few
	 * buffers serve all slots, as in the NVMe stream (the memory the
	 * model writes stays in the CPU's caches); a checker gets a buffer
	 * per slot, each command's data intact until it has seen it.
	 */
	nbufs = a->sink || depth < STREAM_BUFS ? depth : STREAM_BUFS;
	tables = ddekit_dma_alloc((size_t)depth * TABLE_STRIDE, 128, &tables_bus);
	bufs = ddekit_dma_alloc((size_t)nbufs * chunk, PAGE, &bufs_bus);
	if (!tables || !bufs) {
		testdev_err(&a->b, "out of DMA memory for %u x %u-byte buffers",
			    nbufs, chunk);
		testdev_dma_free(tables);
		testdev_dma_free(bufs);
		return -ENOMEM;
	}
	memset(tables, 0, (size_t)depth * TABLE_STRIDE);
	for (i = 0; i < depth; i++) {
		struct ahci_cmd_table *t = (void *)(tables + i * TABLE_STRIDE);

		t->prd[0].dba = bufs_bus + (uint64_t)(i % nbufs) * chunk;
		t->prd[0].dbc = chunk - 1;
		a->cmd_list[i].flags = 5 | 1u << 16;	/* 5-dword FIS, 1 PRD */
		a->cmd_list[i].prdbc = 0;
		a->cmd_list[i].ctba = tables_bus + (uint64_t)i * TABLE_STRIDE;
	}
	/* Completions are polled: keep the port's interrupt quiet meanwhile. */
	testdev_wr32(a->port_regs, PX_IE, 0);
	sdb_seen(a);

	/*
	 * After an error, stop issuing but reap what is in flight before
	 * the buffers are freed.
	 */
	last_done = last_look = ddekit_clock_ns();
	while (outstanding || (submitted < total && !err)) {
		bool look;

		issue = 0;
		for (i = 0; i < depth && !err && submitted < total; i++) {
			if (outstanding & (1u << i))
				continue;
			if (lba + nsect > a->sectors)
				lba = 0;
			ncq_fis((void *)(tables + i * TABLE_STRIDE), lba, nsect, i);
			slot_lba[i] = lba;
			lba += nsect;
			submitted += chunk;
			issue |= 1u << i;
		}
		if (issue) {
			/* Tables before the HBA sees the slots; PxSACT before PxCI. */
			__atomic_thread_fence(__ATOMIC_RELEASE);
			testdev_wr32(a->port_regs, PX_SACT, issue);
			testdev_wr32(a->port_regs, PX_CI, issue);
			outstanding |= issue;
		}

		look = sdb_seen(a);
		if (!look && ++spins % 256 == 0) {
			/*
			 * A failed command writes its FIS but keeps its
			 * PxSACT bit: look now and then all the same.
			 */
			look = ddekit_clock_ns() - last_look > STALL_NS;
			ddekit_thread_yield();
		}
		if (!look) {
			__builtin_ia32_pause();
			continue;
		}
		err = testdev_rd32(a->port_regs, PX_SACT, &sact);
		if (err) {
			testdev_err(&a->b, "PxSACT read failed: %s",
				    ddekit_last_error());
			break;
		}
		done = outstanding & ~sact;
		for (i = 0; i < depth; i++)
			if ((done & (1u << i)) && a->sink)
				a->sink(a->sink_arg, slot_lba[i] * SECTOR,
					bufs + (size_t)(i % nbufs) * chunk, chunk);
		outstanding &= ~done;
		last_look = ddekit_clock_ns();
		if (done)
			last_done = last_look;
		else if (last_look - last_done > STALL_NS &&
			 (err = ahci_stall(a, outstanding,
					   last_look - last_done > CMD_TIMEOUT_NS)))
			break;
	}
	testdev_wr32(a->port_regs, PX_IS, 0xffffffff);
	testdev_wr32(a->b.regs, HBA_IS, 1u << a->port);
	testdev_wr32(a->port_regs, PX_IE, PORT_IE_MASK);
	if (!outstanding) {
		ddekit_dma_free(bufs);	/* else leak rather than corrupt */
		ddekit_dma_free(tables);
	}
	return err;
}
