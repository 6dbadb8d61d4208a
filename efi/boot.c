/*
 * UEFI's boot services for drivers of another OS: the kernel-service
 * library of the UEFI driver host. What a DXE driver of edk2 or iPXE asks
 * of its firmware, given by a user process: the handle and protocol
 * database (install, open with the driver model's BY_DRIVER/EXCLUSIVE
 * rules, locate, notify), ConnectController/DisconnectController running
 * the driver bindings, memory pools and pages, events, timers and task
 * priority levels, Stall, CRC32, configuration tables, and a console.
 *
 * One thread runs all driver code (the firmware's one CPU). Timer events
 * are delivered where firmware would take its timer interrupt and we can:
 * when the host is idle, in Stall, CheckEvent and WaitForEvent, and when
 * RestoreTPL lowers the level; a notify function runs at its event's TPL
 * and only above the current one, as the spec orders.
 *
 * A service the host does not give stops the driver with its name
 * (efi_unimplemented), like a Linux stub: never a silent success.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ddekit/ddekit.h>
#include <efi/guids.h>

#include "host.h"

#define HANDLE_MAGIC 0x45464948414e444cull	/* "EFIHANDL" */
#define EVENT_MAGIC 0x4546494556454e54ull	/* "EFIEVENT" */

struct open {
	efi_handle agent, controller;
	uint32_t attributes, count;
	struct open *next;
};

struct iface {
	struct efi_guid guid;
	void *interface;
	struct open *opens;
	struct iface *next;
};

struct handle {
	uint64_t magic;
	unsigned id;
	struct iface *ifaces;
	struct handle *next;
};

struct event {
	uint64_t magic;
	uint32_t type;
	efi_tpl tpl;
	void *notify;			/* the driver's function, called through the engine */
	void *context;
	bool signaled, queued;		/* queued: its notify waits for the TPL to drop */
	bool armed;			/* a timer set */
	uint64_t due_ns, period_ns;
	bool in_group;
	struct efi_guid group;
	struct event *next;
};

/* a RegisterProtocolNotify registration */
struct notify {
	struct efi_guid protocol;
	struct event *event;
	struct handle *pending[64];	/* handles installed since the last LocateHandle */
	unsigned npending;
	struct notify *next;
};

static struct handle *handles;
static unsigned next_handle_id = 1;
static struct event *events;
static struct notify *notifies;
static efi_tpl current_tpl = TPL_APPLICATION;
static uint64_t monotonic;

struct efi_system_table *efi_st;
struct efi_boot_services *efi_bs;
static struct efi_runtime_services *efi_rt;

static uint64_t now_ns(void)
{
	return ddekit_clock_ns();
}

static struct handle *handle_of(efi_handle h)
{
	for (struct handle *p = handles; p; p = p->next)
		if (p == (struct handle *)h && p->magic == HANDLE_MAGIC)
			return p;
	return NULL;
}

static struct event *event_of(efi_event e)
{
	for (struct event *p = events; p; p = p->next)
		if (p == (struct event *)e && p->magic == EVENT_MAGIC)
			return p;
	return NULL;
}

static struct iface *iface_of(struct handle *h, const struct efi_guid *g)
{
	for (struct iface *i = h ? h->ifaces : NULL; i; i = i->next)
		if (efi_guid_eq(&i->guid, g))
			return i;
	return NULL;
}

/* --- task priority levels and events --- */

static void run_notify(struct event *e)
{
	efi_tpl old = current_tpl;

	e->queued = false;
	current_tpl = e->tpl;
	efi_call(e->notify, (uint64_t)(uintptr_t)e, (uint64_t)(uintptr_t)e->context);
	current_tpl = old;
}

/* run the queued notify functions above the current TPL, highest first */
static void dispatch_queued(void)
{
	for (;;) {
		struct event *best = NULL;

		for (struct event *e = events; e; e = e->next)
			if (e->queued && e->tpl > current_tpl && (!best || e->tpl > best->tpl))
				best = e;
		if (!best)
			return;
		run_notify(best);
	}
}

static void signal_one(struct event *e)
{
	if (e->signaled && !(e->type & EVT_NOTIFY_SIGNAL))
		return;
	e->signaled = true;
	if ((e->type & EVT_NOTIFY_SIGNAL) && e->notify)
		e->queued = true;
}

static EFIAPI efi_tpl raise_tpl(efi_tpl tpl)
{
	efi_tpl old = current_tpl;

	if (tpl < old)
		efi_log("RaiseTPL to %lu below the current %lu (a driver bug); kept",
			(unsigned long)tpl, (unsigned long)old);
	else
		current_tpl = tpl;
	return old;
}

static EFIAPI void restore_tpl(efi_tpl tpl)
{
	efi_tpl old = current_tpl;

	current_tpl = tpl;
	/*
	 * Lowered to the application's level: where firmware's pending timer
	 * interrupt comes in. A driver that waits for its timer tick by
	 * dropping the TPL (iPXE's currticks does RestoreTPL(APPLICATION),
	 * RaiseTPL(CALLBACK)) sees its timer events run here.
	 */
	if (tpl < old && tpl == TPL_APPLICATION)
		efi_dispatch_timers();
	else
		dispatch_queued();
}

static EFIAPI efi_status create_event_ex(uint32_t type, efi_tpl tpl, void *notify, void *context,
					 const struct efi_guid *group, efi_event *out)
{
	struct event *e;

	if (!out || ((type & (EVT_NOTIFY_SIGNAL | EVT_NOTIFY_WAIT)) &&
		     (!notify || (tpl != TPL_CALLBACK && tpl != TPL_NOTIFY &&
				  tpl != TPL_HIGH_LEVEL && tpl != TPL_APPLICATION))))
		return EFI_INVALID_PARAMETER;
	if ((type & EVT_NOTIFY_SIGNAL) && (type & EVT_NOTIFY_WAIT))
		return EFI_INVALID_PARAMETER;
	e = calloc(1, sizeof(*e));
	if (!e)
		return EFI_OUT_OF_RESOURCES;
	e->magic = EVENT_MAGIC;
	e->type = type;
	e->tpl = tpl;
	e->notify = (type & (EVT_NOTIFY_SIGNAL | EVT_NOTIFY_WAIT)) ? notify : NULL;
	e->context = context;
	/* the exit-boot-services signal is a group of its own (we never exit) */
	if (group) {
		e->in_group = true;
		e->group = *group;
	}
	e->next = events;
	events = e;
	*out = e;
	return EFI_SUCCESS;
}

static EFIAPI efi_status create_event(uint32_t type, efi_tpl tpl, void *notify, void *context,
				      efi_event *out)
{
	return create_event_ex(type, tpl, notify, context, NULL, out);
}

static EFIAPI efi_status set_timer(efi_event ev, uint32_t kind, uint64_t trigger_100ns)
{
	struct event *e = event_of(ev);

	if (!e || !(e->type & EVT_TIMER))
		return EFI_INVALID_PARAMETER;
	switch (kind) {
	case TimerCancel:
		e->armed = false;
		return EFI_SUCCESS;
	case TimerPeriodic:
	case TimerRelative:
		e->armed = true;
		e->period_ns = kind == TimerPeriodic ? trigger_100ns * 100 : 0;
		/* a period of 0 means "every tick": the firmware's tick is 10 ms */
		if (kind == TimerPeriodic && !e->period_ns)
			e->period_ns = 10000000;
		e->due_ns = now_ns() + trigger_100ns * 100;
		return EFI_SUCCESS;
	default:
		return EFI_INVALID_PARAMETER;
	}
}

static EFIAPI efi_status signal_event(efi_event ev)
{
	struct event *e = event_of(ev);

	if (!e)
		return EFI_INVALID_PARAMETER;
	if (e->in_group) {
		for (struct event *g = events; g; g = g->next)
			if (g->in_group && efi_guid_eq(&g->group, &e->group))
				signal_one(g);
	} else {
		signal_one(e);
	}
	dispatch_queued();
	return EFI_SUCCESS;
}

static EFIAPI efi_status close_event(efi_event ev)
{
	struct event *e = event_of(ev);

	if (!e)
		return EFI_INVALID_PARAMETER;
	for (struct event **p = &events; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	for (struct notify **n = &notifies; *n;) {
		if ((*n)->event == e) {
			struct notify *dead = *n;

			*n = dead->next;
			free(dead);
		} else {
			n = &(*n)->next;
		}
	}
	e->magic = 0;
	free(e);
	return EFI_SUCCESS;
}

void efi_dispatch_timers(void)
{
	uint64_t t = now_ns();

	for (struct event *e = events; e; e = e->next) {
		if (!e->armed || e->due_ns > t)
			continue;
		if (e->period_ns)
			e->due_ns = t + e->period_ns;
		else
			e->armed = false;
		signal_one(e);
	}
	dispatch_queued();
}

uint64_t efi_next_timer_ns(void)
{
	uint64_t next = UINT64_MAX, t = now_ns();

	for (struct event *e = events; e; e = e->next)
		if (e->armed && e->tpl > current_tpl)
			next = e->due_ns <= t ? 0 : (e->due_ns - t < next ? e->due_ns - t : next);
	return next;
}

static EFIAPI efi_status check_event(efi_event ev)
{
	struct event *e = event_of(ev);

	if (!e || (e->type & EVT_NOTIFY_SIGNAL))
		return EFI_INVALID_PARAMETER;
	efi_dispatch_timers();
	if (!e->signaled && (e->type & EVT_NOTIFY_WAIT) && e->notify && e->tpl > current_tpl)
		run_notify(e);
	if (e->signaled) {
		e->signaled = false;
		return EFI_SUCCESS;
	}
	/*
	 * A driver polling its device waits in CheckEvent on a timeout timer
	 * (edk2's NVMe pass-thru does, per command): give the core to the
	 * device model meanwhile, which on two cores shares it with us.
	 */
	sched_yield();
	return EFI_NOT_READY;
}

static EFIAPI efi_status wait_for_event(uint64_t n, efi_event *evs, uint64_t *index)
{
	if (!n || !evs || !index)
		return EFI_INVALID_PARAMETER;
	if (current_tpl != TPL_APPLICATION)
		return EFI_UNSUPPORTED;
	for (;;) {
		for (uint64_t i = 0; i < n; i++) {
			efi_status s = check_event(evs[i]);

			if (s != EFI_NOT_READY) {
				*index = i;
				return s;
			}
		}
		uint64_t wait = efi_next_timer_ns();

		ddekit_thread_sleep_us(wait == UINT64_MAX || wait > 1000000 ? 1000 : wait / 1000 + 1);
	}
}

/* --- memory --- */

struct pool_head {
	uint64_t magic, size;
};
#define POOL_MAGIC 0x4546495f504f4f4cull	/* "EFI_POOL" */

static EFIAPI efi_status allocate_pool(uint32_t type, uint64_t size, void **out)
{
	struct pool_head *p;

	if (!out)
		return EFI_INVALID_PARAMETER;
	/* pool memory is 8-byte aligned in UEFI; ours is 16 */
	if (size > (1ull << 32) || !(p = malloc(sizeof(*p) + size)))
		return EFI_OUT_OF_RESOURCES;
	p->magic = POOL_MAGIC;
	p->size = size;
	*out = p + 1;
	return EFI_SUCCESS;
}

void *efi_pool(size_t size)
{
	void *p;

	return allocate_pool(4, size, &p) ? NULL : p;
}

static EFIAPI efi_status free_pool(void *buf)
{
	struct pool_head *p = (struct pool_head *)buf - 1;

	if (!buf || p->magic != POOL_MAGIC)
		return EFI_INVALID_PARAMETER;
	p->magic = 0;
	free(p);
	return EFI_SUCCESS;
}

/*
 * Pages: firmware's memory is identity-mapped and any of it may be given
 * to a device, so pages come from the DMA memory at its bus address
 * (efi_dma_pages; where that view exists): a driver that hands the device
 * a pointer as its bus address works. Past the DMA region, or where the
 * view could not be made, the C heap's.
 */
static bool in_dma_pages(uint64_t addr, uint64_t pages)
{
	void *virt;
	uint64_t bus;
	size_t size;

	ddekit_dma_region(&virt, &bus, &size);
	return virt && addr >= bus && addr - bus < size && pages * 4096 <= size - (addr - bus);
}

static EFIAPI efi_status allocate_pages(uint32_t how, uint32_t type, uint64_t pages,
					uint64_t *addr)
{
	void *p;
	uint64_t bus;

	if (!addr || !pages || pages > (1u << 20))
		return EFI_INVALID_PARAMETER;
	/* an address of the driver's choosing is not ours to give */
	if (how == AllocateAddress)
		return EFI_NOT_FOUND;
	p = efi_dma_pages(pages, &bus);
	if (p && ((uint64_t)(uintptr_t)p != bus ||
		  (how == AllocateMaxAddress && bus + pages * 4096 - 1 > *addr))) {
		efi_dma_free_pages(p, pages);
		p = NULL;
	}
	if (!p) {
		if (posix_memalign(&p, 4096, pages * 4096))
			return EFI_OUT_OF_RESOURCES;
		if (how == AllocateMaxAddress && (uint64_t)(uintptr_t)p + pages * 4096 - 1 > *addr) {
			free(p);
			return EFI_OUT_OF_RESOURCES;
		}
	}
	memset(p, 0, pages * 4096);
	*addr = (uint64_t)(uintptr_t)p;
	return EFI_SUCCESS;
}

static EFIAPI efi_status free_pages(uint64_t addr, uint64_t pages)
{
	if (!addr || addr & 4095)
		return EFI_INVALID_PARAMETER;
	if (in_dma_pages(addr, pages))
		efi_dma_free_pages((void *)(uintptr_t)addr, pages);
	else
		free((void *)(uintptr_t)addr);
	return EFI_SUCCESS;
}

static EFIAPI void copy_mem(void *dst, const void *src, uint64_t n)
{
	memmove(dst, src, n);
}

static EFIAPI void set_mem(void *dst, uint64_t n, uint8_t v)
{
	memset(dst, v, n);
}

static EFIAPI efi_status calculate_crc32(const void *data, uint64_t n, uint32_t *out)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;

	if (!data || !n || !out)
		return EFI_INVALID_PARAMETER;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	*out = ~c;
	return EFI_SUCCESS;
}

/* --- the protocol database --- */

static void notify_install(struct handle *h, const struct efi_guid *g)
{
	for (struct notify *n = notifies; n; n = n->next) {
		if (!efi_guid_eq(&n->protocol, g))
			continue;
		if (n->npending < 64)
			n->pending[n->npending++] = h;
		signal_one(n->event);
	}
}

efi_status efi_install(efi_handle *hp, const struct efi_guid *g, void *interface)
{
	struct handle *h;
	struct iface *i;

	if (!hp || !g)
		return EFI_INVALID_PARAMETER;
	if (*hp) {
		h = handle_of(*hp);
		if (!h)
			return EFI_INVALID_PARAMETER;
		if (iface_of(h, g))
			return EFI_INVALID_PARAMETER;
	} else {
		h = calloc(1, sizeof(*h));
		if (!h)
			return EFI_OUT_OF_RESOURCES;
		h->magic = HANDLE_MAGIC;
		h->id = next_handle_id++;
		h->next = handles;
		handles = h;
	}
	i = calloc(1, sizeof(*i));
	if (!i)
		return EFI_OUT_OF_RESOURCES;
	i->guid = *g;
	i->interface = interface;
	/* at the end: ProtocolsPerHandle lists them in the order installed */
	struct iface **tail = &h->ifaces;

	while (*tail)
		tail = &(*tail)->next;
	*tail = i;
	*hp = h;
	notify_install(h, g);
	dispatch_queued();
	return EFI_SUCCESS;
}

void *efi_interface(efi_handle handle, const struct efi_guid *g)
{
	struct iface *i = iface_of(handle_of(handle), g);

	return i ? i->interface : NULL;
}

unsigned efi_handles_with(const struct efi_guid *g, efi_handle *out, unsigned max)
{
	unsigned n = 0;

	/* oldest first: the list is newest first */
	for (unsigned id = 1; id < next_handle_id; id++)
		for (struct handle *h = handles; h; h = h->next)
			if (h->id == id && (!g || iface_of(h, g))) {
				if (n < max)
					out[n] = h;
				n++;
			}
	return n;
}

static EFIAPI efi_status install_protocol_interface(efi_handle *hp, const struct efi_guid *g,
						   uint32_t type, void *interface)
{
	if (type != EFI_NATIVE_INTERFACE)
		return EFI_INVALID_PARAMETER;
	return efi_install(hp, g, interface);
}

static EFIAPI efi_status disconnect_controller(efi_handle controller, efi_handle driver,
					      efi_handle child);

static efi_status uninstall(struct handle *h, const struct efi_guid *g, void *interface)
{
	struct iface *i = iface_of(h, g);

	if (!i || i->interface != interface)
		return EFI_NOT_FOUND;
	/* drivers that hold it by driver let go first (the spec's order) */
	for (struct open *o = i->opens; o; o = o->next)
		if (o->attributes & (EFI_OPEN_PROTOCOL_BY_DRIVER | EFI_OPEN_PROTOCOL_EXCLUSIVE)) {
			disconnect_controller(h, o->agent, NULL);
			i = iface_of(h, g);
			if (!i)
				return EFI_NOT_FOUND;
			o = i->opens;
			if (!o)
				break;
		}
	for (struct open *o = i->opens; o; o = o->next)
		if (o->attributes & (EFI_OPEN_PROTOCOL_BY_DRIVER | EFI_OPEN_PROTOCOL_EXCLUSIVE))
			return EFI_ACCESS_DENIED;
	for (struct iface **p = &h->ifaces; *p; p = &(*p)->next)
		if (*p == i) {
			*p = i->next;
			break;
		}
	while (i->opens) {
		struct open *o = i->opens;

		i->opens = o->next;
		free(o);
	}
	free(i);
	if (!h->ifaces) {
		for (struct handle **p = &handles; *p; p = &(*p)->next)
			if (*p == h) {
				*p = h->next;
				break;
			}
		for (struct notify *n = notifies; n; n = n->next)
			for (unsigned k = 0; k < n->npending; k++)
				if (n->pending[k] == h)
					n->pending[k] = n->pending[--n->npending];
		h->magic = 0;
		free(h);
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status uninstall_protocol_interface(efi_handle handle, const struct efi_guid *g,
						     void *interface)
{
	struct handle *h = handle_of(handle);

	if (!h || !g)
		return EFI_INVALID_PARAMETER;
	return uninstall(h, g, interface);
}

static EFIAPI efi_status reinstall_protocol_interface(efi_handle handle, const struct efi_guid *g,
						     void *old, void *new)
{
	struct handle *h = handle_of(handle);
	struct iface *i = iface_of(h, g);

	if (!h || !g)
		return EFI_INVALID_PARAMETER;
	if (!i || i->interface != old)
		return EFI_NOT_FOUND;
	i->interface = new;
	notify_install(h, g);
	dispatch_queued();
	return EFI_SUCCESS;
}

/* a device path's size up to and including its end node, or 0 if it runs wild */
static size_t path_size(const struct efi_device_path_protocol *p)
{
	size_t n = 0;

	for (unsigned nodes = 0; nodes < 256; nodes++) {
		const uint8_t *b = (const uint8_t *)p + n;
		unsigned len = b[2] | b[3] << 8;

		if (len < 4)
			return 0;
		n += len;
		if (b[0] == 0x7f && b[1] == 0xff)
			return n;
	}
	return 0;
}

/* install the protocol/interface pairs of a variadic list (ends with NULL) */
static EFIAPI efi_status install_multiple(efi_handle *hp, ...)
{
	__builtin_ms_va_list ap;
	const struct efi_guid *g;
	efi_handle before;
	efi_status s = EFI_SUCCESS;
	const struct efi_guid *done[32];
	void *ifs[32];
	unsigned n = 0;

	if (!hp)
		return EFI_INVALID_PARAMETER;
	before = *hp;
	__builtin_ms_va_start(ap, hp);
	while ((g = __builtin_va_arg(ap, const struct efi_guid *))) {
		void *interface = __builtin_va_arg(ap, void *);

		/* a device path already on another handle: that device exists */
		if (efi_guid_eq(g, &EFI_GUID_DEVICE_PATH) && interface) {
			size_t len = path_size(interface);

			for (struct handle *h = handles; h && len; h = h->next) {
				void *other = efi_interface(h, g);

				if (other && path_size(other) == len && !memcmp(other, interface, len)) {
					s = EFI_ALREADY_STARTED;
					break;
				}
			}
			if (s)
				break;
		}
		if (n == 32) {
			s = EFI_OUT_OF_RESOURCES;
			break;
		}
		s = efi_install(hp, g, interface);
		if (s)
			break;
		done[n] = g;
		ifs[n++] = interface;
	}
	__builtin_ms_va_end(ap);
	if (s) {	/* all or nothing */
		while (n--)
			uninstall(handle_of(*hp), done[n], ifs[n]);
		*hp = before;
	}
	return s;
}

static EFIAPI efi_status uninstall_multiple(efi_handle handle, ...)
{
	__builtin_ms_va_list ap;
	const struct efi_guid *g;
	struct handle *h = handle_of(handle);
	efi_status s = EFI_SUCCESS;
	const struct efi_guid *done[32];
	void *ifs[32];
	unsigned n = 0;

	if (!h)
		return EFI_INVALID_PARAMETER;
	__builtin_ms_va_start(ap, handle);
	while ((g = __builtin_va_arg(ap, const struct efi_guid *))) {
		void *interface = __builtin_va_arg(ap, void *);

		s = n < 32 ? uninstall(h, g, interface) : EFI_OUT_OF_RESOURCES;
		if (s)
			break;
		done[n] = g;
		ifs[n++] = interface;
		/* the handle goes with its last protocol */
		h = handle_of(handle);
		if (!h)
			break;
	}
	__builtin_ms_va_end(ap);
	if (s) {	/* put back what went (on the same handle, if it still exists) */
		efi_handle back = handle_of(handle) ? handle : NULL;

		while (n--)
			efi_install(&back, done[n], ifs[n]);
		return EFI_INVALID_PARAMETER;
	}
	return EFI_SUCCESS;
}

static EFIAPI efi_status handle_protocol(efi_handle handle, const struct efi_guid *g, void **out)
{
	struct iface *i;

	if (!g || !out)
		return EFI_INVALID_PARAMETER;
	i = iface_of(handle_of(handle), g);
	if (!i) {
		*out = NULL;
		return EFI_UNSUPPORTED;
	}
	*out = i->interface;
	return EFI_SUCCESS;
}

static EFIAPI efi_status open_protocol(efi_handle handle, const struct efi_guid *g, void **out,
				      efi_handle agent, efi_handle controller, uint32_t attrs)
{
	struct handle *h = handle_of(handle);
	struct iface *i;
	struct open *o;

	if (!h || !g || (!out && attrs != EFI_OPEN_PROTOCOL_TEST_PROTOCOL))
		return EFI_INVALID_PARAMETER;
	switch (attrs) {
	case EFI_OPEN_PROTOCOL_BY_HANDLE_PROTOCOL:
	case EFI_OPEN_PROTOCOL_GET_PROTOCOL:
	case EFI_OPEN_PROTOCOL_TEST_PROTOCOL:
		break;
	case EFI_OPEN_PROTOCOL_BY_CHILD_CONTROLLER:
		if (!handle_of(agent) || !handle_of(controller) || controller == handle)
			return EFI_INVALID_PARAMETER;
		break;
	case EFI_OPEN_PROTOCOL_BY_DRIVER:
	case EFI_OPEN_PROTOCOL_BY_DRIVER | EFI_OPEN_PROTOCOL_EXCLUSIVE:
		if (!handle_of(agent) || !handle_of(controller))
			return EFI_INVALID_PARAMETER;
		break;
	case EFI_OPEN_PROTOCOL_EXCLUSIVE:
		if (!handle_of(agent))
			return EFI_INVALID_PARAMETER;
		break;
	default:
		return EFI_INVALID_PARAMETER;
	}
	i = iface_of(h, g);
	if (!i) {
		if (out && attrs != EFI_OPEN_PROTOCOL_TEST_PROTOCOL)
			*out = NULL;
		return EFI_UNSUPPORTED;
	}
	if (attrs == EFI_OPEN_PROTOCOL_TEST_PROTOCOL)
		return EFI_SUCCESS;
	if (attrs & (EFI_OPEN_PROTOCOL_BY_DRIVER | EFI_OPEN_PROTOCOL_EXCLUSIVE)) {
		for (o = i->opens; o; o = o->next) {
			bool mine = o->agent == agent;

			if (o->attributes & EFI_OPEN_PROTOCOL_EXCLUSIVE) {
				*out = mine ? i->interface : NULL;
				return mine ? EFI_ALREADY_STARTED : EFI_ACCESS_DENIED;
			}
			if (o->attributes & EFI_OPEN_PROTOCOL_BY_DRIVER) {
				if (mine) {
					*out = i->interface;
					return EFI_ALREADY_STARTED;
				}
				if (!(attrs & EFI_OPEN_PROTOCOL_EXCLUSIVE)) {
					*out = NULL;
					return EFI_ACCESS_DENIED;
				}
			}
		}
		if (attrs & EFI_OPEN_PROTOCOL_EXCLUSIVE) {
			/* exclusive: the drivers that hold it by driver are stopped */
			for (o = i->opens; o; o = o->next)
				if (o->attributes & EFI_OPEN_PROTOCOL_BY_DRIVER) {
					disconnect_controller(handle, o->agent, NULL);
					i = iface_of(h, g);
					if (!i)
						return EFI_UNSUPPORTED;
					o = i->opens;
					if (!o)
						break;
				}
			for (o = i->opens; o; o = o->next)
				if (o->attributes & EFI_OPEN_PROTOCOL_BY_DRIVER) {
					*out = NULL;
					return EFI_ACCESS_DENIED;
				}
		}
	}
	for (o = i->opens; o; o = o->next)
		if (o->agent == agent && o->controller == controller && o->attributes == attrs) {
			o->count++;
			break;
		}
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return EFI_OUT_OF_RESOURCES;
		o->agent = agent;
		o->controller = controller;
		o->attributes = attrs;
		o->count = 1;
		o->next = i->opens;
		i->opens = o;
	}
	*out = i->interface;
	return EFI_SUCCESS;
}

static EFIAPI efi_status close_protocol(efi_handle handle, const struct efi_guid *g,
				       efi_handle agent, efi_handle controller)
{
	struct handle *h = handle_of(handle);
	struct iface *i = iface_of(h, g);
	bool found = false;

	if (!h || !g || !handle_of(agent) || (controller && !handle_of(controller)))
		return EFI_INVALID_PARAMETER;
	if (!i)
		return EFI_NOT_FOUND;
	for (struct open **p = &i->opens; *p;) {
		struct open *o = *p;

		if (o->agent == agent && o->controller == controller) {
			*p = o->next;
			free(o);
			found = true;
		} else {
			p = &o->next;
		}
	}
	return found ? EFI_SUCCESS : EFI_NOT_FOUND;
}

static EFIAPI efi_status open_protocol_information(efi_handle handle, const struct efi_guid *g,
						  struct efi_open_protocol_information_entry **out,
						  uint64_t *count)
{
	struct iface *i = iface_of(handle_of(handle), g);
	unsigned n = 0;
	struct efi_open_protocol_information_entry *v;

	if (!i)
		return EFI_NOT_FOUND;
	for (struct open *o = i->opens; o; o = o->next)
		n++;
	if (allocate_pool(4, (n ? n : 1) * sizeof(*v), (void **)&v))
		return EFI_OUT_OF_RESOURCES;
	n = 0;
	for (struct open *o = i->opens; o; o = o->next, n++) {
		v[n].agent_handle = o->agent;
		v[n].controller_handle = o->controller;
		v[n].attributes = o->attributes;
		v[n].open_count = o->count;
	}
	*out = v;
	*count = n;
	return EFI_SUCCESS;
}

static EFIAPI efi_status protocols_per_handle(efi_handle handle, struct efi_guid ***out,
					     uint64_t *count)
{
	struct handle *h = handle_of(handle);
	struct efi_guid **v;
	unsigned n = 0;

	if (!h || !out || !count)
		return EFI_INVALID_PARAMETER;
	for (struct iface *i = h->ifaces; i; i = i->next)
		n++;
	if (allocate_pool(4, (n ? n : 1) * sizeof(*v), (void **)&v))
		return EFI_OUT_OF_RESOURCES;
	n = 0;
	for (struct iface *i = h->ifaces; i; i = i->next)
		v[n++] = &i->guid;
	*out = v;
	*count = n;
	return EFI_SUCCESS;
}

static EFIAPI efi_status register_protocol_notify(const struct efi_guid *g, efi_event ev,
						 void **registration)
{
	struct event *e = event_of(ev);
	struct notify *n;

	if (!g || !e || !registration)
		return EFI_INVALID_PARAMETER;
	n = calloc(1, sizeof(*n));
	if (!n)
		return EFI_OUT_OF_RESOURCES;
	n->protocol = *g;
	n->event = e;
	n->next = notifies;
	notifies = n;
	*registration = n;
	return EFI_SUCCESS;
}

static struct notify *notify_of(void *reg)
{
	for (struct notify *n = notifies; n; n = n->next)
		if (n == reg)
			return n;
	return NULL;
}

/* the handles of a search: into OUT (up to MAX), their count */
static efi_status search(uint32_t type, const struct efi_guid *g, void *key, efi_handle *out,
			 unsigned max, unsigned *count)
{
	struct notify *n;

	switch (type) {
	case AllHandles:
		*count = efi_handles_with(NULL, out, max);
		break;
	case ByProtocol:
		if (!g)
			return EFI_INVALID_PARAMETER;
		*count = efi_handles_with(g, out, max);
		break;
	case ByRegisterNotify:
		/* one new handle per call, as the spec has it */
		n = notify_of(key);
		if (!n)
			return EFI_INVALID_PARAMETER;
		*count = n->npending ? 1 : 0;
		if (n->npending && max) {
			out[0] = n->pending[0];
			memmove(n->pending, n->pending + 1, --n->npending * sizeof(n->pending[0]));
		}
		break;
	default:
		return EFI_INVALID_PARAMETER;
	}
	return *count ? EFI_SUCCESS : EFI_NOT_FOUND;
}

static EFIAPI efi_status locate_handle(uint32_t type, const struct efi_guid *g, void *key,
				      uint64_t *size, efi_handle *buffer)
{
	efi_handle tmp[256];
	unsigned n;
	efi_status s;

	if (!size || (*size && !buffer))
		return EFI_INVALID_PARAMETER;
	s = search(type, g, key, tmp, 256, &n);
	if (s)
		return s;
	if (n > 256)
		return EFI_OUT_OF_RESOURCES;
	if (*size < n * sizeof(efi_handle)) {
		*size = n * sizeof(efi_handle);
		return EFI_BUFFER_TOO_SMALL;
	}
	memcpy(buffer, tmp, n * sizeof(efi_handle));
	*size = n * sizeof(efi_handle);
	return EFI_SUCCESS;
}

static EFIAPI efi_status locate_handle_buffer(uint32_t type, const struct efi_guid *g, void *key,
					     uint64_t *count, efi_handle **buffer)
{
	efi_handle tmp[256];
	unsigned n;
	efi_status s;

	if (!count || !buffer)
		return EFI_INVALID_PARAMETER;
	*count = 0;
	*buffer = NULL;
	s = search(type, g, key, tmp, 256, &n);
	if (s)
		return s;
	if (n > 256)
		return EFI_OUT_OF_RESOURCES;
	if (allocate_pool(4, n * sizeof(efi_handle), (void **)buffer))
		return EFI_OUT_OF_RESOURCES;
	memcpy(*buffer, tmp, n * sizeof(efi_handle));
	*count = n;
	return EFI_SUCCESS;
}

static EFIAPI efi_status locate_protocol(const struct efi_guid *g, void *registration,
					void **out)
{
	efi_handle h;
	unsigned n;

	if (!g || !out)
		return EFI_INVALID_PARAMETER;
	*out = NULL;
	if (registration) {
		if (search(ByRegisterNotify, g, registration, &h, 1, &n))
			return EFI_NOT_FOUND;
	} else if (!efi_handles_with(g, &h, 1)) {
		return EFI_NOT_FOUND;
	}
	*out = efi_interface(h, g);
	return EFI_SUCCESS;
}

static EFIAPI efi_status locate_device_path(const struct efi_guid *g,
					   struct efi_device_path_protocol **path,
					   efi_handle *device)
{
	size_t want, best_len = 0;
	struct handle *best = NULL;

	if (!g || !path || !*path)
		return EFI_INVALID_PARAMETER;
	want = path_size(*path);
	if (!want)
		return EFI_INVALID_PARAMETER;
	for (struct handle *h = handles; h; h = h->next) {
		const struct efi_device_path_protocol *p;
		size_t len;

		if (!iface_of(h, g) || !(p = efi_interface(h, &EFI_GUID_DEVICE_PATH)))
			continue;
		len = path_size(p);
		if (len < 4)
			continue;
		len -= 4;	/* without its end node: a prefix of the one asked about */
		if (len <= want - 4 && !memcmp(p, *path, len) && (!best || len > best_len)) {
			best = h;
			best_len = len;
		}
	}
	if (!best)
		return EFI_NOT_FOUND;
	if (!device)
		return EFI_INVALID_PARAMETER;
	*device = best;
	*path = (struct efi_device_path_protocol *)((uint8_t *)*path + best_len);
	return EFI_SUCCESS;
}

/* --- the driver model: connecting drivers to controllers --- */

/* the children DRIVER made of CONTROLLER (opened BY_CHILD_CONTROLLER by it) */
static unsigned children_of(struct handle *c, efi_handle agent, efi_handle *out, unsigned max)
{
	unsigned n = 0;

	for (struct iface *i = c->ifaces; i; i = i->next)
		for (struct open *o = i->opens; o; o = o->next) {
			bool seen = false;

			if (!(o->attributes & EFI_OPEN_PROTOCOL_BY_CHILD_CONTROLLER) ||
			    (agent && o->agent != agent) || !handle_of(o->controller))
				continue;
			for (unsigned k = 0; k < n && k < max; k++)
				seen |= out[k] == o->controller;
			if (!seen && n < max)
				out[n++] = o->controller;
		}
	return n;
}

static EFIAPI efi_status connect_controller(efi_handle controller, efi_handle *drivers,
					   struct efi_device_path_protocol *remaining,
					   uint8_t recursive)
{
	struct handle *c = handle_of(controller);
	efi_handle bindings[64];
	bool started_any = false, again;
	unsigned n;

	if (!c)
		return EFI_INVALID_PARAMETER;
	n = efi_handles_with(&EFI_GUID_DRIVER_BINDING, bindings, 64);
	if (n > 64)
		n = 64;
	/* the highest version first (the spec's driver binding order) */
	for (unsigned a = 0; a < n; a++)
		for (unsigned b = a + 1; b < n; b++) {
			struct efi_driver_binding_protocol *x = efi_interface(bindings[a],
								&EFI_GUID_DRIVER_BINDING);
			struct efi_driver_binding_protocol *y = efi_interface(bindings[b],
								&EFI_GUID_DRIVER_BINDING);

			if (y->version > x->version) {
				efi_handle t = bindings[a];

				bindings[a] = bindings[b];
				bindings[b] = t;
			}
		}
	/*
	 * As the DXE core does: the first binding, by version, whose Supported
	 * takes the controller is started and leaves the list; then the list
	 * is tried again from its start, until none takes it. Each driver is
	 * tried at most once per call.
	 */
	bool tried[64] = { false };

	do {
		again = false;
		for (unsigned k = 0; k < n && !again; k++) {
			struct efi_driver_binding_protocol *db =
				efi_interface(bindings[k], &EFI_GUID_DRIVER_BINDING);
			efi_status s;
			char where[96];

			if (tried[k] || !db || !handle_of(controller))
				continue;
			if (drivers) {
				bool listed = false;

				for (efi_handle *d = drivers; *d; d++)
					listed |= *d == db->image_handle || *d == bindings[k];
				if (!listed)
					continue;
			}
			s = efi_call(db->supported, (uint64_t)(uintptr_t)db,
				     (uint64_t)(uintptr_t)controller, (uint64_t)(uintptr_t)remaining);
			if (s != EFI_SUCCESS)
				continue;
			tried[k] = again = true;
			s = efi_call(db->start, (uint64_t)(uintptr_t)db,
				     (uint64_t)(uintptr_t)controller, (uint64_t)(uintptr_t)remaining);
			efi_describe((uint64_t)(uintptr_t)db->start, where, sizeof(where));
			if (s == EFI_SUCCESS) {
				efi_log("%s started on handle %u", where, c->id);
				started_any = true;
			} else if (s != EFI_ALREADY_STARTED) {
				efi_log("%s failed on handle %u: %s", where, c->id, efi_status_name(s));
			}
		}
	} while (again && handle_of(controller));
	if (recursive && handle_of(controller)) {
		efi_handle kids[64];
		unsigned nk = children_of(c, NULL, kids, 64);

		for (unsigned k = 0; k < nk; k++)
			connect_controller(kids[k], NULL, NULL, 1);
	}
	return started_any ? EFI_SUCCESS : EFI_NOT_FOUND;
}

static EFIAPI efi_status disconnect_controller(efi_handle controller, efi_handle driver,
					      efi_handle child)
{
	struct handle *c = handle_of(controller);
	efi_handle agents[32];
	unsigned na = 0;
	efi_status result = EFI_SUCCESS;

	if (!c || (driver && !handle_of(driver)) || (child && !handle_of(child)))
		return EFI_INVALID_PARAMETER;
	/* the drivers managing it: those that opened one of its protocols by driver */
	for (struct iface *i = c->ifaces; i; i = i->next)
		for (struct open *o = i->opens; o; o = o->next) {
			bool seen = false;

			if (!(o->attributes & EFI_OPEN_PROTOCOL_BY_DRIVER) ||
			    (driver && o->agent != driver))
				continue;
			for (unsigned k = 0; k < na; k++)
				seen |= agents[k] == o->agent;
			if (!seen && na < 32)
				agents[na++] = o->agent;
		}
	for (unsigned a = 0; a < na; a++) {
		struct efi_driver_binding_protocol *db = efi_interface(agents[a],
							  &EFI_GUID_DRIVER_BINDING);
		efi_handle kids[64];
		unsigned nk;
		efi_status s = EFI_SUCCESS;

		if (!db || !handle_of(controller))
			continue;
		nk = children_of(c, agents[a], kids, 64);
		if (child) {
			nk = 0;
			kids[nk++] = child;
		}
		if (nk)
			s = efi_call(db->stop, (uint64_t)(uintptr_t)db,
				     (uint64_t)(uintptr_t)controller, nk, (uint64_t)(uintptr_t)kids);
		if (!s && !child && handle_of(controller))
			s = efi_call(db->stop, (uint64_t)(uintptr_t)db,
				     (uint64_t)(uintptr_t)controller, 0, 0);
		if (s)
			result = s;
	}
	return result;
}

efi_status efi_connect_all(efi_handle controller)
{
	return connect_controller(controller, NULL, NULL, 1);
}

efi_status efi_disconnect_all(efi_handle controller)
{
	return disconnect_controller(controller, NULL, NULL);
}

/* --- the rest of the boot services --- */

static EFIAPI efi_status stall(uint64_t us)
{
	uint64_t until = now_ns() + us * 1000;

	/* a firmware's timer interrupt would come in a long stall: so do ours */
	for (;;) {
		uint64_t t = now_ns();

		efi_dispatch_timers();
		if (t >= until)
			return EFI_SUCCESS;
		ddekit_thread_sleep_us((until - t) / 1000 > 10000 ? 10000 : (until - t + 999) / 1000);
	}
}

static EFIAPI efi_status get_next_monotonic_count(uint64_t *out)
{
	if (!out)
		return EFI_INVALID_PARAMETER;
	*out = ++monotonic;
	return EFI_SUCCESS;
}

static EFIAPI efi_status set_watchdog_timer(uint64_t timeout, uint64_t code, uint64_t size,
					   void *data)
{
	return EFI_SUCCESS;	/* the host's own supervision watches drivers */
}

static EFIAPI efi_status install_configuration_table(const struct efi_guid *g, void *table)
{
	struct efi_configuration_table *t = efi_st->configuration_table;
	uint64_t n = efi_st->number_of_table_entries;

	if (!g)
		return EFI_INVALID_PARAMETER;
	for (uint64_t k = 0; k < n; k++)
		if (efi_guid_eq(&t[k].vendor_guid, g)) {
			if (table) {
				t[k].vendor_table = table;
			} else {
				memmove(&t[k], &t[k + 1], (n - k - 1) * sizeof(*t));
				efi_st->number_of_table_entries--;
			}
			return EFI_SUCCESS;
		}
	if (!table)
		return EFI_NOT_FOUND;
	t = realloc(t, (n + 1) * sizeof(*t));
	if (!t)
		return EFI_OUT_OF_RESOURCES;
	t[n].vendor_guid = *g;
	t[n].vendor_table = table;
	efi_st->configuration_table = t;
	efi_st->number_of_table_entries = n + 1;
	return EFI_SUCCESS;
}

/* --- services the host does not give: each stops the driver by name --- */

#define UNIMPLEMENTED(fn, service)                  \
	static EFIAPI efi_status fn(void)           \
	{                                           \
		efi_unimplemented(service);         \
	}
UNIMPLEMENTED(no_get_memory_map, "BootServices->GetMemoryMap")
UNIMPLEMENTED(no_load_image, "BootServices->LoadImage")
UNIMPLEMENTED(no_start_image, "BootServices->StartImage")
UNIMPLEMENTED(no_exit, "BootServices->Exit")
UNIMPLEMENTED(no_unload_image, "BootServices->UnloadImage")
UNIMPLEMENTED(no_exit_boot_services, "BootServices->ExitBootServices")
UNIMPLEMENTED(no_set_time, "RuntimeServices->SetTime")
UNIMPLEMENTED(no_get_wakeup_time, "RuntimeServices->GetWakeupTime")
UNIMPLEMENTED(no_set_wakeup_time, "RuntimeServices->SetWakeupTime")
UNIMPLEMENTED(no_set_virtual_address_map, "RuntimeServices->SetVirtualAddressMap")
UNIMPLEMENTED(no_convert_pointer, "RuntimeServices->ConvertPointer")
UNIMPLEMENTED(no_get_next_high_monotonic_count, "RuntimeServices->GetNextHighMonotonicCount")
UNIMPLEMENTED(no_reset_system, "RuntimeServices->ResetSystem")
UNIMPLEMENTED(no_update_capsule, "RuntimeServices->UpdateCapsule")
UNIMPLEMENTED(no_query_capsule_capabilities, "RuntimeServices->QueryCapsuleCapabilities")
UNIMPLEMENTED(no_query_variable_info, "RuntimeServices->QueryVariableInfo")
UNIMPLEMENTED(no_text_reset, "ConOut->Reset")
UNIMPLEMENTED(no_text_query_mode, "ConOut->QueryMode")
UNIMPLEMENTED(no_text_set_mode, "ConOut->SetMode")

/* --- runtime services: time, and a variable store that is empty --- */

static EFIAPI efi_status get_time(struct efi_time *t, void *caps)
{
	struct timespec ts;
	struct tm tm;

	if (!t)
		return EFI_INVALID_PARAMETER;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (uint16_t)(tm.tm_year + 1900);
	t->month = (uint8_t)(tm.tm_mon + 1);
	t->day = (uint8_t)tm.tm_mday;
	t->hour = (uint8_t)tm.tm_hour;
	t->minute = (uint8_t)tm.tm_min;
	t->second = (uint8_t)tm.tm_sec;
	t->nanosecond = (uint32_t)ts.tv_nsec;
	t->time_zone = 2047;	/* unspecified */
	return EFI_SUCCESS;
}

/* no non-volatile store: every variable is absent, and stays so */
static EFIAPI efi_status get_variable(const uint16_t *name, const struct efi_guid *g,
				     uint32_t *attrs, uint64_t *size, void *data)
{
	return name && g && size ? EFI_NOT_FOUND : EFI_INVALID_PARAMETER;
}

static EFIAPI efi_status get_next_variable_name(uint64_t *size, uint16_t *name,
					       struct efi_guid *g)
{
	return EFI_NOT_FOUND;
}

static EFIAPI efi_status set_variable(const uint16_t *name, const struct efi_guid *g,
				     uint32_t attrs, uint64_t size, const void *data)
{
	return EFI_WRITE_PROTECTED;
}

/* --- the console: a driver's text goes to the host's log --- */

static EFIAPI efi_status output_string(void *this, const uint16_t *s)
{
	char line[256];
	unsigned n = 0;

	for (; s && *s && n < sizeof(line) - 1; s++)
		if (*s != '\r' && *s != '\n')
			line[n++] = *s < 0x80 ? (char)*s : '?';
	line[n] = 0;
	if (n)
		efi_log("console: %s", line);
	return EFI_SUCCESS;
}

static EFIAPI efi_status text_ok(void *this, ...)
{
	return EFI_SUCCESS;
}

static EFIAPI efi_status test_string(void *this, const uint16_t *s)
{
	return EFI_SUCCESS;
}

#define SET(tab, member, fn, nargs) ((tab)->member = (__typeof__((tab)->member))efi_export((void *)(fn), #fn, nargs))

int efi_boot_init(void)
{
	static struct efi_system_table st;
	static struct efi_boot_services bs;
	static struct efi_runtime_services rt;
	static struct efi_simple_text_output_protocol con;
	static struct efi_simple_text_output_mode con_mode = { .max_mode = 1 };
	static uint16_t vendor[] = { 'd', 'd', 'e', 0 };

	bs.hdr.signature = EFI_BOOT_SERVICES_SIGNATURE;
	bs.hdr.revision = EFI_SPECIFICATION_REVISION;
	bs.hdr.header_size = sizeof(bs);
	SET(&bs, raise_tpl, raise_tpl, 1);
	SET(&bs, restore_tpl, restore_tpl, 1);
	SET(&bs, allocate_pages, allocate_pages, 4);
	SET(&bs, free_pages, free_pages, 2);
	SET(&bs, get_memory_map, no_get_memory_map, 5);
	SET(&bs, allocate_pool, allocate_pool, 3);
	SET(&bs, free_pool, free_pool, 1);
	SET(&bs, create_event, create_event, 5);
	SET(&bs, set_timer, set_timer, 3);
	SET(&bs, wait_for_event, wait_for_event, 3);
	SET(&bs, signal_event, signal_event, 1);
	SET(&bs, close_event, close_event, 1);
	SET(&bs, check_event, check_event, 1);
	SET(&bs, install_protocol_interface, install_protocol_interface, 4);
	SET(&bs, reinstall_protocol_interface, reinstall_protocol_interface, 4);
	SET(&bs, uninstall_protocol_interface, uninstall_protocol_interface, 3);
	SET(&bs, handle_protocol, handle_protocol, 3);
	SET(&bs, register_protocol_notify, register_protocol_notify, 3);
	SET(&bs, locate_handle, locate_handle, 5);
	SET(&bs, locate_device_path, locate_device_path, 3);
	SET(&bs, install_configuration_table, install_configuration_table, 2);
	SET(&bs, load_image, no_load_image, 6);
	SET(&bs, start_image, no_start_image, 3);
	SET(&bs, exit, no_exit, 4);
	SET(&bs, unload_image, no_unload_image, 1);
	SET(&bs, exit_boot_services, no_exit_boot_services, 2);
	SET(&bs, get_next_monotonic_count, get_next_monotonic_count, 1);
	SET(&bs, stall, stall, 1);
	SET(&bs, set_watchdog_timer, set_watchdog_timer, 4);
	SET(&bs, connect_controller, connect_controller, 4);
	SET(&bs, disconnect_controller, disconnect_controller, 3);
	SET(&bs, open_protocol, open_protocol, 6);
	SET(&bs, close_protocol, close_protocol, 4);
	SET(&bs, open_protocol_information, open_protocol_information, 4);
	SET(&bs, protocols_per_handle, protocols_per_handle, 3);
	SET(&bs, locate_handle_buffer, locate_handle_buffer, 5);
	SET(&bs, locate_protocol, locate_protocol, 3);
	SET(&bs, install_multiple_protocol_interfaces, install_multiple, -1);
	SET(&bs, uninstall_multiple_protocol_interfaces, uninstall_multiple, -1);
	SET(&bs, calculate_crc32, calculate_crc32, 3);
	SET(&bs, copy_mem, copy_mem, 3);
	SET(&bs, set_mem, set_mem, 3);
	SET(&bs, create_event_ex, create_event_ex, 6);

	rt.hdr.signature = EFI_RUNTIME_SERVICES_SIGNATURE;
	rt.hdr.revision = EFI_SPECIFICATION_REVISION;
	rt.hdr.header_size = sizeof(rt);
	SET(&rt, get_time, get_time, 2);
	SET(&rt, set_time, no_set_time, 1);
	SET(&rt, get_wakeup_time, no_get_wakeup_time, 3);
	SET(&rt, set_wakeup_time, no_set_wakeup_time, 2);
	SET(&rt, set_virtual_address_map, no_set_virtual_address_map, 4);
	SET(&rt, convert_pointer, no_convert_pointer, 2);
	SET(&rt, get_variable, get_variable, 5);
	SET(&rt, get_next_variable_name, get_next_variable_name, 3);
	SET(&rt, set_variable, set_variable, 5);
	SET(&rt, get_next_high_monotonic_count, no_get_next_high_monotonic_count, 1);
	SET(&rt, reset_system, no_reset_system, 4);
	SET(&rt, update_capsule, no_update_capsule, 3);
	SET(&rt, query_capsule_capabilities, no_query_capsule_capabilities, 4);
	SET(&rt, query_variable_info, no_query_variable_info, 4);

	SET(&con, reset, no_text_reset, 2);
	SET(&con, output_string, output_string, 2);
	SET(&con, test_string, test_string, 2);
	SET(&con, query_mode, no_text_query_mode, 4);
	SET(&con, set_mode, no_text_set_mode, 2);
	SET(&con, set_attribute, text_ok, 2);
	SET(&con, clear_screen, text_ok, 1);
	SET(&con, set_cursor_position, text_ok, 3);
	SET(&con, enable_cursor, text_ok, 2);
	con.mode = &con_mode;

	st.hdr.signature = EFI_SYSTEM_TABLE_SIGNATURE;
	st.hdr.revision = EFI_SPECIFICATION_REVISION;
	st.hdr.header_size = sizeof(st);
	st.firmware_vendor = vendor;
	st.firmware_revision = 1;
	st.con_out = &con;
	st.std_err = &con;
	st.runtime_services = &rt;
	st.boot_services = &bs;
	calculate_crc32(&bs, sizeof(bs), &bs.hdr.crc32);
	calculate_crc32(&rt, sizeof(rt), &rt.hdr.crc32);
	calculate_crc32(&st, sizeof(st), &st.hdr.crc32);
	efi_st = &st;
	efi_bs = &bs;
	efi_rt = &rt;
	/* the protocols of the DXE core that edk2's drivers' libraries locate at start */
	return efi_devpath_init();
}
