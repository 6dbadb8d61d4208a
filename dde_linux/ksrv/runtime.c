/*
 * Kernel services only binary modules use: Debian's modules are built
 * with the stack protector (the source path is not).
 */
#include <linux/bio.h>
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/random.h>
#include <linux/sched/clock.h>
#include <linux/timekeeping.h>
#include <linux/ratelimit.h>
#include <linux/bsg.h>
#include <linux/kmod.h>
#include <linux/netlink.h>
#include <linux/platform_device.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/export.h>
#include <linux/once.h>
#include <linux/pci.h>

__visible noinstr void __stack_chk_fail(void);
__visible noinstr void __stack_chk_fail(void)
{
	panic("stack protector: a module's stack frame was overwritten");
}

/* the paths a driver process never takes (absent.c): reaching one stops it */
void lx_ksrv_unreachable(const char *name) __attribute__((noreturn));
void lx_ksrv_unreachable(const char *name)
{
	panic("%s: a kernel path no driver process takes (tracing, user space, io_uring, "
	      "zones or SR-IOV) was reached", name);
}

/* no control groups: a bio belongs to none */
void bio_associate_blkg(struct bio *bio)
{
}

/*
 * DO_ONCE: the first caller runs the function, the others skip it. The
 * module's static key keeps its branch (jump labels are not patched), so
 * every later call also asks here, and learns it is done.
 */
static DEFINE_SPINLOCK(once_lock);

bool __do_once_start(bool *done, unsigned long *flags)
{
	spin_lock_irqsave(&once_lock, *flags);
	if (*done) {
		spin_unlock_irqrestore(&once_lock, *flags);
		return false;
	}
	return true;	/* held until __do_once_done */
}

void __do_once_done(bool *done, struct static_key_true *once_key, unsigned long *flags,
		    struct module *mod)
{
	*done = true;
	spin_unlock_irqrestore(&once_lock, *flags);
}

/* PCI addresses are bus addresses here (no host bridge translation) */
void pcibios_resource_to_bus(struct pci_bus *bus, struct pci_bus_region *region,
			     struct resource *res)
{
	region->start = res->start;
	region->end = res->end;
}

unsigned long memremap_compat_align(void)
{
	return PAGE_SIZE;
}

/* pci_save_state keeps nothing here: there is no state to load back */
int pci_load_saved_state(struct pci_dev *dev, struct pci_saved_state *state)
{
	return state ? -EINVAL : 0;
}

/* The network namespace and the platform bus, for the classes whose
 * library has none of their own (the net class defines init_net). */
__attribute__((weak)) struct net init_net;
struct device platform_bus = { .init_name = "platform" };

/* no netlink here: a module's kernel socket is not made (SCSI logs it) */
struct sock *__netlink_kernel_create(struct net *net, int unit, struct module *module,
				     struct netlink_kernel_cfg *cfg)
{
	return NULL;
}

void netlink_kernel_release(struct sock *sk)
{
}

/* no /proc/sys: a table is accepted and never shown */
struct ctl_table_header *register_sysctl_table(struct ctl_table *table)
{
	static struct ctl_table_header none;

	return &none;
}

void unregister_sysctl_table(struct ctl_table_header *header)
{
}

/* no bsg character devices: none (SCSI takes NULL as "no SG_IO node") */
struct bsg_device *bsg_register_queue(struct request_queue *q, struct device *parent,
				      const char *name, bsg_sg_io_fn *sg_io_fn)
{
	return NULL;
}

void bsg_unregister_queue(struct bsg_device *bd)
{
}

/* printk_ratelimit(): Linux's defaults, 10 messages per 5 seconds */
int __printk_ratelimit(const char *func)
{
	static DEFINE_RATELIMIT_STATE(limit, 5 * HZ, 10);

	return ___ratelimit(&limit, func);
}

/* the scheduler's clock: the monotonic one */
unsigned long long sched_clock(void)
{
	return ktime_get_mono_fast_ns();
}

/* one ethtool string (ETH_GSTRING_LEN bytes), the cursor moved past it */
void ethtool_sprintf(u8 **data, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(*data, ETH_GSTRING_LEN, fmt, args);
	va_end(args);
	*data += ETH_GSTRING_LEN;
}

/* a receive-side-scaling key: random, as Linux makes its one */
void netdev_rss_key_fill(void *buffer, size_t len)
{
	get_random_bytes(buffer, len);
}
