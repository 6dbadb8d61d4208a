/*
 * ddekit memory: ordinary memory and DMA memory.
 *
 * DMA memory lives in the region the I/O server granted to this driver
 * (on the qemu platform, a RAM file shared with the machine: zero copy).
 * Within it, virtual and bus addresses differ by a constant, so both
 * translations are arithmetic.
 */
#ifndef DDEKIT_MEMORY_H
#define DDEKIT_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* Zeroed memory the device never sees; NULL if out of memory. */
void *ddekit_mem_alloc(size_t size);
void ddekit_mem_free(void *ptr);

/*
 * Zeroed DMA memory of @size bytes aligned to @align (a power of two,
 * at least 64; page-size or more for rings). Returns NULL when the
 * driver's DMA region is exhausted. *@bus receives the bus address.
 */
void *ddekit_dma_alloc(size_t size, size_t align, uint64_t *bus);
void ddekit_dma_free(void *ptr);
/* What the DMA memory holds now: bytes handed out and not freed, in how
 * many blocks, of how many bytes in all. */
void ddekit_dma_usage(size_t *used, size_t *blocks, size_t *size);

/* Bus address of a DMA pointer; 0 (and an error) if @ptr is not DMA memory. */
uint64_t ddekit_dma_virt_to_bus(const void *ptr);

/* Pointer for a bus address; NULL (and an error) outside the driver's region. */
void *ddekit_dma_bus_to_virt(uint64_t bus);

/* The whole DMA region: its virtual start, bus address and size. */
void ddekit_dma_region(void **virt, uint64_t *bus, size_t *size);

/*
 * For a server that is to read and write some of the driver's DMA memory
 * itself (bddf: a block driver's request slots): the region's memory
 * object (a memfd sealed against resizing; ddekit's own: pass it on, do not
 * close it) and where @size bytes at @ptr (page-aligned) are in it
 * (*@offset). -EINVAL if they are not DMA memory, -ENODEV without a grant.
 */
int ddekit_dma_share(const void *ptr, size_t size, uint64_t *offset);

#endif
