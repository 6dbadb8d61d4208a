/*
 * Memory: everything Linux allocates lives in the driver's DMA region, so
 * that any buffer can be handed to a device and virt<->bus is arithmetic.
 * Linux's own macros then work unchanged: __pa(x) = x - page_offset_base
 * is the bus address, and virt_to_page() finds a struct page in an array
 * covering the region (vmemmap_base).
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/sections.h>

#include <lx_kit/kit.h>
#include <linux/iommu.h>

#include "lx_emul.h"

unsigned long page_offset_base;
unsigned long vmemmap_base;
unsigned long phys_base;
unsigned long max_pfn;

struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

DEFINE_STATIC_KEY_FALSE(devmap_managed_key);

/*
 * put_page() asks this only while devmap_managed_key is on, which it never
 * is: there is no device memory (ZONE_DEVICE) here, so no page is one.
 */
bool __put_devmap_managed_page_refs(struct page *page, int refs)
{
	return false;
}
DEFINE_STATIC_KEY_FALSE(hugetlb_optimize_vmemmap_key);

static unsigned long region_start, region_end;	/* virtual */

void lx_emul_mem_init(void)
{
	void *virt;
	unsigned long long bus;
	unsigned long size, npages;
	struct page *map;

	lx_kit_dma_region(&virt, &bus, &size);
	if (!virt)
		lx_kit_panic("lx_emul: the driver has no DMA memory");
	region_start = (unsigned long)virt;
	region_end = region_start + size;
	page_offset_base = region_start - (unsigned long)bus;
	npages = size >> PAGE_SHIFT;
	map = lx_kit_dma_alloc(npages * sizeof(struct page), PAGE_SIZE);
	if (!map)
		lx_kit_panic("lx_emul: no room for the page array");
	vmemmap_base = (unsigned long)map - (unsigned long)(bus >> PAGE_SHIFT) * sizeof(struct page);
	max_pfn = (bus + size) >> PAGE_SHIFT;
}

static bool in_region(const void *p)
{
	return (unsigned long)p >= region_start && (unsigned long)p < region_end;
}

/* ---- kmalloc: a 64-byte header in front keeps the size ---- */

#define HDR 64

struct kmalloc_hdr {
	size_t size;
	unsigned long magic;
	void *block;		/* what lx_kit_dma_alloc returned */
};

#define KMALLOC_MAGIC 0x6b6d616c6c6f6321ul

static void *lx_alloc(size_t size, gfp_t flags, size_t align)
{
	char *p;
	struct kmalloc_hdr *h;

	if (!size)
		return ZERO_SIZE_PTR;
	if (align < HDR)
		align = HDR;
	p = lx_kit_dma_alloc(size + align, align);	/* zeroed */
	if (!p)
		return NULL;
	h = (struct kmalloc_hdr *)(p + align - HDR);
	h->size = size;
	h->magic = KMALLOC_MAGIC;
	h->block = p;
	return p + align;
}

void *__kmalloc(size_t size, gfp_t flags)
{
	return lx_alloc(size, flags, 0);
}

void *__kmalloc_node(size_t size, gfp_t flags, int node)
{
	return lx_alloc(size, flags, 0);
}

void *kmalloc_trace(struct kmem_cache *s, gfp_t flags, size_t size)
{
	return lx_alloc(size, flags, 0);
}

void *kmalloc_node_trace(struct kmem_cache *s, gfp_t gfpflags, int node, size_t size)
{
	return lx_alloc(size, gfpflags, 0);
}

void *__kmalloc_node_track_caller(size_t size, gfp_t flags, int node, unsigned long caller)
{
	return lx_alloc(size, flags, 0);
}

void *kmalloc_large(size_t size, gfp_t flags)
{
	return lx_alloc(size, flags, PAGE_SIZE);
}

void *kmalloc_large_node(size_t size, gfp_t flags, int node)
{
	return lx_alloc(size, flags, PAGE_SIZE);
}

static struct kmalloc_hdr *hdr_of(const void *p)
{
	struct kmalloc_hdr *h = (struct kmalloc_hdr *)((char *)p - HDR);

	if (!in_region(p) || h->magic != KMALLOC_MAGIC)
		panic("lx_emul: kfree/ksize of %px, which kmalloc did not return", p);
	return h;
}

void kfree(const void *p)
{
	struct kmalloc_hdr *h;

	if (ZERO_OR_NULL_PTR(p))
		return;
	h = hdr_of(p);
	h->magic = 0;
	lx_kit_dma_free(h->block);
}

size_t __ksize(const void *p)
{
	return ZERO_OR_NULL_PTR(p) ? 0 : hdr_of(p)->size;
}

size_t ksize(const void *p)
{
	return __ksize(p);
}

void *krealloc(const void *p, size_t new_size, gfp_t flags)
{
	void *n;

	if (ZERO_OR_NULL_PTR(p))
		return kmalloc(new_size, flags);
	if (!new_size) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	if (hdr_of(p)->size >= new_size)
		return (void *)p;
	n = kmalloc(new_size, flags);
	if (n) {
		memcpy(n, p, hdr_of(p)->size);
		kfree(p);
	}
	return n;
}

void kfree_sensitive(const void *p)
{
	if (!ZERO_OR_NULL_PTR(p))
		memset((void *)p, 0, hdr_of(p)->size);
	kfree(p);
}

void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc(len, gfp);

	if (p)
		memcpy(p, src, len);
	return p;
}

char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	char *d;
	size_t n;

	if (!s)
		return NULL;
	n = strnlen(s, max);
	d = kmalloc(n + 1, gfp);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

char *kstrdup(const char *s, gfp_t gfp)
{
	return s ? kmemdup(s, strlen(s) + 1, gfp) : NULL;
}

const char *kstrdup_const(const char *s, gfp_t gfp)
{
	return kstrdup(s, gfp);
}

void kfree_const(const void *x)
{
	if (!is_kernel_rodata((unsigned long)x))
		kfree(x);
}

/* vmalloc: the same memory (nothing here needs it virtually contiguous only) */
void *vmalloc(unsigned long size)
{
	return lx_alloc(size, GFP_KERNEL, 0);
}

void *__vmalloc(unsigned long size, gfp_t gfp)
{
	return (gfp & __GFP_ZERO) ? vzalloc(size) : vmalloc(size);
}

void *vzalloc(unsigned long size)
{
	return lx_alloc(size, GFP_KERNEL, 0);
}

void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	return lx_alloc(size, flags, 0);
}

void vfree(const void *p)
{
	kfree(p);
}

void kvfree(const void *p)
{
	kfree(p);
}

bool is_vmalloc_addr(const void *x)
{
	return false;
}

/* ---- slab caches ---- */

struct kmem_cache {
	unsigned int size, align;
	void (*ctor)(void *);
	const char *name;
};

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size, unsigned int align,
				     slab_flags_t flags, void (*ctor)(void *))
{
	struct kmem_cache *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (c)
		*c = (struct kmem_cache){ size, align, ctor, name };
	return c;
}

struct kmem_cache *kmem_cache_create_usercopy(const char *name, unsigned int size,
					      unsigned int align, slab_flags_t flags,
					      unsigned int useroffset, unsigned int usersize,
					      void (*ctor)(void *))
{
	return kmem_cache_create(name, size, align, flags, ctor);
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	kfree(c);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t flags)
{
	void *p = lx_alloc(c->size, flags, c->align);

	if (p && c->ctor)
		c->ctor(p);
	return p;
}

void *kmem_cache_alloc_node(struct kmem_cache *c, gfp_t flags, int node)
{
	return kmem_cache_alloc(c, flags);
}

void *kmem_cache_alloc_lru(struct kmem_cache *c, struct list_lru *lru, gfp_t flags)
{
	return kmem_cache_alloc(c, flags);
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	kfree(p);
}

int kmem_cache_alloc_bulk(struct kmem_cache *c, gfp_t flags, size_t n, void **p)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = kmem_cache_alloc(c, flags);
		if (!p[i]) {
			while (i--)
				kfree(p[i]);
			return 0;
		}
	}
	return n;
}

void kmem_cache_free_bulk(struct kmem_cache *c, size_t n, void **p)
{
	for (size_t i = 0; i < n; i++)
		kfree(p[i]);
}

/* ---- pages ---- */

void prep_compound_page(struct page *page, unsigned int order);	/* mm/internal.h */

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	void *p = lx_kit_dma_alloc(PAGE_SIZE << order, PAGE_SIZE << order);
	struct page *page;

	if (!p)
		return NULL;
	page = virt_to_page(p);
	for (unsigned i = 0; i < (1u << order); i++)
		memset(page + i, 0, sizeof(*page));
	set_page_count(page, 1);
	if (order && (gfp & __GFP_COMP))
		prep_compound_page(page, order);
	set_page_private(page, order);
	return page;
}

struct page *__alloc_pages(gfp_t gfp, unsigned int order, int preferred_nid, nodemask_t *nm)
{
	return alloc_pages(gfp, order);
}

struct folio *folio_alloc(gfp_t gfp, unsigned int order)
{
	return page_folio(alloc_pages(gfp | __GFP_COMP, order));
}

unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	struct page *page = alloc_pages(gfp, order);

	return page ? (unsigned long)page_address(page) : 0;
}

unsigned long get_zeroed_page(gfp_t gfp)
{
	return __get_free_pages(gfp, 0);
}

static void free_the_pages(struct page *page)
{
	lx_kit_dma_free(page_address(page));
}

void __free_pages(struct page *page, unsigned int order)
{
	if (put_page_testzero(page))
		free_the_pages(page);
}

void free_pages(unsigned long addr, unsigned int order)
{
	if (addr)
		__free_pages(virt_to_page((void *)addr), order);
}

/* SIZE bytes of whole pages (virtio's rings without the DMA API): the
 * block of the next power of two, kept whole (Linux gives its tail back) */
void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	return (void *)__get_free_pages(gfp & ~__GFP_COMP, get_order(size));
}

void free_pages_exact(void *virt, size_t size)
{
	free_pages((unsigned long)virt, get_order(size));
}

void __folio_put(struct folio *folio)
{
	free_the_pages(&folio->page);
}

void prep_compound_page(struct page *page, unsigned int order)
{
	unsigned int nr = 1u << order;

	__SetPageHead(page);
	for (unsigned int i = 1; i < nr; i++) {
		struct page *p = page + i;

		p->mapping = TAIL_MAPPING;
		set_compound_head(p, page);
	}
	set_compound_page_dtor(page, COMPOUND_PAGE_DTOR);
	set_compound_order(page, order);
	atomic_set(compound_mapcount_ptr(page), -1);
	atomic_set(compound_pincount_ptr(page), 0);
}

/* ---- DMA mapping: bus address = physical address ---- */

int dma_set_mask(struct device *dev, u64 mask)
{
	if (dev->dma_mask)
		*dev->dma_mask = mask;
	return 0;
}

int dma_set_coherent_mask(struct device *dev, u64 mask)
{
	dev->coherent_dma_mask = mask;
	return 0;
}

void *dma_alloc_attrs(struct device *dev, size_t size, dma_addr_t *handle, gfp_t gfp,
		      unsigned long attrs)
{
	void *p = lx_kit_dma_alloc(PAGE_ALIGN(size), PAGE_SIZE);

	if (p)
		*handle = __pa(p);
	return p;
}

/* managed: freed with the device's other resources (kernel/dma/mapping.c's) */
struct dmam_res {
	size_t size;
	void *vaddr;
	dma_addr_t handle;
	unsigned long attrs;
};

static void dmam_release(struct device *dev, void *res)
{
	struct dmam_res *r = res;

	dma_free_attrs(dev, r->size, r->vaddr, r->handle, r->attrs);
}

void *dmam_alloc_attrs(struct device *dev, size_t size, dma_addr_t *handle, gfp_t gfp,
		       unsigned long attrs)
{
	struct dmam_res *r = devres_alloc(dmam_release, sizeof(*r), gfp);
	void *p;

	if (!r)
		return NULL;
	p = dma_alloc_attrs(dev, size, handle, gfp, attrs);
	if (!p) {
		devres_free(r);
		return NULL;
	}
	*r = (struct dmam_res){ size, p, *handle, attrs };
	devres_add(dev, r);
	return p;
}

void dma_free_attrs(struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle,
		    unsigned long attrs)
{
	lx_kit_dma_free(cpu_addr);
}

/*
 * ---- bounce buffers: memory outside the DMA region (a task's stack, where
 * nvme puts the timestamp it sets) is not the device's to reach; it goes
 * through a copy in DMA memory, as Linux's swiotlb does, at the same offset
 * in its page. Without this the device would be told an address outside
 * the region: garbage without an IOMMU, a fault with one. ----
 */
struct bounce {
	dma_addr_t bus;
	void *orig, *copy, *block;
	size_t size;
	enum dma_data_direction dir;
	struct bounce *next;
};
static struct bounce *bounces;
static DEFINE_SPINLOCK(bounce_lock);

static dma_addr_t map_virt(void *virt, size_t size, enum dma_data_direction dir)
{
	unsigned long off = (unsigned long)virt & (PAGE_SIZE - 1), flags;
	struct bounce *b;

	if (in_region(virt) && (!size || in_region((char *)virt + size - 1)))
		return __pa(virt);
	b = lx_alloc(sizeof(*b), GFP_ATOMIC, 0);
	if (!b)
		return DMA_MAPPING_ERROR;
	b->block = lx_kit_dma_alloc(PAGE_ALIGN(off + size), PAGE_SIZE);
	if (!b->block) {
		kfree(b);
		return DMA_MAPPING_ERROR;
	}
	b->copy = (char *)b->block + off;
	b->orig = virt;
	b->size = size;
	b->dir = dir;
	b->bus = __pa(b->copy);
	if (dir != DMA_FROM_DEVICE)
		memcpy(b->copy, virt, size);
	spin_lock_irqsave(&bounce_lock, flags);
	b->next = bounces;
	bounces = b;
	spin_unlock_irqrestore(&bounce_lock, flags);
	return b->bus;
}

/* the bounce buffer at @bus, taken off the list if @take */
static struct bounce *find_bounce(dma_addr_t bus, bool take)
{
	struct bounce **pp, *b = NULL;
	unsigned long flags;

	spin_lock_irqsave(&bounce_lock, flags);
	for (pp = &bounces; *pp; pp = &(*pp)->next) {
		if ((*pp)->bus == bus) {
			b = *pp;
			if (take)
				*pp = b->next;
			break;
		}
	}
	spin_unlock_irqrestore(&bounce_lock, flags);
	return b;
}

static void unmap_bus(dma_addr_t bus)
{
	struct bounce *b = find_bounce(bus, true);

	if (!b)
		return;
	if (b->dir != DMA_TO_DEVICE)
		memcpy(b->orig, b->copy, b->size);
	lx_kit_dma_free(b->block);
	kfree(b);
}

dma_addr_t dma_map_page_attrs(struct device *dev, struct page *page, size_t offset,
			      size_t size, enum dma_data_direction dir, unsigned long attrs)
{
	return map_virt((char *)page_address(page) + offset, size, dir);
}

void dma_unmap_page_attrs(struct device *dev, dma_addr_t addr, size_t size,
			  enum dma_data_direction dir, unsigned long attrs)
{
	unmap_bus(addr);
}

void dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
			     enum dma_data_direction dir)
{
	struct bounce *b = find_bounce(addr, false);

	if (b && b->dir != DMA_TO_DEVICE)
		memcpy(b->orig, b->copy, b->size);
}

/* Scatter lists: each entry's bus address is its page's (no IOMMU merges). */
unsigned int dma_map_sg_attrs(struct device *dev, struct scatterlist *sgl, int nents,
		     enum dma_data_direction dir, unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = map_virt(sg_virt(sg), sg->length, dir);
		if (sg->dma_address == DMA_MAPPING_ERROR) {
			dma_unmap_sg_attrs(dev, sgl, i, dir, attrs);
			return 0;
		}
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

int dma_map_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
		    unsigned long attrs)
{
	int n = dma_map_sg_attrs(dev, sgt->sgl, sgt->orig_nents, dir, attrs);

	sgt->nents = n;
	return 0;
}

void dma_unmap_sg_attrs(struct device *dev, struct scatterlist *sgl, int nents,
			enum dma_data_direction dir, unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		unmap_bus(sg->dma_address);
}

unsigned long dma_get_merge_boundary(struct device *dev)
{
	return 0;	/* no IOMMU: segments are never merged by mapping */
}

/*
 * "Non-contiguous" DMA buffers (ALSA's scatter-gather buffers, for HD
 * Audio): made contiguous in the DMA region, as one scatterlist entry;
 * every address there is already the kernel's mapping, so vmap is the
 * identity. The region is coherent: nothing ever needs syncing.
 */
struct sg_table *dma_alloc_noncontiguous(struct device *dev, size_t size,
					 enum dma_data_direction dir, gfp_t gfp,
					 unsigned long attrs)
{
	struct sg_table *sgt = kmalloc(sizeof(*sgt), GFP_KERNEL);
	dma_addr_t bus;
	void *p = sgt ? dma_alloc_attrs(dev, size, &bus, gfp, 0) : NULL;

	if (!p || sg_alloc_table(sgt, 1, GFP_KERNEL)) {
		if (p)
			dma_free_attrs(dev, size, p, bus, 0);
		kfree(sgt);
		return NULL;
	}
	sg_set_page(sgt->sgl, virt_to_page(p), size, offset_in_page(p));
	sg_dma_address(sgt->sgl) = bus;
	sg_dma_len(sgt->sgl) = size;
	sgt->nents = 1;
	return sgt;
}

void dma_free_noncontiguous(struct device *dev, size_t size, struct sg_table *sgt,
			    enum dma_data_direction dir)
{
	dma_free_attrs(dev, size, sg_virt(sgt->sgl), sg_dma_address(sgt->sgl), 0);
	sg_free_table(sgt);
	kfree(sgt);
}

void *dma_vmap_noncontiguous(struct device *dev, size_t size, struct sg_table *sgt)
{
	return sg_virt(sgt->sgl);
}

void dma_vunmap_noncontiguous(struct device *dev, void *vaddr)
{
}

bool dma_need_sync(struct device *dev, dma_addr_t dma_addr)
{
	return false;
}

/* a copy larger than its object, found at run time (check_copy_size) */
void __copy_overflow(int size, unsigned long count)
{
	WARN(1, "Buffer overflow detected (%d < %lu)!\n", size, count);
}

/* no process maps a driver's DMA buffers (ALSA then offers no mmap access) */
bool dma_can_mmap(struct device *dev)
{
	return false;
}

size_t dma_max_mapping_size(struct device *dev)
{
	return SIZE_MAX;
}

bool dma_pci_p2pdma_supported(struct device *dev)
{
	return false;
}

void dma_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size,
				enum dma_data_direction dir)
{
	struct bounce *b = find_bounce(addr, false);

	if (b && b->dir != DMA_FROM_DEVICE)
		memcpy(b->copy, b->orig, b->size);
}

/*
 * ---- per-CPU allocations: one CPU. A per-cpu pointer is an offset from
 * the GS base (what %gs: and per_cpu_ptr() add to it), as in Linux. ----
 */

void __percpu *__alloc_percpu_gfp(size_t size, size_t align, gfp_t gfp)
{
	void *p = lx_alloc(size, gfp, align);

	return p ? (void __percpu *)((unsigned long)p - __per_cpu_offset[0]) : NULL;
}

void __percpu *__alloc_percpu(size_t size, size_t align)
{
	return __alloc_percpu_gfp(size, align, GFP_KERNEL);
}

void free_percpu(void __percpu *ptr)
{
	if (ptr)
		kfree(per_cpu_ptr(ptr, 0));
}

/* ---- page fragments (skb heads): a page (or compound pages) each ---- */

void *page_frag_alloc_align(struct page_frag_cache *nc, unsigned int fragsz, gfp_t gfp,
			    unsigned int align_mask)
{
	struct page *page = alloc_pages(gfp | __GFP_COMP, get_order(fragsz));

	return page ? page_address(page) : NULL;
}

void page_frag_free(void *addr)
{
	put_page(virt_to_head_page(addr));
}

void __page_frag_cache_drain(struct page *page, unsigned int count)
{
	if (page_ref_sub_and_test(page, count))
		free_the_pages(page);
}

size_t kmalloc_size_roundup(size_t size)
{
	return size;	/* kmalloc gives exactly what is asked */
}

bool slab_is_available(void)
{
	return true;
}

bool gfp_pfmemalloc_allowed(gfp_t gfp_mask)
{
	return false;
}

/* DMA is confined by the platform's IOMMU (ddeio's), not one a driver sees */
struct iommu_domain *iommu_get_domain_for_dev(struct device *dev)
{
	return NULL;
}
