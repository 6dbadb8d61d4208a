/*
 * Kernel services only binary modules use: Debian's modules are built
 * with the stack protector (the source path is not).
 */
#include <linux/kernel.h>
#include <linux/export.h>

__visible noinstr void __stack_chk_fail(void);
__visible noinstr void __stack_chk_fail(void)
{
	panic("stack protector: a module's stack frame was overwritten");
}
