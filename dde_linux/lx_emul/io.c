/*
 * Linux's MMIO and port accessors, out of line: the shadow asm/io.h
 * (dde_linux/shadow/asm/io.h) names these for readl, writel, inb, outsw
 * and the rest, so that a driver's access is a call to ddekit's accessors
 * (checked by the I/O server like any other) instead of an instruction
 * that faults into the trap engine. A readl of ordinary memory stays a
 * plain load (lx_kit tells them apart).
 */
#include <linux/io.h>

#include <lx_kit/kit.h>

#define CALLER __builtin_return_address(0)

u8 lx_emul_readb(const volatile void __iomem *addr)
{
	return (u8)lx_kit_mmio_load((const volatile void __force *)addr, 1, CALLER);
}

u16 lx_emul_readw(const volatile void __iomem *addr)
{
	return (u16)lx_kit_mmio_load((const volatile void __force *)addr, 2, CALLER);
}

u32 lx_emul_readl(const volatile void __iomem *addr)
{
	return (u32)lx_kit_mmio_load((const volatile void __force *)addr, 4, CALLER);
}

u64 lx_emul_readq(const volatile void __iomem *addr)
{
	return lx_kit_mmio_load((const volatile void __force *)addr, 8, CALLER);
}

void lx_emul_writeb(u8 value, volatile void __iomem *addr)
{
	lx_kit_mmio_store((volatile void __force *)addr, 1, value, CALLER);
}

void lx_emul_writew(u16 value, volatile void __iomem *addr)
{
	lx_kit_mmio_store((volatile void __force *)addr, 2, value, CALLER);
}

void lx_emul_writel(u32 value, volatile void __iomem *addr)
{
	lx_kit_mmio_store((volatile void __force *)addr, 4, value, CALLER);
}

void lx_emul_writeq(u64 value, volatile void __iomem *addr)
{
	lx_kit_mmio_store((volatile void __force *)addr, 8, value, CALLER);
}

u8 lx_emul_inb(u16 port)
{
	return (u8)lx_kit_pio_in(port, 1, CALLER);
}

u16 lx_emul_inw(u16 port)
{
	return (u16)lx_kit_pio_in(port, 2, CALLER);
}

u32 lx_emul_inl(u16 port)
{
	return lx_kit_pio_in(port, 4, CALLER);
}

void lx_emul_outb(u8 value, u16 port)
{
	lx_kit_pio_out(port, 1, value, CALLER);
}

void lx_emul_outw(u16 value, u16 port)
{
	lx_kit_pio_out(port, 2, value, CALLER);
}

void lx_emul_outl(u32 value, u16 port)
{
	lx_kit_pio_out(port, 4, value, CALLER);
}

void lx_emul_insb(u16 port, void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 1, addr, count, 0, CALLER);
}

void lx_emul_insw(u16 port, void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 2, addr, count, 0, CALLER);
}

void lx_emul_insl(u16 port, void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 4, addr, count, 0, CALLER);
}

void lx_emul_outsb(u16 port, const void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 1, (void *)addr, count, 1, CALLER);
}

void lx_emul_outsw(u16 port, const void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 2, (void *)addr, count, 1, CALLER);
}

void lx_emul_outsl(u16 port, const void *addr, unsigned long count)
{
	lx_kit_pio_rep(port, 4, (void *)addr, count, 1, CALLER);
}
