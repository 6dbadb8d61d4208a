/*
 * The ddeio protocol: how driver processes (through ddekit) and tools talk
 * to the I/O server.
 *
 * Transport: a SOCK_SEQPACKET Unix socket per client, so every message
 * keeps its boundaries. A message is a fixed header, optionally followed
 * by up to DDEIO_MAX_PAYLOAD bytes of payload. File descriptors travel as
 * SCM_RIGHTS ancillary data. Everything a client sends is untrusted: the
 * server checks the length of every message and every access against the
 * client's grants.
 *
 * Session: the client's first message is DDEIO_OP_HELLO (with the
 * protocol version, its name and the device slots it claims, and one end of
 * a socketpair for events). The reply carries the grant (devices,
 * resources, DMA region) and the DMA region's memory fd. Then requests
 * follow, each answered by a reply with the same op and sequence number,
 * except posted writes (DDEIO_F_POSTED), which are answered only when they
 * fail — as an event, since the client has moved on.
 *
 * Who may claim devices: a client that `dde run` set up for a driver (the
 * driver is handed a connected socket whose server end dde gave ddeio with
 * DDEIO_OP_CHANNEL on its control channel, naming the devices the driver
 * may claim), or, when ddeio runs without a control channel or with
 * --open-claims (by hand, debugging), any client its access check admits.
 *
 * Events (server to client, on the event socket): DDEIO_OP_EVENT_IRQ
 * (addr = interrupt line; the line is masked for this client until it
 * sends DDEIO_OP_IRQ_UNMASK) and DDEIO_OP_EVENT_ERROR (a refused posted
 * write; payload is the reason).
 *
 * Message-signalled interrupts (MSI_ENABLE) do not pass through the
 * server: the reply hands the driver one eventfd per vector, which the
 * machine signals directly (docs/machine.md, "MSI and MSI-X").
 *
 * See docs/protocol.md.
 */
#ifndef DDEIO_PROTOCOL_H
#define DDEIO_PROTOCOL_H

#include <stdint.h>

#define DDEIO_PROTOCOL_VERSION 3
#define DDEIO_MAX_PAYLOAD 4096
#define DDEIO_MAX_DEVICES 8	/* devices in one grant */
#define DDEIO_NAME_LEN 48

enum ddeio_op {
	DDEIO_OP_HELLO = 1,	/* payload: struct ddeio_hello; fd: event socket */
	DDEIO_OP_LIST,		/* addr = first index; reply: value = total,
				 * payload = struct ddeio_device[] from there */
	DDEIO_OP_CONFIG_READ,	/* dev, addr = offset, size */
	DDEIO_OP_CONFIG_WRITE,	/* dev, addr = offset, size, value */
	DDEIO_OP_PIO_READ,	/* addr = port, size */
	DDEIO_OP_PIO_WRITE,	/* addr = port, size, value */
	DDEIO_OP_MMIO_READ,	/* addr = bus address, size */
	DDEIO_OP_MMIO_WRITE,	/* addr = bus address, size, value */
	DDEIO_OP_MEM_READ,	/* addr = bus address, size = bytes (<= payload) */
	DDEIO_OP_MEM_WRITE,	/* addr, payload = bytes */
	DDEIO_OP_IRQ_UNMASK,	/* addr = line: deliver it (again) */
	DDEIO_OP_IRQ_MASK,	/* addr = line: stop delivering it */
	DDEIO_OP_EVENT_IRQ,	/* event: addr = line */
	DDEIO_OP_EVENT_ERROR,	/* event: a posted write was refused; payload = text */
	DDEIO_OP_PIO_READ_REP,	/* addr = port, size, value = count; reply payload =
				 * count elements (count * size <= payload) */
	DDEIO_OP_PIO_WRITE_REP,	/* addr = port, size; payload = the elements */
	DDEIO_OP_CHANNEL,	/* control channel only: payload = struct ddeio_hello,
				 * the claim the new client may make; fd = the
				 * server's end of the driver's connection */
	DDEIO_OP_OWNERS,	/* reply payload = struct ddeio_owner[], one per
				 * device a driver holds (as `lspci -k`'s "in use") */
	DDEIO_OP_MSI_ENABLE,	/* dev, size = enum ddeio_msi_kind, addr = fewest,
				 * value = most vectors wanted; reply: value =
				 * vectors granted, size = kind used, one eventfd
				 * per vector (vector k signals the k-th) */
	DDEIO_OP_MSI_DISABLE,	/* dev: back to INTx; its eventfds fall silent */
	DDEIO_OP_BAR_MAP,	/* dev, addr = BAR: where the platform lets a driver
				 * map it (vfio): reply fd to mmap, value = offset
				 * in it; -EOPNOTSUPP: accesses go through ddeio */
	DDEIO_OP_HOTPLUG,	/* control channel only (dde): addr = DDEIO_HP_SCAN: reply
				 * payload = struct ddeio_hp_event[], what changed on
				 * the hot-plug slots since the last scan (the new
				 * devices enumerated, their slots powered); addr =
				 * DDEIO_HP_EJECT, value = bdf: power its slot off, the
				 * device held by no driver; reply once it is gone
				 * (its DDEIO_HP_GONE events) */
	DDEIO_OP_MAX
};

enum ddeio_msi_kind {
	DDEIO_MSI_ANY = 0,	/* MSI-X where the device has it, else MSI */
	DDEIO_MSI_MSIX,
	DDEIO_MSI_MSI,
};

#define DDEIO_MAX_VECTORS 32	/* per device */

#define DDEIO_F_POSTED 0x1	/* no reply unless it fails (as an event) */

struct ddeio_msg {
	uint16_t op;
	uint16_t flags;
	uint32_t seq;
	int32_t status;		/* reply: 0 or -errno; payload = reason text */
	uint32_t size;		/* access size, or payload byte count */
	uint32_t dev;		/* device index within the grant */
	uint32_t pad;
	uint64_t addr;
	uint64_t value;
};

struct ddeio_hello {
	uint32_t version;	/* DDEIO_PROTOCOL_VERSION */
	uint32_t ndev;		/* 0: a tool (may only LIST) */
	char name[DDEIO_NAME_LEN];
	uint32_t bdf[DDEIO_MAX_DEVICES];	/* bus << 8 | slot << 3 | func */
};

/* Who holds a device: the driver's name as it said hello, and its process. */
struct ddeio_owner {
	uint32_t bdf;
	int32_t pid;		/* 0 if ddeio does not know it */
	char name[DDEIO_NAME_LEN];
};

enum ddeio_res_kind {
	DDEIO_RES_NONE = 0,
	DDEIO_RES_IO,
	DDEIO_RES_MEM32,
	DDEIO_RES_MEM64,
};

#define DDEIO_RES_PREFETCH 0x1
#define DDEIO_RES_MAPPABLE 0x2	/* BAR_MAP gives the driver the BAR itself */

struct ddeio_res {
	uint8_t kind;		/* enum ddeio_res_kind */
	uint8_t flags;
	uint16_t pad;
	uint32_t pad2;
	uint64_t start;
	uint64_t size;
};

#define DDEIO_IRQ_NONE 0xff
#define DDEIO_LEGACY_RES 4

struct ddeio_device {
	uint32_t bdf;
	uint16_t vendor, device;
	uint16_t subsystem_vendor, subsystem_device;
	uint32_t class_code;
	uint8_t revision;
	uint8_t irq_pin;	/* 1..4 = INTA..INTD, 0 none */
	uint8_t irq;		/* I/O APIC line, DDEIO_IRQ_NONE if none */
	uint8_t legacy_irq[2];	/* e.g. 14/15 for a compatibility-mode IDE, else NONE */
	uint8_t pad[3];
	struct ddeio_res bar[6];
	struct ddeio_res legacy[DDEIO_LEGACY_RES];	/* legacy I/O ranges */
};

struct ddeio_grant {
	uint64_t dma_bus;	/* bus address of the DMA region */
	uint64_t dma_size;
	uint32_t ndev;
	uint32_t pad;
	struct ddeio_device dev[DDEIO_MAX_DEVICES];
};

_Static_assert(sizeof(struct ddeio_grant) <= DDEIO_MAX_PAYLOAD, "grant too big");

/* What changed on a hot-plug slot (DDEIO_OP_HOTPLUG). */
enum ddeio_hp_kind {
	DDEIO_HP_ADDED = 1,	/* dev arrived (enumerated, resources assigned) */
	DDEIO_HP_REMOVE_REQUEST,	/* dev's slot's attention button: asked to go */
	DDEIO_HP_GONE,		/* dev is no longer on the machine */
};
#define DDEIO_HP_SCAN 0
#define DDEIO_HP_EJECT 1

struct ddeio_hp_event {
	uint32_t kind;		/* enum ddeio_hp_kind */
	uint32_t port;		/* the slot's port (bdf) */
	struct ddeio_device dev;
};

#define DDEIO_BDF_NONE 0xffffffffu
#define DDEIO_BDF(bus, slot, func) ((uint32_t)(bus) << 8 | (slot) << 3 | (func))
#define DDEIO_BDF_BUS(bdf) (((bdf) >> 8) & 0xff)
#define DDEIO_BDF_SLOT(bdf) (((bdf) >> 3) & 0x1f)
#define DDEIO_BDF_FUNC(bdf) ((bdf) & 7)

#endif
