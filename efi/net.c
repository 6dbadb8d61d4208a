/* placeholder while efi/net.c is written (not to be committed) */
#include "host.h"

int efi_net_attach(void)
{
	efi_log("efi-net: the network glue is not written yet");
	return -1;
}

int efi_net_run(void)
{
	return 1;
}
