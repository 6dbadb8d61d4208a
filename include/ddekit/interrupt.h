/*
 * ddekit interrupts.
 *
 * A handler runs in a thread of its own, one per attached line. Lines are
 * level-triggered PCI INTx (or legacy ISA lines granted with a device):
 * the I/O server masks the line when it delivers it, and ddekit
 * acknowledges (unmasks) it when the handler returns. If the device still
 * asserts the line then, the handler runs again. Lines from
 * DDEKIT_MSI_LINES on are a device's message-signalled vectors
 * (ddekit_pci_msi_enable, pci.h): edges, nothing to acknowledge.
 */
#ifndef DDEKIT_INTERRUPT_H
#define DDEKIT_INTERRUPT_H

/*
 * Run @handler(@arg) whenever interrupt line @irq (a device's `irq` from
 * ddekit_pci_device()) fires. The line must be granted to this driver.
 * Returns 0 or a negative errno (-EACCES: not granted, -EBUSY: attached).
 */
int ddekit_irq_attach(unsigned irq, void (*handler)(void *arg), void *arg);

/* Stop delivering @irq and end its handler thread. */
int ddekit_irq_detach(unsigned irq);

/*
 * Hold back delivery of @irq (nested: every mask needs an unmask).
 * A handler that is running finishes first.
 */
int ddekit_irq_mask(unsigned irq);
int ddekit_irq_unmask(unsigned irq);

/* How often @irq's handler has run since it got its line (or vector). */
unsigned long ddekit_irq_count(unsigned irq);

#endif
