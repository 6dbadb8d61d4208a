/*
 * Shadows x86's asm/io.h (first on the include path, dde_linux/linux.mk).
 * Linux's header is included unchanged; then its MMIO and port accessors
 * (readl, writel, their _relaxed and __raw_ forms, inb, outw_p, insl,
 * outsb, ...) are pointed at out-of-line functions of lx_emul/io.c, which
 * call ddekit's accessors directly. Linux's own would be plain mov, in and
 * out instructions that fault and are emulated by ddekit's trap engine:
 * the same request to the I/O server, plus a signal (make bench: a read
 * 78 vs 45 us, a posted write 15 vs 2 us). What Linux's header itself
 * defines from the accessors (readsl, ...) keeps the instructions and
 * stays trapped.
 */
#ifndef DDE_SHADOW_ASM_IO_H
#define DDE_SHADOW_ASM_IO_H

#include_next <asm/io.h>

u8 lx_emul_readb(const volatile void __iomem *addr);
u16 lx_emul_readw(const volatile void __iomem *addr);
u32 lx_emul_readl(const volatile void __iomem *addr);
u64 lx_emul_readq(const volatile void __iomem *addr);
void lx_emul_writeb(u8 value, volatile void __iomem *addr);
void lx_emul_writew(u16 value, volatile void __iomem *addr);
void lx_emul_writel(u32 value, volatile void __iomem *addr);
void lx_emul_writeq(u64 value, volatile void __iomem *addr);

u8 lx_emul_inb(u16 port);
u16 lx_emul_inw(u16 port);
u32 lx_emul_inl(u16 port);
void lx_emul_outb(u8 value, u16 port);
void lx_emul_outw(u16 value, u16 port);
void lx_emul_outl(u32 value, u16 port);
void lx_emul_insb(u16 port, void *addr, unsigned long count);
void lx_emul_insw(u16 port, void *addr, unsigned long count);
void lx_emul_insl(u16 port, void *addr, unsigned long count);
void lx_emul_outsb(u16 port, const void *addr, unsigned long count);
void lx_emul_outsw(u16 port, const void *addr, unsigned long count);
void lx_emul_outsl(u16 port, const void *addr, unsigned long count);

#undef readb
#undef readw
#undef readl
#undef readq
#undef readb_relaxed
#undef readw_relaxed
#undef readl_relaxed
#undef readq_relaxed
#undef __raw_readb
#undef __raw_readw
#undef __raw_readl
#undef __raw_readq
#define readb lx_emul_readb
#define readw lx_emul_readw
#define readl lx_emul_readl
#define readq lx_emul_readq
#define readb_relaxed lx_emul_readb
#define readw_relaxed lx_emul_readw
#define readl_relaxed lx_emul_readl
#define readq_relaxed lx_emul_readq
#define __raw_readb lx_emul_readb
#define __raw_readw lx_emul_readw
#define __raw_readl lx_emul_readl
#define __raw_readq lx_emul_readq

#undef writeb
#undef writew
#undef writel
#undef writeq
#undef writeb_relaxed
#undef writew_relaxed
#undef writel_relaxed
#undef writeq_relaxed
#undef __raw_writeb
#undef __raw_writew
#undef __raw_writel
#undef __raw_writeq
#define writeb lx_emul_writeb
#define writew lx_emul_writew
#define writel lx_emul_writel
#define writeq lx_emul_writeq
#define writeb_relaxed lx_emul_writeb
#define writew_relaxed lx_emul_writew
#define writel_relaxed lx_emul_writel
#define writeq_relaxed lx_emul_writeq
#define __raw_writeb lx_emul_writeb
#define __raw_writew lx_emul_writew
#define __raw_writel lx_emul_writel
#define __raw_writeq lx_emul_writeq

#undef inb
#undef inw
#undef inl
#undef inb_p
#undef inw_p
#undef inl_p
#undef outb
#undef outw
#undef outl
#undef outb_p
#undef outw_p
#undef outl_p
#undef insb
#undef insw
#undef insl
#undef outsb
#undef outsw
#undef outsl
#define inb lx_emul_inb
#define inw lx_emul_inw
#define inl lx_emul_inl
#define inb_p lx_emul_inb	/* the I/O server's round trip is delay enough */
#define inw_p lx_emul_inw
#define inl_p lx_emul_inl
#define outb lx_emul_outb
#define outw lx_emul_outw
#define outl lx_emul_outl
#define outb_p lx_emul_outb
#define outw_p lx_emul_outw
#define outl_p lx_emul_outl
#define insb lx_emul_insb
#define insw lx_emul_insw
#define insl lx_emul_insl
#define outsb lx_emul_outsb
#define outsw lx_emul_outsw
#define outsl lx_emul_outsl

#endif
