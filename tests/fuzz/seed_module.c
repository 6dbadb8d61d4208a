/*
 * A small kernel module of our own, for the fuzzer's seed corpus (make
 * fuzz): compiled like a Linux module (-mcmodel=kernel, relocatable) with
 * what ko_parse reads in Debian's modules: .modinfo, __versions,
 * __ksymtab with __kcrctab, __param, a struct module in
 * .gnu.linkonce.this_module whose init and exit are relocated, and calls
 * and data references that make every relocation type the loader knows,
 * and the call sites the loader patches (__mcount_loc from -mrecord-mcount,
 * .return_sites and .retpoline_sites as objtool makes them). It is never
 * run. (Debian's modules are added as seeds from the cache
 * at fuzz time, never committed.)
 */
#define SEC(s) __attribute__((section(s), used, aligned(1)))

SEC(".modinfo") static const char info_name[] = "name=seed";
SEC(".modinfo") static const char info_vermagic[] = "vermagic=6.1.0-50-amd64 SMP preempt mod_unload modversions ";
SEC(".modinfo") static const char info_license[] = "license=GPL";
SEC(".modinfo") static const char info_depends[] = "depends=";
SEC(".modinfo") static const char info_alias[] = "alias=pci:v00008086d0000100Esv*sd*bc*sc*i*";
SEC(".modinfo") static const char info_parm[] = "parmtype=debug:int";

struct modversion_info {
	unsigned long crc;
	char name[56];
};
__attribute__((section("__versions"), used)) static const struct modversion_info versions[] = {
	{ 0x12345678, "module_layout" },
	{ 0x9abcdef0, "_printk" },
	{ 0x0badcafe, "kmalloc_trace" },
};

extern int _printk(const char *fmt, ...);
extern void *kmalloc_trace(void *cache, unsigned flags, unsigned long size);
extern void *kmalloc_caches[];
extern unsigned long jiffies;

int seed_value = 42;
const char *seed_ptr = "seed";	/* R_X86_64_64 */

int seed_export(int x)
{
	return x + seed_value + (int)jiffies;	/* PC32, 32S */
}

/* struct kernel_symbol, PC-relative as Linux's EXPORT_SYMBOL makes it */
__asm__(".pushsection __ksymtab_strings,\"aMS\",@progbits,1\n"
	"__kstrtab_seed_export: .asciz \"seed_export\"\n"
	"__kstrtabns_seed_export: .asciz \"\"\n"
	".popsection\n"
	".pushsection __ksymtab,\"a\"\n"
	".balign 4\n"
	"__ksymtab_seed_export:\n"
	".long seed_export - .\n"
	".long __kstrtab_seed_export - .\n"
	".long __kstrtabns_seed_export - .\n"
	".popsection\n"
	".pushsection __kcrctab,\"a\"\n"
	".long 0x11223344\n"
	".popsection\n");

/* a return through the return thunk, a call through a retpoline thunk,
 * with their sites listed as objtool lists them */
__asm__(".text\n"
	".globl seed_thunks\n"
	"seed_thunks:\n"
	"1: call __x86_indirect_thunk_rax\n"
	"2: .byte 0x2e\n"	/* cs, as -mindirect-branch-cs-prefix makes it */
	"call __x86_indirect_thunk_r11\n"
	"3: jne __x86_return_thunk\n"
	"4: jmp __x86_return_thunk\n"
	".pushsection .retpoline_sites,\"a\"\n"
	".long 1b - ., 2b - .\n"
	".popsection\n"
	".pushsection .return_sites,\"a\"\n"
	".long 3b - ., 4b - .\n"
	".popsection\n");

static int seed_init(void)
{
	void *p = kmalloc_trace(kmalloc_caches[3], 0, 64);	/* PLT32 */

	_printk("seed %s %p\n", seed_ptr, p);
	return seed_export(1) == 0;
}

static void seed_exit(void)
{
}

int init_module(void) __attribute__((alias("seed_init")));
void cleanup_module(void) __attribute__((alias("seed_exit")));

/* struct module: 896 bytes, init at 0x138, exit at 0x350 (as in 6.1.0-50) */
struct seed_module {
	char pad0[0x18];
	char name[56];
	char pad1[0x138 - 0x18 - 56];
	int (*init)(void);
	char pad2[0x350 - 0x138 - 8];
	void (*exit)(void);
	char pad3[896 - 0x350 - 8];
};
__attribute__((section(".gnu.linkonce.this_module"), used)) struct seed_module __this_module = {
	.name = "seed",
	.init = init_module,
	.exit = cleanup_module,
};
