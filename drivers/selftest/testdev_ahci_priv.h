/*
 * testdev_ahci_priv — what testdev_ahci.c (setup, synchronous commands by
 * interrupt) and testdev_ahci_stream.c (the polled NCQ benchmark loop)
 * share: the register map, the command list structures and the driver's
 * state. Private to the AHCI testdev driver.
 */
#ifndef TESTDEV_AHCI_PRIV_H
#define TESTDEV_AHCI_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <ddekit/ddekit.h>

#include "testdev.h"
#include "testdev_util.h"

enum {
	HBA_CAP = 0x00,
	HBA_GHC = 0x04,
	HBA_IS = 0x08,
	HBA_PI = 0x0c,
	HBA_VS = 0x10,
	HBA_PORTS = 0x100,
	PORT_STRIDE = 0x80,
	/* Port registers, relative to the port's base. */
	PX_CLB = 0x00,
	PX_CLBU = 0x04,
	PX_FB = 0x08,
	PX_FBU = 0x0c,
	PX_IS = 0x10,
	PX_IE = 0x14,
	PX_CMD = 0x18,
	PX_TFD = 0x20,
	PX_SIG = 0x24,
	PX_SSTS = 0x28,
	PX_SERR = 0x30,
	PX_SACT = 0x34,
	PX_CI = 0x38,
};

#define CAP_SNCQ	(1u << 30)
#define CAP_NCS(cap)	((((cap) >> 8) & 0x1f) + 1)	/* command slots */
#define GHC_HR		(1u << 0)
#define GHC_IE		(1u << 1)
#define GHC_AE		(1u << 31)
#define CMD_ST		(1u << 0)
#define CMD_FRE		(1u << 4)
#define CMD_FR		(1u << 14)
#define CMD_CR		(1u << 15)
#define TFD_ERR		0x01
#define TFD_DRQ		0x08
#define TFD_BSY		0x80
#define IS_TFES		(1u << 30)
/*
 * D2H register FIS, PIO setup, set device bits and the fatal errors. Not
 * "descriptor processed": the D2H FIS that ends a command suffices, and
 * every extra cause would be one more interrupt round trip per command.
 */
#define PORT_IE_MASK	0x7800000bu
#define SSTS_DET_PRESENT 3

#define FIS_H2D		0x27
#define FIS_C		0x80
#define ATA_LBA		0x40
#define ATA_IDENTIFY	0xec
#define ATA_READ_DMA_EXT 0x25
#define ATA_READ_FPDMA_QUEUED 0x60	/* NCQ */

#define SECTOR		512u
#define PRD_MAX		(4u << 20)		/* bytes per PRD entry */
#define SECTORS_PER_CMD	(PRD_MAX / SECTOR)	/* one PRD per command */
#define CMD_TIMEOUT_NS	10000000000ull
/* Received FIS area: where the HBA puts the last Set Device Bits FIS. */
#define RFIS_SDB	0x58
#define FIS_SDB		0xa1

struct ahci_cmd_header {
	uint32_t flags;		/* CFL 4:0, W bit 6, PRDTL 31:16 */
	uint32_t prdbc;		/* bytes transferred, set by the HBA */
	uint64_t ctba;
	uint32_t rsvd[4];
};

struct ahci_prd {
	uint64_t dba;
	uint32_t rsvd;
	uint32_t dbc;		/* byte count - 1; bit 31 (interrupt) unused */
};

struct ahci_cmd_table {
	uint8_t cfis[64];
	uint8_t acmd[16];
	uint8_t rsvd[48];
	struct ahci_prd prd[1];
};

struct testdev_ahci {
	struct testdev_base b;
	volatile uint8_t *port_regs;
	unsigned port;
	unsigned long irq_count;	/* atomic */
	uint32_t irq_port_is;		/* port IS bits seen (atomic) */
	uint32_t cap, vs;

	struct ahci_cmd_header *cmd_list;
	void *rfis;
	struct ahci_cmd_table *table;
	uint64_t table_bus;
	uint16_t *ident;
	uint64_t ident_bus;

	/* From IDENTIFY DEVICE (0 until it ran): size, NCQ queue depth. */
	uint64_t sectors;
	unsigned ncq_depth;
	testdev_stream_fn *sink;	/* testdev_ahci_stream_check */
	void *sink_arg;
};

/* A host-to-device command FIS of @cmd at @lba (48-bit): the rest is the command's. */
static inline void ahci_fis_lba(uint8_t *f, uint8_t cmd, uint64_t lba)
{
	memset(f, 0, 20);
	f[0] = FIS_H2D;
	f[1] = FIS_C;
	f[2] = cmd;
	f[4] = (uint8_t)lba;
	f[5] = (uint8_t)(lba >> 8);
	f[6] = (uint8_t)(lba >> 16);
	f[7] = ATA_LBA;
	f[8] = (uint8_t)(lba >> 24);
	f[9] = (uint8_t)(lba >> 32);
	f[10] = (uint8_t)(lba >> 40);
}

#endif
