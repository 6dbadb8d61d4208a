/*
 * The translated engine (ko-net --engine dbt, docs/ko.md): the module's
 * code runs inside unicorn (Debian's libunicorn, a CPU emulator built on
 * QEMU's translator), everything else natively, over one address space.
 *
 * Memory is identity-mapped: the emulator sees each host page at its own
 * address (uc_mem_map_ptr), so the module's pointers, the library's and
 * the device's DMA buffers mean the same thing on both sides. The one
 * exception is the module's code: the emulator runs a copy of it, the
 * native view holds its entries (below). Any other page the module
 * touches is mapped on first touch, from the host mapping that holds it
 * (/proc/self/maps), readable and writable as the host's, never
 * executable. A page of a mapped BAR becomes an MMIO region whose accesses
 * go to ddekit_mmio_read/write (the driver's grant, posted writes), and
 * in/out/ins/outs reach ddekit_pio_read/write through unicorn's
 * instruction hooks. %gs is the calling thread's, so per-cpu data, the
 * preempt count and the stack canary are the ones the library uses.
 *
 * Control crosses in both directions:
 *
 * - module -> library: the module's direct calls into the library go to
 *   the bridge (a `syscall; jmp .` slot per function, in the emulator
 *   only), whose hook stops the emulator; any other transfer to native
 *   code ends the emulation with a fetch fault, since nothing but module
 *   code is executable there. Either way the engine calls the function
 *   natively with the emulated argument registers and stack words
 *   (ko_dbt_native), puts the result in rax:rdx and returns for it.
 * - library -> module: natively each function start of the module jumps
 *   to an entry stub (mov $fn, %r11d; jmp ko_dbt_entry), the rest of the
 *   native view is int3 (SIGTRAP: ko_dbt_redirect enters the same way).
 *   ko_dbt_entry starts the emulator on a stack frame of its own, carved
 *   from the native stack, with the return address set to a page of int3
 *   that is the emulation's exit.
 *
 * Entries nest (init -> pci_register_driver -> probe -> ...) and Linux
 * tasks switch in the middle of them (a module calls msleep): each level's
 * registers live in its own C frame while the emulator is stopped, and one
 * emulator per thread serves them all, since it only ever runs the
 * innermost level of the running task. After a native call a level gives
 * the emulator back only what the call changed, unless another level ran
 * on it meanwhile (a callback, or any other task's module code, nested or
 * not): then all its registers (run(), engine.owner).
 *
 * The ISA-specific parts are the register file (struct isa) and the two
 * crossings above; a module of another ISA needs another entry there, its
 * calling convention on both sides, and a service library whose structure
 * layouts are that kernel's (docs/ko.md, "Another ISA").
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <unicorn/unicorn.h>
#include <Zydis/Zydis.h>

#include <ddekit/ddekit.h>

#include <elf.h>

#include <ko/ko.h>
#include <ko/load.h>

#include "dbt.h"

#define MAX_MODULES 32	/* as ko/host.h */
#define MAX_STRING_SITES 64
#define MAX_BRIDGES 1024	/* distinct library functions the modules call */
#define BRIDGE_SLOT 16
#define EMU_STACK (16 * 1024)	/* a Linux 6.1 x86-64 kernel stack */
#define STACK_ARGS 24		/* stack words passed on in each direction (libahci prints 21 strings) */

/* the emulated register file, in this order */
enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15,
       RIP, RFLAGS, NREGS };

static const struct isa {
	const char *name;
	uc_arch arch;
	uc_mode mode;
	int reg[NREGS];
} x86_64 = {
	"x86-64", UC_ARCH_X86, UC_MODE_64,
	{ UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
	  UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_RSP, UC_X86_REG_R8, UC_X86_REG_R9,
	  UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14,
	  UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_EFLAGS },
};

/* the registers written back after a native call that entered no module code */
static const int after_call[] = { RAX, RDX, RSP, RIP };

/* ko_dbt_entry's frame: the callee's argument registers as it found them */
struct entry {
	uint64_t rdi, rsi, rdx, rcx, r8, r9, rax, target;
};

/* what ko_dbt_native calls, with what */
struct native_call {
	uint64_t fn, rdi, rsi, rdx, rcx, r8, r9, rax;
	uint64_t stack[STACK_ARGS];
};

struct pair {
	uint64_t rax, rdx;
};

/* ko/dbt_x86.S */
void ko_dbt_entry(void);
struct pair ko_dbt_native(const struct native_call *c);
struct pair ko_dbt_enter(const struct entry *in, const uint64_t *stack);

struct engine {
	uc_engine *uc;
	uint64_t gs;
	uint64_t exit;		/* every entry's return address: a page of int3 */
	uint64_t bad;		/* the data address nothing backs, of the last fault */
	const uint64_t *owner;	/* the register file (a run() level's) the
				 * emulator's registers belong to: a level that
				 * finds another one there gives back all of its */
};

static const struct isa *isa = &x86_64;
static const struct ko_dbt_host *host;
static struct {
	uint64_t base, text, ro, size;
	unsigned bridged;	/* call sites going through the bridge */
	uint8_t *code;		/* the code the emulator runs (the native view
				 * at base holds the entries: ko_dbt_add_module) */
} mods[MAX_MODULES];
/* a native entry per module function: mov $fn, %r11d; jmp ko_dbt_entry */
#define MAX_ENTRIES 4096
#define ENTRY_SLOT 16
static uint64_t entry_base;
static unsigned nentries;
/*
 * The bridge: a slot per library function the modules call directly,
 * `syscall; jmp .`, mapped into the emulator only. A call lands there, the
 * syscall hook stops the emulator before the jmp, and the engine calls
 * bridge_fn[slot] natively: no fault on the way out, unlike other calls
 * into native code.
 */
static uint64_t bridge_base, bridge_fn[MAX_BRIDGES];
static unsigned nbridges;
static unsigned nmods;
static uint64_t fentry, return_thunk, indirect_thunk[16];
static ZydisDecoder decoder;
/* the module's rep ins/outs instructions (find_string_io) */
static struct string_site {
	uint64_t at;
	int out;		/* outs, else ins */
	unsigned size;		/* bytes per element */
} sites[MAX_STRING_SITES];
static unsigned nsites;
static struct ko_dbt_counts counts;
static __thread struct engine *cpu;	/* this thread's emulator */
static __thread uint64_t caller;	/* the module's return address of the
					 * native call in progress (ko_dbt_caller) */

/* the register of __x86_indirect_thunk_NAME, in x86's encoding order */
static const char *const thunk_name[16] = {
	"rax", "rcx", "rdx", "rbx", NULL, "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const int thunk_reg[16] = {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
};

static int in_text(uint64_t a)
{
	for (unsigned i = 0; i < nmods; i++)
		if (a >= mods[i].base && a < mods[i].base + mods[i].text)
			return 1;
	return 0;
}

/* where the emulator's copy of module code at A is (A itself if none) */
static const uint8_t *code_view(uint64_t a)
{
	for (unsigned i = 0; i < nmods; i++)
		if (a >= mods[i].base && a < mods[i].base + mods[i].text && mods[i].code)
			return mods[i].code + (a - mods[i].base);
	return (const uint8_t *)(uintptr_t)a;
}

/* ---- host mappings ---- */

/*
 * /proc/self/maps, read again and again through the descriptor opened at
 * ko_dbt_init: a sandboxed driver opens no files once running.
 */
static int maps_fd = -1;

static FILE *maps_open(void)
{
	int fd = maps_fd >= 0 ? dup(maps_fd) : -1;
	FILE *f;

	if (fd < 0)
		return NULL;
	lseek(fd, 0, SEEK_SET);	/* shared with maps_fd: rewinds both */
	f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

/*
 * The host mapping that holds ADDR: 1 with its extent and "rwxp"
 * permissions, else 0. Called on first touches only.
 */
static int host_mapping(uint64_t addr, uint64_t *lo, uint64_t *hi, char perms[5])
{
	char line[512];
	int found = 0;
	FILE *f = maps_open();

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long l, h;

		if (sscanf(line, "%lx-%lx %4s", &l, &h, perms) == 3 && addr >= l && addr < h) {
			*lo = l;
			*hi = h;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* [*LO, *HI) around ADDR shrunk to what the emulator has not mapped yet */
static void clip(uc_engine *uc, uint64_t addr, uint64_t *lo, uint64_t *hi)
{
	uc_mem_region *r;
	uint32_t n;

	if (uc_mem_regions(uc, &r, &n) != UC_ERR_OK)
		return;
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].end < addr && r[i].end + 1 > *lo)
			*lo = r[i].end + 1;
		if (r[i].begin > addr && r[i].begin < *hi)
			*hi = r[i].begin;
	}
	uc_free(r);
}

/* ---- devices ---- */

static void __attribute__((noreturn)) device_failed(uc_engine *uc, const char *what,
						    uint64_t where, unsigned size)
{
	uint64_t pc = 0;
	char at[256];

	uc_reg_read(uc, isa->reg[RIP], &pc);
	host->describe(pc, at, sizeof(at));
	ddekit_panic("translated engine: %s of %u byte(s) at %#llx failed at %s: %s", what, size,
		     (unsigned long long)where, at, ddekit_last_error());
}

static uint64_t mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *page)
{
	uint64_t a = (uint64_t)(uintptr_t)page + off, v = 0;

	if (ddekit_mmio_read((const volatile void *)(uintptr_t)a, size, &v))
		device_failed(uc, "MMIO read", a, size);
	counts.mmio++;
	return v;
}

static void mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *page)
{
	uint64_t a = (uint64_t)(uintptr_t)page + off;

	if (ddekit_mmio_write((volatile void *)(uintptr_t)a, size, v))
		device_failed(uc, "MMIO write", a, size);
	counts.mmio++;
}

static uint32_t port_in(uc_engine *uc, uint32_t port, int size, void *data)
{
	uint32_t v = 0;

	(void)data;
	if (ddekit_pio_read((uint16_t)port, (unsigned)size, &v))
		device_failed(uc, "port read", port, (unsigned)size);
	counts.port++;
	return v;
}

static void port_out(uc_engine *uc, uint32_t port, int size, uint32_t v, void *data)
{
	(void)data;
	if (ddekit_pio_write((uint16_t)port, (unsigned)size, v))
		device_failed(uc, "port write", port, (unsigned)size);
	counts.port++;
}

/*
 * A rep ins/outs, before it runs: all of it in one request per 4 KiB, as
 * the trap engine does (unicorn would call port_in/out once per element).
 * It then runs with a count of zero.
 */
static void on_string_io(uc_engine *uc, uint64_t at, uint32_t len, void *data)
{
	const struct string_site *site = NULL;
	uint64_t rcx, rdx, rdi, rsi, fl, n;
	int err;

	(void)len, (void)data;
	for (unsigned i = 0; i < nsites && !site; i++)
		if (sites[i].at == at)
			site = &sites[i];
	if (!site)
		return;
	uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
	uc_reg_read(uc, UC_X86_REG_EFLAGS, &fl);
	if (!rcx || (fl & 0x400))	/* nothing to do, or backwards: element-wise */
		return;
	uc_reg_read(uc, UC_X86_REG_RDX, &rdx);
	n = rcx;
	if (site->out) {
		uc_reg_read(uc, UC_X86_REG_RSI, &rsi);
		err = ddekit_pio_write_rep((uint16_t)rdx, site->size, (const void *)(uintptr_t)rsi, n);
		rsi += n * site->size;
		uc_reg_write(uc, UC_X86_REG_RSI, &rsi);
	} else {
		uc_reg_read(uc, UC_X86_REG_RDI, &rdi);
		err = ddekit_pio_read_rep((uint16_t)rdx, site->size, (void *)(uintptr_t)rdi, n);
		rdi += n * site->size;
		uc_reg_write(uc, UC_X86_REG_RDI, &rdi);
	}
	if (err)
		device_failed(uc, site->out ? "rep outs" : "rep ins", (uint16_t)rdx, site->size);
	rcx = 0;
	uc_reg_write(uc, UC_X86_REG_RCX, &rcx);
	counts.port++;
}

/* a bridge slot's syscall: stop before its jmp (run() makes the call) */
static void on_bridge(uc_engine *uc, void *data)
{
	(void)data;
	uc_emu_stop(uc);
}

/* ---- first touches ---- */

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			void *data)
{
	struct engine *e = data;
	uint64_t lo, hi, page = addr & ~4095ull;
	char perms[5];

	(void)type, (void)size, (void)value;
	if (ddekit_mmio_contains(addr, 1))
		return uc_mmio_map(uc, page, 4096, mmio_read, (void *)(uintptr_t)page, mmio_write,
				   (void *)(uintptr_t)page) == UC_ERR_OK;
	if (host_mapping(addr, &lo, &hi, perms) && perms[0] == 'r') {
		clip(uc, addr, &lo, &hi);
		if (uc_mem_map_ptr(uc, lo, hi - lo,
				   UC_PROT_READ | (perms[1] == 'w' ? UC_PROT_WRITE : 0),
				   (void *)(uintptr_t)lo) == UC_ERR_OK)
			return true;
	}
	e->bad = addr;
	return false;
}

static bool on_protected(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			 int64_t value, void *data)
{
	struct engine *e = data;

	(void)uc, (void)type, (void)size, (void)value;
	e->bad = addr;
	return false;
}

/* ---- the emulator of this thread ---- */

static void __attribute__((noreturn)) engine_failed(const char *what, uc_err err)
{
	ddekit_panic("translated engine: %s: %s", what, uc_strerror(err));
}

static struct engine *engine(void)
{
	struct engine *e = cpu;
	unsigned long gs = 0, fs = 0;
	uc_hook h;
	uc_err err;
	void *page;

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		ddekit_panic("translated engine: out of memory");
	err = uc_open(isa->arch, isa->mode, &e->uc);
	if (err)
		engine_failed("cannot start unicorn", err);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	uc_reg_write(e->uc, UC_X86_REG_GS_BASE, &gs);
	e->gs = gs;
	uc_reg_write(e->uc, UC_X86_REG_FS_BASE, &fs);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		ddekit_panic("translated engine: out of memory");
	memset(page, 0xcc, 4096);
	mprotect(page, 4096, PROT_READ);
	e->exit = (uint64_t)(uintptr_t)page;
	err = uc_mem_map_ptr(e->uc, e->exit, 4096, UC_PROT_READ | UC_PROT_EXEC, page);
	if (!err && bridge_base)
		err = uc_mem_map_ptr(e->uc, bridge_base, MAX_BRIDGES * BRIDGE_SLOT,
				     UC_PROT_READ | UC_PROT_EXEC, (void *)(uintptr_t)bridge_base);
	for (unsigned i = 0; !err && i < nmods; i++) {
		uint64_t b = mods[i].base, t = mods[i].text, r = mods[i].ro;
		char *p = (char *)(uintptr_t)b;

		err = uc_mem_map_ptr(e->uc, b, t, UC_PROT_READ | UC_PROT_EXEC, mods[i].code);
		if (!err && r)
			err = uc_mem_map_ptr(e->uc, b + t, r, UC_PROT_READ, p + t);
		if (!err && mods[i].size > t + r)
			err = uc_mem_map_ptr(e->uc, b + t + r, mods[i].size - t - r,
					     UC_PROT_READ | UC_PROT_WRITE, p + t + r);
	}
	if (err)
		engine_failed("cannot map the module", err);
	if ((err = uc_hook_add(e->uc, &h, UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED,
			       (void *)on_unmapped, e, 1, 0)) ||
	    (err = uc_hook_add(e->uc, &h, UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_WRITE_PROT,
			       (void *)on_protected, e, 1, 0)) ||
	    (err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, (void *)port_in, e, 1, 0,
			       UC_X86_INS_IN)) ||
	    (err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, (void *)port_out, e, 1, 0,
			       UC_X86_INS_OUT)) ||
	    (err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, (void *)on_bridge, e, 1, 0,
			       UC_X86_INS_SYSCALL)))
		engine_failed("cannot hook", err);
	for (unsigned i = 0; i < nsites; i++)
		if ((err = uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)on_string_io, e, sites[i].at,
				       sites[i].at)))
			engine_failed("cannot hook", err);
	cpu = e;
	return e;
}

/* ---- running module code ---- */

static void write_regs(struct engine *e, uint64_t *r, const int *which, int n)
{
	int ids[NREGS];
	void *vals[NREGS];
	uc_err err;

	for (int i = 0; i < n; i++) {
		ids[i] = isa->reg[which ? which[i] : i];
		vals[i] = &r[which ? which[i] : i];
	}
	err = uc_reg_write_batch(e->uc, ids, vals, n);
	if (err)
		engine_failed("registers", err);
}

static void read_regs(struct engine *e, uint64_t *r)
{
	int ids[NREGS];
	void *vals[NREGS];

	for (int i = 0; i < NREGS; i++) {
		ids[i] = isa->reg[i];
		vals[i] = &r[i];
	}
	uc_reg_read_batch(e->uc, ids, vals, NREGS);
}

/* whether A is code the host runs (a function the module calls or jumps to) */
static int native_code(uint64_t a)
{
	static struct {
		uint64_t lo, hi;
	} code[64];
	static unsigned ncode;
	char line[512], perms[5];
	FILE *f;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < ncode; i++)
			if (a >= code[i].lo && a < code[i].hi)
				return !in_text(a);
		if (pass)
			break;
		f = maps_open();	/* a new library since: look again */
		if (!f)
			return 0;
		ncode = 0;
		while (ncode < 64 && fgets(line, sizeof(line), f)) {
			unsigned long l, h;

			if (sscanf(line, "%lx-%lx %4s", &l, &h, perms) == 3 && perms[2] == 'x') {
				code[ncode].lo = l;
				code[ncode++].hi = h;
			}
		}
		fclose(f);
	}
	return 0;
}

/* the value of Zydis register REG in R, 0 if none of the file's */
static uint64_t reg_value(const uint64_t *r, ZydisRegister reg)
{
	static const int gpr64[16] = {
		RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
	};

	if (reg >= ZYDIS_REGISTER_RAX && reg <= ZYDIS_REGISTER_R15)
		return r[gpr64[reg - ZYDIS_REGISTER_RAX]];
	if (reg >= ZYDIS_REGISTER_EAX && reg <= ZYDIS_REGISTER_R15D)
		return (uint32_t)r[gpr64[reg - ZYDIS_REGISTER_EAX]];
	return 0;
}

/*
 * Which instruction of the block starting at R's pc touched BAD. The
 * emulator stops a faulting block with the pc of the block's start and
 * the registers as they were before the faulting instruction (the ones
 * before it done), so that instruction is the first whose memory operand,
 * computed now, is BAD.
 */
static uint64_t faulting_insn(const struct engine *e, const uint64_t *r, uint64_t bad)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t pc = r[RIP];

	for (int n = 0; n < 256 && in_text(pc); n++) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code_view(pc), 15, &in, op)))
			break;
		for (unsigned i = 0; i < in.operand_count; i++) {
			const ZydisDecodedOperand *o = &op[i];
			uint64_t a;

			/* (a long nop has a memory operand it never touches) */
			if (in.meta.category == ZYDIS_CATEGORY_NOP ||
			    in.meta.category == ZYDIS_CATEGORY_WIDENOP)
				break;
			if (o->type != ZYDIS_OPERAND_TYPE_MEMORY || o->mem.type != ZYDIS_MEMOP_TYPE_MEM)
				continue;
			a = o->mem.disp.has_displacement ? (uint64_t)o->mem.disp.value : 0;
			if (o->mem.base == ZYDIS_REGISTER_RIP)
				a += pc + in.length;
			else
				a += reg_value(r, o->mem.base);
			a += reg_value(r, o->mem.index) * o->mem.scale;
			if (o->mem.segment == ZYDIS_REGISTER_GS)
				a += e->gs;
			if (bad >= a && bad < a + (o->size ? o->size / 8 : 1))
				return pc;
		}
		if (in.meta.category == ZYDIS_CATEGORY_COND_BR ||
		    in.meta.category == ZYDIS_CATEGORY_UNCOND_BR || in.meta.category == ZYDIS_CATEGORY_CALL ||
		    in.meta.category == ZYDIS_CATEGORY_RET)
			break;	/* the block ends here */
		pc += in.length;
	}
	return r[RIP];
}

static void __attribute__((noreturn)) module_faulted(struct engine *e, const uint64_t *r,
						     uc_err err)
{
	char at[256], from[256];
	uint64_t ret = 0;

	int fetch = err == UC_ERR_FETCH_UNMAPPED || err == UC_ERR_FETCH_PROT;

	host->describe(fetch ? r[RIP] : faulting_insn(e, r, e->bad), at, sizeof(at));
	if (fetch && host->stub_name(r[RIP])) {		/* a call to a stub */
		memcpy(&ret, (const void *)(uintptr_t)r[RSP], sizeof(ret));
		host->describe(ret, from, sizeof(from));
		host->report_stub(host->stub_name(r[RIP]), from);
	} else if (!fetch && host->stub_name(e->bad)) {
		host->report_stub(host->stub_name(e->bad), at);
	} else switch (err) {
	case UC_ERR_READ_UNMAPPED:
	case UC_ERR_WRITE_UNMAPPED:
	case UC_ERR_READ_PROT:
	case UC_ERR_WRITE_PROT:
		host->say("the module faulted: Segmentation fault at %s, touching address %p: the "
			  "driver stops", at, (void *)(uintptr_t)e->bad);
		break;
	case UC_ERR_FETCH_UNMAPPED:
	case UC_ERR_FETCH_PROT:
		memcpy(&ret, (const void *)(uintptr_t)r[RSP], sizeof(ret));
		host->describe(ret, from, sizeof(from));
		host->say("the module faulted: it called or jumped to %p, which is not code "
			  "(returning to %s): the driver stops", (void *)(uintptr_t)r[RIP], from);
		break;
	case UC_ERR_INSN_INVALID:
		host->say("the module faulted: Illegal instruction at %s: the driver stops", at);
		break;
	default:
		host->say("the module faulted: %s at %s: the driver stops", uc_strerror(err), at);
	}
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	abort();
}

/*
 * STACK_ARGS words of a caller's stack above its return address: its
 * stack arguments, if it has any, else whatever its frame holds there (the
 * arity is unknown). A sanitizer would call the extra words an overflow of
 * the caller's locals: they are only passed on, never used. Near the top
 * of a stack the words may run past its mapping: what lies on the next
 * page is read with process_vm_readv, which stops at the end instead of
 * faulting (the rest stays zero).
 */
__attribute__((no_sanitize("address")))
static void stack_words(uint64_t *to, const volatile uint64_t *from)
{
	uintptr_t start = (uintptr_t)from, end = start + STACK_ARGS * 8;
	uintptr_t page_end = (start | 4095) + 1;
	unsigned same = end <= page_end ? STACK_ARGS : (unsigned)((page_end - start) / 8);

	for (unsigned i = 0; i < same; i++)
		to[i] = from[i];
	if (same < STACK_ARGS) {
		struct iovec local = { to + same, (STACK_ARGS - same) * 8 };
		struct iovec remote = { (void *)page_end, (STACK_ARGS - same) * 8 };

		memset(to + same, 0, (STACK_ARGS - same) * 8);
		(void)!process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	}
}

/*
 * Run the module from registers R until it returns to the exit page,
 * calling native code on its behalf as often as it asks. R holds the
 * result.
 *
 * A native call may switch Linux tasks (msleep, wait_event, mutex_lock):
 * another task then resumes its own module code on this emulator, at its
 * own level of run(), and switches back from a native call of its own,
 * without a new entry. So what tells whether the emulator still holds
 * R's registers is who loaded it last (e->owner), not whether there was
 * an entry meanwhile: otherwise the resumed level runs on with the other
 * task's callee-saved registers (ahci.ko: a port's probe waits in
 * ata_port_wait_eh while libata's error handler resets the link in
 * scsi_mod's scsi_error_handler task, both sleeping in module code; the
 * probe, back from schedule(), took ap->lock through the EH task's %rbp).
 */
static void run(struct engine *e, uint64_t *r)
{
	int all = 1;

	for (;;) {
		struct native_call c;
		struct pair v;
		uint64_t to;
		uc_err err;

		if (all || e->owner != r) {
			write_regs(e, r, NULL, NREGS);
			e->owner = r;
		} else {
			write_regs(e, r, after_call, sizeof(after_call) / sizeof(after_call[0]));
		}
		all = 0;
		err = uc_emu_start(e->uc, r[RIP], e->exit, 0, 0);
		read_regs(e, r);
		if (err == UC_ERR_OK && r[RIP] == e->exit)
			return;
		if (err == UC_ERR_OK && r[RIP] >= bridge_base + 2 &&
		    r[RIP] < bridge_base + (uint64_t)nbridges * BRIDGE_SLOT) {
			to = bridge_fn[(r[RIP] - bridge_base) / BRIDGE_SLOT];
			goto call;
		}
		if (err == UC_ERR_INSN_INVALID && host->bug(r[RIP])) {
			r[RIP] += 2;	/* a WARN: on after its ud2 */
			continue;
		}
		if (err != UC_ERR_FETCH_UNMAPPED && err != UC_ERR_FETCH_PROT) {
			if (err == UC_ERR_OK)
				continue;	/* stopped early: resume */
			module_faulted(e, r, err);
		}
		to = r[RIP];
		if (to == fentry || to == return_thunk) {	/* sites not patched: a ret */
			memcpy(&r[RIP], (const void *)(uintptr_t)r[RSP], 8);
			r[RSP] += 8;
			continue;
		}
		for (unsigned i = 0; i < 16; i++) {
			if (indirect_thunk[i] && to == indirect_thunk[i]) {
				r[RIP] = r[thunk_reg[i]];	/* jmp *%reg */
				to = 0;
				all = 1;
				break;
			}
		}
		if (!to)
			continue;
		if (!native_code(to))
			module_faulted(e, r, err);
call:
		/* a call into the library: the return address on top, then the
		 * stack arguments, if any */
		c.fn = to;
		c.rdi = r[RDI], c.rsi = r[RSI], c.rdx = r[RDX], c.rcx = r[RCX];
		c.r8 = r[R8], c.r9 = r[R9], c.rax = r[RAX];
		stack_words(c.stack, (const uint64_t *)(uintptr_t)(r[RSP] + 8));
		counts.calls++;
		{
			uint64_t outer = caller;

			memcpy(&caller, (const void *)(uintptr_t)r[RSP], 8);
			v = ko_dbt_native(&c);
			caller = outer;
		}
		r[RAX] = v.rax;
		r[RDX] = v.rdx;
		memcpy(&r[RIP], (const void *)(uintptr_t)r[RSP], 8);
		r[RSP] += 8;
	}
}

struct pair ko_dbt_enter(const struct entry *in, const uint64_t *stack)
{
	struct engine *e = engine();
	uint64_t frame[EMU_STACK / 8] __attribute__((aligned(16)));
	uint64_t r[NREGS] = { 0 }, *sp = frame + EMU_STACK / 8 - STACK_ARGS;

	stack_words(sp, stack);
	*--sp = e->exit;
	r[RDI] = in->rdi, r[RSI] = in->rsi, r[RDX] = in->rdx, r[RCX] = in->rcx;
	r[R8] = in->r8, r[R9] = in->r9, r[RAX] = in->rax;
	r[RSP] = (uint64_t)(uintptr_t)sp;
	r[RIP] = in->target;
	r[RFLAGS] = 0x202;	/* IF, as in user mode */
	counts.entries++;
	run(e, r);
	return (struct pair){ r[RAX], r[RDX] };
}

int ko_dbt_redirect(siginfo_t *si, void *ucontext)
{
	ucontext_t *uc = ucontext;
	greg_t *g = uc->uc_mcontext.gregs;
	uint64_t at = (uint64_t)g[REG_RIP] - 1;	/* the int3 */

	if (!host || si->si_signo != SIGTRAP || !in_text(at) ||
	    *(const volatile uint8_t *)(uintptr_t)at != 0xcc)
		return 0;
	g[REG_R11] = (greg_t)at;	/* scratch at a call: free to carry the callee */
	g[REG_RIP] = (greg_t)(uintptr_t)ko_dbt_entry;
	return 1;
}

/* the module's rep ins/outs in the function at [START, START + LEN) */
static void find_string_io(uint64_t start, size_t len)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];

	for (uint64_t pc = start; pc < start + len; pc += in.length) {
		const void *p = (const void *)(uintptr_t)pc;
		unsigned size = 0;
		int out = 0;

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, p, start + len - pc, &in, op)))
			break;
		if (!(in.attributes & ZYDIS_ATTRIB_HAS_REP) || in.address_width != 64)
			continue;
		switch (in.mnemonic) {
		case ZYDIS_MNEMONIC_INSB: size = 1; break;
		case ZYDIS_MNEMONIC_INSW: size = 2; break;
		case ZYDIS_MNEMONIC_INSD: size = 4; break;
		case ZYDIS_MNEMONIC_OUTSB: size = 1, out = 1; break;
		case ZYDIS_MNEMONIC_OUTSW: size = 2, out = 1; break;
		case ZYDIS_MNEMONIC_OUTSD: size = 4, out = 1; break;
		default: continue;
		}
		if (nsites < MAX_STRING_SITES)
			sites[nsites++] = (struct string_site){ pc, out, size };
	}
}

/* the bridge slot that stands for native function FN, 0 if none is left */
static uint64_t bridge_for(uint64_t fn)
{
	for (unsigned i = 0; i < nbridges; i++)
		if (bridge_fn[i] == fn)
			return bridge_base + (uint64_t)i * BRIDGE_SLOT;
	if (nbridges == MAX_BRIDGES)
		return 0;
	bridge_fn[nbridges] = fn;
	return bridge_base + (uint64_t)nbridges++ * BRIDGE_SLOT;
}

/*
 * Every direct call, jump or conditional jump from the module's code to
 * native code (its imports; the relocated rel32 after `e8`, `e9` or
 * `0f 8x`) goes to a bridge slot instead. Addresses the module takes of
 * library functions (data, lea) stay the functions' own: called from the
 * emulator they take the general way out (a fetch fault), called natively
 * they are what they are.
 */
static unsigned bridge_calls(const struct ko_image *img, const struct ko_module *m)
{
	unsigned n = 0;

	for (unsigned k = 0; k < img->nrel; k++) {
		const struct ko_relsec *rs = &img->rel[k];

		if (!m->addr[rs->target] || !(img->sec[rs->target].flags & SHF_EXECINSTR))
			continue;
		for (unsigned i = 0; i < rs->count; i++) {
			const struct ko_reloc *r = &rs->r[i];
			uint8_t *p = (uint8_t *)(uintptr_t)(m->addr[rs->target] + r->offset);
			uint64_t place = (uint64_t)(uintptr_t)p, to, slot;
			int32_t rel;

			if ((r->type != R_X86_64_PLT32 && r->type != R_X86_64_PC32) ||
			    r->addend != -4 || img->sym[r->sym].shndx != SHN_UNDEF ||
			    place < m->base + 2 || place + 4 > m->base + m->text_size)
				continue;
			if (!(p[-1] == 0xe8 || p[-1] == 0xe9 ||
			      (p[-2] == 0x0f && (p[-1] & 0xf0) == 0x80)))
				continue;	/* not a branch: an address taken */
			memcpy(&rel, p, 4);
			to = place + 4 + (uint64_t)(int64_t)rel;
			if (!native_code(to) || !(slot = bridge_for(to)))
				continue;
			rel = (int32_t)(int64_t)(slot - (place + 4));
			memcpy(p, &rel, 4);
			n++;
		}
	}
	return n;
}

/* SIZE bytes of int3 below 2 GiB (within a rel32 of module code), writable;
 * 0 with ERR if there is no room */
static uint64_t int3_area(size_t size, const char *what, char *err, size_t errlen)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "no room for the %s below 2 GiB: %m", what);
		return 0;
	}
	memset(p, 0xcc, size);
	return (uint64_t)(uintptr_t)p;
}

/* the native entry of module function FN, 0 if none is left */
static uint64_t entry_for(uint64_t fn)
{
	uint8_t *p;
	int32_t rel;

	if (nentries == MAX_ENTRIES)
		return 0;
	p = (uint8_t *)(uintptr_t)(entry_base + (uint64_t)nentries++ * ENTRY_SLOT);
	p[0] = 0x41, p[1] = 0xbb;		/* mov $fn, %r11d (below 2 GiB) */
	memcpy(p + 2, &(uint32_t){ (uint32_t)fn }, 4);
	p[6] = 0xe9;				/* jmp ko_dbt_entry */
	rel = (int32_t)((int64_t)(uintptr_t)ko_dbt_entry - (int64_t)(uintptr_t)(p + 11));
	memcpy(p + 7, &rel, 4);
	return (uint64_t)(uintptr_t)p;
}

/*
 * The module's code gets two views at one address. The emulator runs a
 * copy (*CODE, mapped there in each emulator). Natively the code becomes
 * int3 everywhere but at each function's start, a jmp to that function's
 * entry (mov $fn, %r11d; jmp ko_dbt_entry): the library calling probe, an
 * ndo_* or an interrupt handler enters the emulator with two jumps, no
 * signal. An address in between (no symbol starts there) traps, and
 * ko_dbt_redirect enters the same way.
 */
static int native_entries(const struct ko_image *img, const struct ko_module *m,
			  uint8_t **code, char *err, size_t errlen)
{
	uint8_t *copy = mmap(NULL, m->text_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *text = (uint8_t *)m->base;

	if (copy == MAP_FAILED) {
		snprintf(err, errlen, "out of memory for the code's copy");
		return -1;
	}
	if (!entry_base && !(entry_base = int3_area(MAX_ENTRIES * ENTRY_SLOT, "entries", err,
						  errlen)))
		return -1;
	if (mprotect((void *)(uintptr_t)entry_base, MAX_ENTRIES * ENTRY_SLOT,
		     PROT_READ | PROT_WRITE) < 0) {
		snprintf(err, errlen, "mprotect: %m");
		return -1;
	}
	memcpy(copy, text, m->text_size);
	memset(text, 0xcc, m->text_size);
	for (unsigned s = 0; s < img->nsym; s++) {
		uint64_t fn = ko_function_address(img, m, s), at;
		int32_t rel;

		if (!fn || img->sym[s].size < 5)
			continue;	/* (a function shorter than a jmp traps) */
		if (text[fn - m->base] != 0xcc)
			continue;	/* an alias: done */
		at = entry_for(fn);
		if (!at)
			break;		/* the rest trap */
		rel = (int32_t)((int64_t)at - (int64_t)(fn + 5));
		text[fn - m->base] = 0xe9;
		memcpy(text + (fn - m->base) + 1, &rel, 4);
	}
	mprotect(copy, m->text_size, PROT_READ);
	if (mprotect(text, m->text_size, PROT_READ | PROT_EXEC) < 0 ||
	    mprotect((void *)(uintptr_t)entry_base, MAX_ENTRIES * ENTRY_SLOT,
		     PROT_READ | PROT_EXEC) < 0) {
		snprintf(err, errlen, "mprotect: %m");
		return -1;
	}
	*code = copy;
	return 0;
}

int ko_dbt_add_module(const struct ko_image *img, const struct ko_module *m, char *err,
		      size_t errlen)
{
	if (nmods == MAX_MODULES) {
		snprintf(err, errlen, "more than %d modules", MAX_MODULES);
		return -1;
	}
	if (!bridge_base) {
		char *p;

		bridge_base = int3_area(MAX_BRIDGES * BRIDGE_SLOT, "bridge", err, errlen);
		if (!bridge_base)
			return -1;
		p = (char *)(uintptr_t)bridge_base;
		for (unsigned i = 0; i < MAX_BRIDGES; i++)	/* syscall; jmp . */
			memcpy(p + i * BRIDGE_SLOT, "\x0f\x05\xeb\xfe", 4);
		mprotect(p, MAX_BRIDGES * BRIDGE_SLOT, PROT_READ);	/* never run natively */
	}
	for (unsigned s = 0; s < img->nsym; s++) {
		uint64_t fn = ko_function_address(img, m, s);

		if (fn)
			find_string_io(fn, img->sym[s].size);
	}
	if (mprotect((void *)m->base, m->text_size, PROT_READ | PROT_WRITE) < 0) {
		snprintf(err, errlen, "mprotect: %m");
		return -1;
	}
	mods[nmods].bridged = bridge_calls(img, m);
	counts.bridged += mods[nmods].bridged;
	counts.bridges = nbridges;
	if (native_entries(img, m, &mods[nmods].code, err, errlen) < 0)
		return -1;
	mods[nmods].base = m->base;
	mods[nmods].text = m->text_size;
	mods[nmods].ro = m->ro_size;
	mods[nmods].size = m->size;
	nmods++;
	return 0;
}

int ko_dbt_init(const struct ko_dbt_host *h, char *err, size_t errlen)
{
	unsigned major, minor;

	uc_version(&major, &minor);
	if (major < 2) {
		snprintf(err, errlen, "unicorn %u.%u is too old: the engine needs 2.0 or later",
			 major, minor);
		return -1;
	}
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64,
					   ZYDIS_STACK_WIDTH_64))) {
		snprintf(err, errlen, "the Zydis decoder does not initialise");
		return -1;
	}
	maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (maps_fd < 0) {
		snprintf(err, errlen, "/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	host = h;
	fentry = h->lookup("__fentry__");
	return_thunk = h->lookup("__x86_return_thunk");
	for (unsigned i = 0; i < 16; i++) {
		char name[40];

		if (!thunk_name[i])
			continue;
		snprintf(name, sizeof(name), "__x86_indirect_thunk_%s", thunk_name[i]);
		indirect_thunk[i] = h->lookup(name);
	}
	return 0;
}

uint64_t ko_dbt_caller(void)
{
	return caller;
}

void ko_dbt_counts(struct ko_dbt_counts *c)
{
	*c = counts;
}
