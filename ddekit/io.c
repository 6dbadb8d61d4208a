/*
 * ddekit port I/O and MMIO, forwarded to the I/O server. An MMIO mapping
 * is an inaccessible reservation of the BAR's size: the pointer identifies
 * the BAR, and accessors translate it to the bus address. (A stray plain
 * load or store through it faults, and the trap engine in trap.c emulates
 * it through the same accessors.) Where the platform lets the driver have
 * the BAR itself (vfio: a real BAR, DDEIO_RES_MAPPABLE in the grant), the
 * mapping is the BAR, and loads, stores and the accessors go straight to
 * the device.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ddekit/ddekit.h>

#include "client.h"

#define MAX_MAPS 32

struct mmio_map {
	char *virt;
	size_t size;
	uint64_t bus;
	bool direct;	/* the BAR itself is mapped */
};

static struct mmio_map maps[MAX_MAPS];
static unsigned nmaps;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

static bool posted = true;

void ddekit_io_set_posted(bool on)
{
	posted = on;
}

/* the register (port, or MMIO bus address) this thread read last */
static __thread struct {
	uint64_t addr;
	bool pio, valid;
} last_read;

static void note_read(bool pio, uint64_t addr)
{
	last_read.pio = pio;
	last_read.addr = addr;
	last_read.valid = true;
}

/*
 * A write: posted, or answered once the device has taken it. A write to
 * the register just read is never posted: that is how a status register
 * is acknowledged (read it, write the bits back to clear them), and the
 * driver then looks at what the status said (its rings) expecting the
 * acknowledge done. Posted, it may land after the device set a new bit,
 * and wipe it: iPXE's rtl8139 lost its receive interrupt so for good.
 */
static int io_write(struct ddeio_msg *m, const void *payload, size_t plen)
{
	bool ack = last_read.valid && last_read.addr == m->addr &&
		   last_read.pio == (m->op == DDEIO_OP_PIO_WRITE || m->op == DDEIO_OP_PIO_WRITE_REP);

	last_read.valid = false;
	return posted && !ack ? ddeio_post_payload(m, payload, plen) :
				ddeio_call(m, payload, plen, NULL, NULL);
}

int ddekit_pio_read(uint16_t port, unsigned size, uint32_t *value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_PIO_READ, .addr = port, .size = size };
	int r = ddeio_call(&m, NULL, 0, NULL, NULL);

	note_read(true, port);
	*value = r ? 0xffffffffu : (uint32_t)m.value;
	return r;
}

int ddekit_pio_write(uint16_t port, unsigned size, uint32_t value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_PIO_WRITE, .addr = port, .size = size,
			       .value = value };

	return io_write(&m, NULL, 0);
}

/* One request per DDEIO_MAX_PAYLOAD bytes. */
int ddekit_pio_read_rep(uint16_t port, unsigned size, void *buf, size_t count)
{
	size_t per = size ? DDEIO_MAX_PAYLOAD / size : 0;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	for (size_t done = 0; done < count;) {
		size_t n = count - done < per ? count - done : per, len = n * size;
		struct ddeio_msg m = { .op = DDEIO_OP_PIO_READ_REP, .addr = port, .size = size,
				       .value = n };
		int r = ddeio_call(&m, NULL, 0, (char *)buf + done * size, &len);

		if (!r && len != n * size)
			r = -EPROTO;
		if (r) {
			memset((char *)buf + done * size, 0xff, (count - done) * size);
			return r;
		}
		done += n;
	}
	return 0;
}

int ddekit_pio_write_rep(uint16_t port, unsigned size, const void *buf, size_t count)
{
	size_t per = size ? DDEIO_MAX_PAYLOAD / size : 0;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	for (size_t done = 0; done < count;) {
		size_t n = count - done < per ? count - done : per;
		struct ddeio_msg m = { .op = DDEIO_OP_PIO_WRITE_REP, .addr = port, .size = size };
		int r = io_write(&m, (const char *)buf + done * size, n * size);

		if (r)
			return r;
		done += n;
	}
	return 0;
}

/* The BAR itself, from the fd the I/O server hands over; NULL if not. */
static void *map_bar(unsigned dev, unsigned bar, size_t size)
{
	struct ddeio_msg m = { .op = DDEIO_OP_BAR_MAP, .dev = dev, .addr = bar };
	int fd = -1, n = 0;
	void *virt;

	if (ddeio_call_fds(&m, &fd, 1, &n) || n != 1)
		return NULL;
	virt = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.value);
	close(fd);	/* the mapping stays; the device fd is not ours to keep */
	if (virt == MAP_FAILED)
		return NULL;
	/*
	 * A load from the BAR itself passes no posted write still on its way
	 * through ddeio (to the device's other BARs, its ports): from now on
	 * every forwarded write waits, so that a read sees them all.
	 */
	posted = false;
	return virt;
}

static bool map_at_bus;

void ddekit_mmio_map_at_bus(bool on)
{
	map_at_bus = on;
}

void *ddekit_mmio_map(unsigned dev, unsigned bar, size_t *size)
{
	const struct ddeio_grant *g = ddeio_grant();
	const struct ddeio_res *r;
	void *virt;

	if (!g || dev >= g->ndev || bar >= 6) {
		ddekit_set_error("no device #%u or BAR %u in this driver's grant", dev, bar);
		ddekit_log(DDEKIT_LOG_ERROR, "%s", ddekit_last_error());
		return NULL;
	}
	r = &g->dev[dev].bar[bar];
	if (r->kind != DDEIO_RES_MEM32 && r->kind != DDEIO_RES_MEM64) {
		ddekit_set_error("device #%u BAR %u is not a memory BAR", dev, bar);
		ddekit_log(DDEKIT_LOG_ERROR, "%s", ddekit_last_error());
		return NULL;
	}
	if (!ddekit_trap_install) {
		ddekit_set_error("device #%u BAR %u: a mapped BAR needs the trap engine, which "
				 "this program does not link (ddekit/trap.c; or use "
				 "ddekit_mmio_read/write)", dev, bar);
		ddekit_log(DDEKIT_LOG_ERROR, "%s", ddekit_last_error());
		return NULL;
	}
	pthread_mutex_lock(&map_lock);
	for (unsigned i = 0; i < nmaps; i++) {
		if (maps[i].bus == r->start) {
			virt = maps[i].virt;
			goto out;
		}
	}
	virt = NULL;
	if (nmaps == MAX_MAPS)
		goto out;
	bool direct = false;

	if (r->flags & DDEIO_RES_MAPPABLE)
		direct = (virt = map_bar(dev, bar, r->size)) != NULL;
	/* at its bus address if asked (and free): code that uses bus addresses as pointers */
	if (!virt && map_at_bus)
		virt = mmap((void *)(uintptr_t)r->start, r->size, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (virt == MAP_FAILED || (virt && map_at_bus && virt != (void *)(uintptr_t)r->start)) {
		ddekit_log(DDEKIT_LOG_WARN, "device #%u BAR %u: its bus address %#llx is taken in "
			   "this process: mapped elsewhere", dev, bar, (unsigned long long)r->start);
		if (virt != MAP_FAILED)
			munmap(virt, r->size);
		virt = NULL;
	}
	if (!virt)
		virt = mmap(NULL, r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	if (virt == MAP_FAILED) {
		virt = NULL;
		goto out;
	}
	maps[nmaps] = (struct mmio_map){ virt, r->size, r->start, direct };
	/* publish the entry before the count: translate() and the trap engine read without the lock */
	__atomic_store_n(&nmaps, nmaps + 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&map_lock);
	if (virt && size)
		*size = r->size;
	return virt;
}

/* Give back the BARs mapped themselves (the I/O server checks that a
 * driver that leaves holds none); their addresses stay reserved. */
void ddekit_mmio_unmap_direct(void)
{
	pthread_mutex_lock(&map_lock);
	for (unsigned i = 0; i < nmaps; i++)
		if (maps[i].direct &&
		    mmap(maps[i].virt, maps[i].size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED)
			maps[i].direct = false;	/* an access now goes to ddeio (and fails) */
	pthread_mutex_unlock(&map_lock);
}

/* 0: @addr is in a trapped BAR at *@bus; 1: in a BAR mapped itself. */
static int translate(const volatile void *addr, unsigned size, uint64_t *bus)
{
	const char *a = (const char *)addr;

	/* maps[] only grows, entries never change: read without the lock */
	for (unsigned i = 0; i < __atomic_load_n(&nmaps, __ATOMIC_ACQUIRE); i++) {
		if (a >= maps[i].virt && a + size <= maps[i].virt + maps[i].size) {
			*bus = maps[i].bus + (uint64_t)(a - maps[i].virt);
			return maps[i].direct;
		}
	}
	ddekit_set_error("%p is not inside a mapped BAR", (const void *)a);
	ddekit_log(DDEKIT_LOG_ERROR, "MMIO access: %s", ddekit_last_error());
	return -EFAULT;
}

bool ddekit_mmio_contains(uintptr_t addr, size_t size)
{
	unsigned n = __atomic_load_n(&nmaps, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++) {
		uintptr_t start = (uintptr_t)maps[i].virt;

		if (addr - start < maps[i].size)
			return size <= maps[i].size - (addr - start);
	}
	return false;
}

/* a load or store of @size on the device's own BAR */
static int direct_access(volatile void *addr, unsigned size, uint64_t *value, bool write)
{
	switch (size) {
	case 1:
		if (write)
			*(volatile uint8_t *)addr = (uint8_t)*value;
		else
			*value = *(volatile uint8_t *)addr;
		return 0;
	case 2:
		if (write)
			*(volatile uint16_t *)addr = (uint16_t)*value;
		else
			*value = *(volatile uint16_t *)addr;
		return 0;
	case 4:
		if (write)
			*(volatile uint32_t *)addr = (uint32_t)*value;
		else
			*value = *(volatile uint32_t *)addr;
		return 0;
	case 8:
		if (write)
			*(volatile uint64_t *)addr = *value;
		else
			*value = *(volatile uint64_t *)addr;
		return 0;
	}
	return -EINVAL;
}

int ddekit_mmio_read(const volatile void *addr, unsigned size, uint64_t *value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_MMIO_READ, .size = size };
	int r = translate(addr, size, &m.addr);
	uint64_t bus = m.addr;	/* the answer reuses m */

	if (r == 1)
		return direct_access((volatile void *)(uintptr_t)addr, size, value, false);
	if (!r)
		r = ddeio_call(&m, NULL, 0, NULL, NULL);
	if (!r)
		note_read(false, bus);
	*value = r ? ~0ull : m.value;
	return r;
}

int ddekit_mmio_write(volatile void *addr, unsigned size, uint64_t value)
{
	struct ddeio_msg m = { .op = DDEIO_OP_MMIO_WRITE, .size = size, .value = value };
	int r = translate(addr, size, &m.addr);

	if (r == 1)
		return direct_access(addr, size, &value, true);
	return r ? r : io_write(&m, NULL, 0);
}
