/*
 * Xen (drivers/xen): a driver process is not a Xen domain; EHCI asks
 * whether Xen's debug port driver uses the controller (it does not).
 */
#include <linux/usb/ehci-dbgp.h>

#include "lx_emul.h"

int xen_dbgp_reset_prep(struct usb_hcd *hcd)
{
	return 0;
}

int xen_dbgp_external_startup(struct usb_hcd *hcd)
{
	return 0;
}
