/*
 * ddekit memory. Ordinary memory is the C heap. DMA memory is carved out of
 * the region the I/O server granted (mapped at connect): a first-fit
 * allocator over a sorted table of allocations, so that alignment is exact
 * and freeing needs no header inside device-visible memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ddekit/ddekit.h>

#include "client.h"

struct dma_block {
	size_t offset, size;
};

static struct {
	pthread_mutex_t lock;
	char *virt;
	uint64_t bus;
	size_t size;
	struct dma_block *block;	/* sorted by offset */
	size_t nblock, cap;
	size_t clean;		/* from here on never handed out: still zero */
} dma = { .lock = PTHREAD_MUTEX_INITIALIZER };

void *ddekit_mem_alloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void ddekit_mem_free(void *ptr)
{
	free(ptr);
}

void ddekit_dma_setup(void *virt, uint64_t bus, size_t size, int zeroed)
{
	pthread_mutex_lock(&dma.lock);
	dma.virt = virt;
	dma.bus = bus;
	dma.size = size;
	dma.clean = zeroed ? 0 : size;
	free(dma.block);
	dma.block = NULL;
	dma.nblock = dma.cap = 0;
	pthread_mutex_unlock(&dma.lock);
}

void ddekit_dma_usage(size_t *used, size_t *blocks, size_t *size)
{
	size_t u = 0;

	pthread_mutex_lock(&dma.lock);
	for (size_t i = 0; i < dma.nblock; i++)
		u += dma.block[i].size;
	*used = u;
	*blocks = dma.nblock;
	*size = dma.size;
	pthread_mutex_unlock(&dma.lock);
}

void *ddekit_dma_alloc(size_t size, size_t align, uint64_t *bus)
{
	size_t start = 0, i;
	void *ptr = NULL;

	if (align < 64)
		align = 64;
	if (!size || size > SIZE_MAX - 63 || (align & (align - 1))) {
		ddekit_set_error("DMA allocation of %zu bytes aligned to %zu: invalid", size,
				 align);
		return NULL;
	}
	size = (size + 63) & ~(size_t)63;
	pthread_mutex_lock(&dma.lock);
	if (dma.nblock == dma.cap) {
		size_t cap = dma.cap ? dma.cap * 2 : 64;
		struct dma_block *b = realloc(dma.block, cap * sizeof(*b));

		if (!b)
			goto out;
		dma.block = b;
		dma.cap = cap;
	}
	/* bus addresses, not offsets, must be aligned */
	for (i = 0; i <= dma.nblock; i++) {
		size_t end = i < dma.nblock ? dma.block[i].offset : dma.size;
		uint64_t a = (dma.bus + start + align - 1) & ~(uint64_t)(align - 1);
		size_t off = (size_t)(a - dma.bus);

		if (off + size <= end && off + size > off) {
			memmove(&dma.block[i + 1], &dma.block[i],
				(dma.nblock - i) * sizeof(*dma.block));
			dma.block[i] = (struct dma_block){ off, size };
			dma.nblock++;
			ptr = dma.virt + off;
			/* memory never handed out is zero already: not touched
			 * here, so a driver's start does not fault in (and zero
			 * twice) all it allocates, such as its request slots */
			if (off < dma.clean)
				memset(ptr, 0, (off + size < dma.clean ? off + size : dma.clean) - off);
			if (off + size > dma.clean)
				dma.clean = off + size;
			if (bus)
				*bus = dma.bus + off;
			break;
		}
		if (i < dma.nblock)
			start = dma.block[i].offset + dma.block[i].size;
	}
out:
	pthread_mutex_unlock(&dma.lock);
	if (!ptr)
		ddekit_set_error("DMA memory exhausted (%zu bytes asked, region %zu MiB)",
				 size, dma.size >> 20);
	return ptr;
}

void ddekit_dma_free(void *ptr)
{
	size_t off = (size_t)((char *)ptr - dma.virt);

	if (!ptr)
		return;
	pthread_mutex_lock(&dma.lock);
	for (size_t i = 0; i < dma.nblock; i++) {
		if (dma.block[i].offset == off) {
			memmove(&dma.block[i], &dma.block[i + 1],
				(dma.nblock - i - 1) * sizeof(*dma.block));
			dma.nblock--;
			pthread_mutex_unlock(&dma.lock);
			return;
		}
	}
	pthread_mutex_unlock(&dma.lock);
	ddekit_panic("ddekit_dma_free(%p): not a DMA allocation", ptr);
}

uint64_t ddekit_dma_virt_to_bus(const void *ptr)
{
	const char *p = ptr;

	if (!dma.virt || p < dma.virt || p >= dma.virt + dma.size) {
		ddekit_set_error("%p is not in this driver's DMA memory", ptr);
		return 0;
	}
	return dma.bus + (uint64_t)(p - dma.virt);
}

void *ddekit_dma_bus_to_virt(uint64_t bus)
{
	if (!dma.virt || bus < dma.bus || bus >= dma.bus + dma.size) {
		ddekit_set_error("bus address 0x%llx is outside this driver's DMA memory "
				 "[0x%llx, 0x%llx)", (unsigned long long)bus,
				 (unsigned long long)dma.bus,
				 (unsigned long long)(dma.bus + dma.size));
		return NULL;
	}
	return dma.virt + (bus - dma.bus);
}

void ddekit_dma_region(void **virt, uint64_t *bus, size_t *size)
{
	if (virt)
		*virt = dma.virt;
	if (bus)
		*bus = dma.bus;
	if (size)
		*size = dma.size;
}
