/* net: filled in below */
#include "lx_emul.h"

void lx_emul_after_initcalls(void)
{
}
