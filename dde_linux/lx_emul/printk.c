/*
 * printk and its relatives: Linux formats (lib/vsprintf.c, reused), the
 * line goes to the driver's log with its level. dev_* and netdev_* prefix
 * the device as Linux does ("e1000 0000:00:02.0 eth0: ...").
 */
#include <linux/bug.h>
#include <linux/device.h>
#include <linux/netdevice.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

static int level_of(const char **fmt)
{
	int level = LOGLEVEL_DEFAULT;

	while (printk_get_level(*fmt)) {
		char c = printk_get_level(*fmt);

		if (c >= '0' && c <= '7')
			level = c - '0';
		*fmt = printk_skip_level(*fmt);
	}
	return level == LOGLEVEL_DEFAULT ? LOGLEVEL_INFO : level;
}

static void emit(int level, const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = prefix ? scnprintf(line, sizeof(line), "%s", prefix) : 0;

	n += vscnprintf(line + n, sizeof(line) - n, fmt, ap);
	/* one log line per line of text */
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	if (n)
		lx_kit_log(level, line);
}

int vprintk(const char *fmt, va_list ap)
{
	int level = level_of(&fmt);

	emit(level, NULL, fmt, ap);
	return 0;
}

int _printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	return 0;
}

static void dev_emit(const struct device *dev, int level, const char *fmt, va_list ap)
{
	char prefix[96];

	if (dev)
		snprintf(prefix, sizeof(prefix), "%s %s: ", dev_driver_string(dev), dev_name(dev));
	else
		snprintf(prefix, sizeof(prefix), "(NULL device *): ");
	emit(level, prefix, fmt, ap);
}

#define DEV_PRINTK(fn, level)                                           \
	void fn(const struct device *dev, const char *fmt, ...)          \
	{                                                                \
		va_list ap;                                              \
		va_start(ap, fmt);                                       \
		dev_emit(dev, level, fmt, ap);                           \
		va_end(ap);                                              \
	}
DEV_PRINTK(_dev_emerg, LOGLEVEL_EMERG)
DEV_PRINTK(_dev_alert, LOGLEVEL_ALERT)
DEV_PRINTK(_dev_crit, LOGLEVEL_CRIT)
DEV_PRINTK(_dev_err, LOGLEVEL_ERR)
DEV_PRINTK(_dev_warn, LOGLEVEL_WARNING)
DEV_PRINTK(_dev_notice, LOGLEVEL_NOTICE)
DEV_PRINTK(_dev_info, LOGLEVEL_INFO)

void _dev_printk(const char *level, const struct device *dev, const char *fmt, ...)
{
	va_list ap;
	const char *l = level;

	va_start(ap, fmt);
	dev_emit(dev, level_of(&l), fmt, ap);
	va_end(ap);
}

const char *dev_driver_string(const struct device *dev)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv ? drv->name : dev->bus ? dev->bus->name : "";
}

static void netdev_emit(const struct net_device *dev, int level, const char *fmt, va_list ap)
{
	char prefix[128];

	if (dev && dev->dev.parent)
		snprintf(prefix, sizeof(prefix), "%s %s %s: ", dev_driver_string(dev->dev.parent),
			 dev_name(dev->dev.parent), netdev_name(dev));
	else if (dev)
		snprintf(prefix, sizeof(prefix), "%s: ", netdev_name(dev));
	else
		snprintf(prefix, sizeof(prefix), "(NULL net_device): ");
	emit(level, prefix, fmt, ap);
}

#define NETDEV_PRINTK(fn, level)                                          \
	void fn(const struct net_device *dev, const char *fmt, ...)        \
	{                                                                  \
		va_list ap;                                                \
		va_start(ap, fmt);                                         \
		netdev_emit(dev, level, fmt, ap);                          \
		va_end(ap);                                                \
	}
NETDEV_PRINTK(netdev_emerg, LOGLEVEL_EMERG)
NETDEV_PRINTK(netdev_alert, LOGLEVEL_ALERT)
NETDEV_PRINTK(netdev_crit, LOGLEVEL_CRIT)
NETDEV_PRINTK(netdev_err, LOGLEVEL_ERR)
NETDEV_PRINTK(netdev_warn, LOGLEVEL_WARNING)
NETDEV_PRINTK(netdev_notice, LOGLEVEL_NOTICE)
NETDEV_PRINTK(netdev_info, LOGLEVEL_INFO)

void netdev_printk(const char *level, const struct net_device *dev, const char *fmt, ...)
{
	va_list ap;
	const char *l = level;

	va_start(ap, fmt);
	netdev_emit(dev, level_of(&l), fmt, ap);
	va_end(ap);
}

/* Dynamic debug: printed at debug level (DDE_LOG=3 shows them). */
void __dynamic_netdev_dbg(struct _ddebug *descriptor, const struct net_device *dev,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	netdev_emit(dev, LOGLEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

void __dynamic_dev_dbg(struct _ddebug *descriptor, const struct device *dev,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_emit(dev, LOGLEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

void __dynamic_pr_debug(struct _ddebug *descriptor, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOGLEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

int net_ratelimit(void)
{
	return 1;
}

int ___ratelimit(struct ratelimit_state *rs, const char *func)
{
	return 1;
}

void __warn_printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOGLEVEL_WARNING, "WARNING: ", fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lx_kit_panic(line);
}
