/*
 * The trap engine: plain loads and stores on a BAR mapped by
 * ddekit_mmio_map(), and the port instructions in/out/ins/outs, work as
 * on real hardware although neither reaches hardware from this process.
 *
 * A mapped BAR is an inaccessible reservation (io.c), so a plain access
 * faults (SIGSEGV, SEGV_ACCERR, si_addr inside the BAR). A port
 * instruction in user mode raises a general protection fault (SIGSEGV,
 * SI_KERNEL, si_addr 0). The handler decodes the one instruction at the
 * faulting RIP with Zydis, performs it through ddekit_mmio_read/write or
 * ddekit_pio_read/write (so ddeio checks it like any other access), writes
 * the result into the interrupted registers with x86 semantics, and
 * resumes after the instruction.
 *
 * Faults that are not ours go to the handler that was installed before
 * (a sanitizer's, dde_linux's stub handler), or, if that was the default,
 * happen again with the default action, so a real crash still dumps core
 * where it happened.
 *
 * The handler runs on the faulting thread in the middle of driver code
 * that holds no ddekit lock (it was executing a mov or an in/out), so it
 * may make the same round trip to ddeio as the accessors do. It allocates
 * nothing; the decoder is initialised once, at install.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include <ddekit/ddekit.h>
#include <ddekit/signal.h>

#include "client.h"

#define EFLAGS_DF 0x400ull

static ZydisDecoder decoder;
static bool decoder_ready;
static struct sigaction previous;	/* the SIGSEGV disposition before ours */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool chaining;		/* inside the previous handler */

/* One trapped instruction and the interrupted registers. */
struct trap {
	greg_t *gr;
	uint64_t rip;
	bool decoded;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
};

static void on_segv(int sig, siginfo_t *si, void *ctx);

/* ---- registers ---- */

/* gregs slot of the 64-bit register RAX + i, in Zydis's order */
static const unsigned char gpr_slot[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

struct gpr {
	uint64_t *slot;
	unsigned bits;		/* 8, 16, 32 or 64 */
	unsigned shift;		/* 8 for ah, ch, dh, bh */
};

static bool gpr(const struct trap *t, ZydisRegister r, struct gpr *g)
{
	unsigned i;

	g->shift = 0;
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) {
		i = r - ZYDIS_REGISTER_AL;
		g->bits = 8;
		if (i >= 4 && i < 8) {		/* ah ch dh bh */
			g->shift = 8;
			i -= 4;
		} else if (i >= 8) {		/* spl bpl sil dil r8b..r15b */
			i -= 4;
		}
	} else if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W) {
		i = r - ZYDIS_REGISTER_AX;
		g->bits = 16;
	} else if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D) {
		i = r - ZYDIS_REGISTER_EAX;
		g->bits = 32;
	} else if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
		i = r - ZYDIS_REGISTER_RAX;
		g->bits = 64;
	} else {
		return false;
	}
	g->slot = (uint64_t *)&t->gr[gpr_slot[i]];
	return true;
}

static uint64_t width_mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static uint64_t gpr_get(const struct gpr *g)
{
	return (*g->slot >> g->shift) & width_mask(g->bits);
}

/* x86-64: a 32-bit write zero-extends, 8- and 16-bit writes keep the rest */
static void gpr_set(const struct gpr *g, uint64_t v)
{
	if (g->bits == 64) {
		*g->slot = v;
	} else if (g->bits == 32) {
		*g->slot = (uint32_t)v;
	} else {
		uint64_t mask = width_mask(g->bits) << g->shift;

		*g->slot = (*g->slot & ~mask) | ((v << g->shift) & mask);
	}
}

static uint64_t sign_extend(uint64_t v, unsigned bits)
{
	unsigned s = 64 - bits;

	return bits >= 64 ? v : (uint64_t)((int64_t)(v << s) >> s);
}

/* ---- reporting ---- */

static void __attribute__((noreturn, format(printf, 2, 3)))
trap_panic(const struct trap *t, const char *fmt, ...)
{
	char why[512], text[160], where[256] = "";
	ZydisFormatter f;
	Dl_info dl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (t->decoded && ZYAN_SUCCESS(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_ATT)) &&
	    ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &t->in, t->op,
							  t->in.operand_count_visible, text,
							  sizeof(text), t->rip, NULL))) {
		/* text is the instruction */
	} else {
		const unsigned char *b = (const unsigned char *)t->rip;

		snprintf(text, sizeof(text), "(undecodable: %02x %02x %02x %02x ...)", b[0], b[1],
			 b[2], b[3]);
	}
	if (dladdr((void *)t->rip, &dl) && dl.dli_fname) {
		if (dl.dli_sname && dl.dli_saddr)
			snprintf(where, sizeof(where), " (%s+0x%lx in %s+0x%lx)", dl.dli_sname,
				 (unsigned long)(t->rip - (uintptr_t)dl.dli_saddr), dl.dli_fname,
				 (unsigned long)(t->rip - (uintptr_t)dl.dli_fbase));
		else
			snprintf(where, sizeof(where), " (%s+0x%lx)", dl.dli_fname,
				 (unsigned long)(t->rip - (uintptr_t)dl.dli_fbase));
	}
	ddekit_panic("trap: %s: `%s` at 0x%llx%s", why, text, (unsigned long long)t->rip, where);
}

/* ---- decoding and addresses ---- */

static bool decode(struct trap *t)
{
	/* Stay on the instruction's page unless the instruction needs more:
	 * the CPU fetched all of it, so those bytes are mapped. */
	size_t room = 4096 - (t->rip & 4095);
	ZyanStatus s;

	if (room > ZYDIS_MAX_INSTRUCTION_LENGTH)
		room = ZYDIS_MAX_INSTRUCTION_LENGTH;
	s = ZydisDecoderDecodeFull(&decoder, (const void *)t->rip, room, &t->in, t->op);
	if (s == ZYDIS_STATUS_NO_MORE_DATA && room < ZYDIS_MAX_INSTRUCTION_LENGTH)
		s = ZydisDecoderDecodeFull(&decoder, (const void *)t->rip,
					   ZYDIS_MAX_INSTRUCTION_LENGTH, &t->in, t->op);
	t->decoded = ZYAN_SUCCESS(s);
	return t->decoded;
}

static bool segment_base(ZydisRegister seg, uint64_t *base)
{
	unsigned long b;

	*base = 0;
	if (seg != ZYDIS_REGISTER_FS && seg != ZYDIS_REGISTER_GS)
		return true;	/* cs ds es ss are flat in 64-bit mode */
	if (syscall(SYS_arch_prctl, seg == ZYDIS_REGISTER_FS ? ARCH_GET_FS : ARCH_GET_GS, &b))
		return false;
	*base = b;
	return true;
}

/* Effective address of memory operand @o: segment + base + index * scale + disp. */
static bool effective_address(const struct trap *t, const ZydisDecodedOperand *o,
			      uint64_t *out)
{
	uint64_t a = o->mem.disp.has_displacement ? (uint64_t)o->mem.disp.value : 0, seg;
	struct gpr g;

	if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
		a += t->rip + t->in.length;
	} else if (o->mem.base != ZYDIS_REGISTER_NONE) {
		if (!gpr(t, o->mem.base, &g))
			return false;
		a += gpr_get(&g);
	}
	if (o->mem.index != ZYDIS_REGISTER_NONE) {
		if (!gpr(t, o->mem.index, &g))	/* e.g. a vector index (VSIB) */
			return false;
		a += gpr_get(&g) * o->mem.scale;
	}
	if (t->in.address_width == 32)
		a = (uint32_t)a;
	if (!segment_base(o->mem.segment, &seg))
		return false;
	*out = a + seg;
	return true;
}

static const ZydisDecodedOperand *memory_operand(const struct trap *t)
{
	for (unsigned i = 0; i < t->in.operand_count_visible; i++)
		if (t->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    t->op[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			return &t->op[i];
	return NULL;
}

/* ---- the accesses ---- */

static uint64_t mmio_load(const struct trap *t, uint64_t addr, unsigned size)
{
	uint64_t v;

	if (ddekit_mmio_read((const volatile void *)addr, size, &v))
		trap_panic(t, "MMIO read of %u byte(s) at %p failed: %s", size, (void *)addr,
			   ddekit_last_error());
	return v;
}

static void mmio_store(const struct trap *t, uint64_t addr, unsigned size, uint64_t v)
{
	if (ddekit_mmio_write((volatile void *)addr, size, v & width_mask(size * 8)))
		trap_panic(t, "MMIO write of %u byte(s) at %p failed: %s", size, (void *)addr,
			   ddekit_last_error());
}

/* String instructions may move between a BAR and ordinary memory. */
static bool in_bar(const struct trap *t, uint64_t addr, unsigned size)
{
	if (ddekit_mmio_contains(addr, size))
		return true;
	if (ddekit_mmio_contains(addr, 1) || ddekit_mmio_contains(addr + size - 1, 1))
		trap_panic(t, "%u-byte access at %p crosses the end of a mapped BAR", size,
			   (void *)addr);
	return false;
}

static uint64_t any_load(const struct trap *t, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	if (in_bar(t, addr, size))
		return mmio_load(t, addr, size);
	memcpy(&v, (const void *)addr, size);
	return v;
}

static void any_store(const struct trap *t, uint64_t addr, unsigned size, uint64_t v)
{
	if (in_bar(t, addr, size))
		mmio_store(t, addr, size, v);
	else
		memcpy((void *)addr, &v, size);
}

static bool port_granted(uint16_t port, unsigned size, char *list, size_t cap)
{
	const struct ddeio_grant *g = ddeio_grant();
	size_t len = 0;

	if (list && cap)
		list[0] = 0;
	for (unsigned i = 0; g && i < g->ndev; i++) {
		for (unsigned b = 0; b < 6 + DDEIO_LEGACY_RES; b++) {
			const struct ddeio_res *r = b < 6 ? &g->dev[i].bar[b]
							  : &g->dev[i].legacy[b - 6];

			if (r->kind != DDEIO_RES_IO || !r->size)
				continue;
			if (port >= r->start && port + size <= r->start + r->size)
				return true;
			if (list && len < cap) {
				int n = snprintf(list + len, cap - len, "%s0x%llx-0x%llx",
						 len ? ", " : "", (unsigned long long)r->start,
						 (unsigned long long)(r->start + r->size - 1));

				len += n > 0 ? (size_t)n : 0;
			}
		}
	}
	return false;
}

static void check_port(const struct trap *t, uint16_t port, unsigned size)
{
	char list[256];

	if (!port_granted(port, size, list, sizeof(list)))
		trap_panic(t, "I/O port 0x%x (%u byte(s)) is not in this driver's grant "
			   "(granted ports: %s)", port, size, list[0] ? list : "none");
}

static uint32_t port_in(const struct trap *t, uint16_t port, unsigned size)
{
	uint32_t v;

	check_port(t, port, size);
	if (ddekit_pio_read(port, size, &v))
		trap_panic(t, "reading I/O port 0x%x failed: %s", port, ddekit_last_error());
	return v;
}

static void port_out(const struct trap *t, uint16_t port, unsigned size, uint32_t v)
{
	check_port(t, port, size);
	if (ddekit_pio_write(port, size, v & (uint32_t)width_mask(size * 8)))
		trap_panic(t, "writing I/O port 0x%x failed: %s", port, ddekit_last_error());
}

/* ---- emulation ---- */

enum string_kind { STR_NONE, STR_MOVS, STR_STOS, STR_LODS, STR_INS, STR_OUTS };

static enum string_kind string_kind(const ZydisDecodedInstruction *in, unsigned *size)
{
	if (in->meta.category != ZYDIS_CATEGORY_STRINGOP &&
	    in->meta.category != ZYDIS_CATEGORY_IOSTRINGOP)
		return STR_NONE;	/* e.g. SSE movsd, same mnemonic */
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVSB: *size = 1; return STR_MOVS;
	case ZYDIS_MNEMONIC_MOVSW: *size = 2; return STR_MOVS;
	case ZYDIS_MNEMONIC_MOVSD: *size = 4; return STR_MOVS;
	case ZYDIS_MNEMONIC_MOVSQ: *size = 8; return STR_MOVS;
	case ZYDIS_MNEMONIC_STOSB: *size = 1; return STR_STOS;
	case ZYDIS_MNEMONIC_STOSW: *size = 2; return STR_STOS;
	case ZYDIS_MNEMONIC_STOSD: *size = 4; return STR_STOS;
	case ZYDIS_MNEMONIC_STOSQ: *size = 8; return STR_STOS;
	case ZYDIS_MNEMONIC_LODSB: *size = 1; return STR_LODS;
	case ZYDIS_MNEMONIC_LODSW: *size = 2; return STR_LODS;
	case ZYDIS_MNEMONIC_LODSD: *size = 4; return STR_LODS;
	case ZYDIS_MNEMONIC_LODSQ: *size = 8; return STR_LODS;
	case ZYDIS_MNEMONIC_INSB: *size = 1; return STR_INS;
	case ZYDIS_MNEMONIC_INSW: *size = 2; return STR_INS;
	case ZYDIS_MNEMONIC_INSD: *size = 4; return STR_INS;
	case ZYDIS_MNEMONIC_OUTSB: *size = 1; return STR_OUTS;
	case ZYDIS_MNEMONIC_OUTSW: *size = 2; return STR_OUTS;
	case ZYDIS_MNEMONIC_OUTSD: *size = 4; return STR_OUTS;
	default: return STR_NONE;	/* cmps, scas: not emulated */
	}
}

/*
 * rep ins/outs forward through plain memory: one string request to the I/O
 * server per 4 KiB. Returns false when the element loop must do it (the
 * direction flag set, or the buffer in a BAR).
 */
static bool port_string(const struct trap *t, enum string_kind kind, uint16_t port,
			unsigned size, uint64_t addr, uint64_t count)
{
	uint64_t bytes = count * size;

	if ((t->gr[REG_EFL] & EFLAGS_DF) || bytes / size != count || addr + bytes < addr ||
	    ddekit_mmio_contains((uintptr_t)addr, (size_t)bytes))
		return false;
	check_port(t, port, size);
	if (kind == STR_INS ? ddekit_pio_read_rep(port, size, (void *)(uintptr_t)addr, count)
			    : ddekit_pio_write_rep(port, size, (const void *)(uintptr_t)addr, count))
		trap_panic(t, "%s I/O port 0x%x (%llu x %u bytes) failed: %s",
			   kind == STR_INS ? "reading" : "writing", port,
			   (unsigned long long)count, size, ddekit_last_error());
	return true;
}

/*
 * movs/stos/lods/ins/outs, with or without rep: the whole count at once,
 * element by element (each MMIO or port read is a round trip; writes are
 * posted), except rep ins/outs on plain memory (port_string). rsi/rdi/rcx
 * end as the CPU would leave them.
 */
static void emulate_string(struct trap *t, enum string_kind kind, unsigned size)
{
	bool rep = t->in.attributes & ZYDIS_ATTRIB_HAS_REP;
	uint64_t amask = t->in.address_width == 32 ? 0xffffffffull : ~0ull;
	uint64_t *rsi = (uint64_t *)&t->gr[REG_RSI], *rdi = (uint64_t *)&t->gr[REG_RDI];
	uint64_t *rcx = (uint64_t *)&t->gr[REG_RCX], *rax = (uint64_t *)&t->gr[REG_RAX];
	uint16_t port = (uint16_t)t->gr[REG_RDX];
	uint64_t count = rep ? *rcx & amask : 1, src_seg = 0;
	uint64_t step = (t->gr[REG_EFL] & EFLAGS_DF) ? -(uint64_t)size : size;
	struct gpr acc = { rax, size * 8, 0 };

	/* the source (rsi) may have a segment override; es:rdi may not */
	for (unsigned i = 0; i < t->in.operand_count; i++) {
		const ZydisDecodedOperand *o = &t->op[i];

		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (o->mem.base == ZYDIS_REGISTER_RSI || o->mem.base == ZYDIS_REGISTER_ESI) &&
		    !segment_base(o->mem.segment, &src_seg))
			trap_panic(t, "cannot read the segment base");
	}
	if (rep && count && (kind == STR_INS || kind == STR_OUTS) &&
	    port_string(t, kind, port, size,
			kind == STR_INS ? (*rdi & amask) : src_seg + (*rsi & amask), count)) {
		if (kind == STR_INS)
			*rdi = (*rdi + count * size) & amask;
		else
			*rsi = (*rsi + count * size) & amask;
		*rcx = (*rcx - count) & amask;
		return;
	}
	for (; count; count--) {
		uint64_t src = src_seg + (*rsi & amask), dst = *rdi & amask;

		switch (kind) {
		case STR_MOVS:
			any_store(t, dst, size, any_load(t, src, size));
			break;
		case STR_STOS:
			any_store(t, dst, size, gpr_get(&acc));
			break;
		case STR_LODS:
			gpr_set(&acc, any_load(t, src, size));
			break;
		case STR_INS:
			any_store(t, dst, size, port_in(t, port, size));
			break;
		case STR_OUTS:
			port_out(t, port, size, (uint32_t)any_load(t, src, size));
			break;
		case STR_NONE:
			break;
		}
		if (kind == STR_MOVS || kind == STR_LODS || kind == STR_OUTS)
			*rsi = (*rsi + step) & amask;
		if (kind == STR_MOVS || kind == STR_STOS || kind == STR_INS)
			*rdi = (*rdi + step) & amask;
		if (rep)
			*rcx = (*rcx - 1) & amask;
	}
}

static void emulate_mmio(struct trap *t, uintptr_t fault)
{
	const ZydisDecodedOperand *m, *dst = &t->op[0], *src = &t->op[1];
	enum string_kind kind;
	unsigned size = 0;
	uint64_t ea, v;
	struct gpr g;

	kind = string_kind(&t->in, &size);
	if (kind == STR_MOVS || kind == STR_STOS || kind == STR_LODS) {
		emulate_string(t, kind, size);
		return;
	}
	m = memory_operand(t);
	if (!m || !effective_address(t, m, &ea))
		trap_panic(t, "instruction not emulated on MMIO address %p", (void *)fault);
	size = m->size / 8;
	if (!ddekit_mmio_contains(ea, size))
		trap_panic(t, "%u-byte access at %p is not inside one mapped BAR", size, (void *)ea);
	switch (t->in.mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_MOVNTI:
		if (m == dst) {
			if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
				v = src->imm.value.u;	/* already sign-extended */
			else if (src->type == ZYDIS_OPERAND_TYPE_REGISTER && gpr(t, src->reg.value, &g))
				v = gpr_get(&g);
			else
				break;
			mmio_store(t, ea, size, v);
			return;
		}
		if (dst->type != ZYDIS_OPERAND_TYPE_REGISTER || !gpr(t, dst->reg.value, &g))
			break;
		gpr_set(&g, mmio_load(t, ea, size));
		return;
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		if (m != src || dst->type != ZYDIS_OPERAND_TYPE_REGISTER || !gpr(t, dst->reg.value, &g))
			break;
		v = mmio_load(t, ea, size);
		if (t->in.mnemonic != ZYDIS_MNEMONIC_MOVZX)
			v = sign_extend(v, size * 8);
		gpr_set(&g, v);
		return;
	default:
		break;
	}
	trap_panic(t, "instruction not emulated on MMIO address %p (the trap engine does "
		   "mov, movzx, movsx, movsxd, movnti, movs, stos, lods)", (void *)ea);
}

/* in/out/ins/outs; false if the instruction is none of them */
static bool emulate_port(struct trap *t)
{
	const ZydisDecodedOperand *a = &t->op[0], *b = &t->op[1];
	enum string_kind kind;
	unsigned size = 0;
	struct gpr g;
	uint16_t port;

	switch (t->in.mnemonic) {
	case ZYDIS_MNEMONIC_IN:		/* in acc, imm8|dx */
		port = b->type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? (uint16_t)b->imm.value.u
							       : (uint16_t)t->gr[REG_RDX];
		if (!gpr(t, a->reg.value, &g))
			return false;
		gpr_set(&g, port_in(t, port, g.bits / 8));
		return true;
	case ZYDIS_MNEMONIC_OUT:	/* out imm8|dx, acc */
		port = a->type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? (uint16_t)a->imm.value.u
							       : (uint16_t)t->gr[REG_RDX];
		if (!gpr(t, b->reg.value, &g))
			return false;
		port_out(t, port, g.bits / 8, (uint32_t)gpr_get(&g));
		return true;
	default:
		kind = string_kind(&t->in, &size);
		if (kind != STR_INS && kind != STR_OUTS)
			return false;
		emulate_string(t, kind, size);
		return true;
	}
}

/* ---- the handler ---- */

/* Not ours: what would have happened without us. */
static void chain(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction dfl;

	if (!chaining) {
		chaining = true;	/* a previous handler that chains back to us ends here */
		if (ddekit_signal_chain(&previous, sig, si, ctx)) {
			chaining = false;
			return;
		}
		chaining = false;
		if (previous.sa_handler == SIG_IGN && si->si_code <= 0)
			return;		/* an ignored SIGSEGV sent by kill() */
	}
	/*
	 * The default action: put it back and return. A fault recurs at once
	 * (core dump and gdb at the faulting instruction); a signal sent by
	 * kill() would not, so send it again (it waits until we return).
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

/* instructions emulated so far (ddekit_trap_counts; SIGUSR1 prints them) */
static volatile unsigned long mmio_traps, port_traps;

void ddekit_trap_counts(unsigned long *mmio, unsigned long *port)
{
	*mmio = mmio_traps;
	*port = port_traps;
}

static void on_usr1(int sig)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "trap engine: %lu MMIO and %lu port I/O "
			 "instructions emulated\n", mmio_traps, port_traps);

	(void)sig;
	if (n > 0 && write(2, line, (size_t)n) < 0)
		return;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	int saved_errno = errno;
	struct trap t;
	bool done = false;

	t.gr = uc->uc_mcontext.gregs;
	t.rip = (uint64_t)t.gr[REG_RIP];
	t.decoded = false;
	if (si->si_code == SEGV_ACCERR || si->si_code == SEGV_MAPERR) {
		/* a load or store in a BAR (not a jump into one) */
		if (ddekit_mmio_contains((uintptr_t)si->si_addr, 1) &&
		    !ddekit_mmio_contains(t.rip, 1)) {
			if (!decode(&t))
				trap_panic(&t, "cannot decode the instruction that touched MMIO "
					   "address %p", si->si_addr);
			emulate_mmio(&t, (uintptr_t)si->si_addr);
			mmio_traps++;
			done = true;
		}
	} else if (si->si_code == SI_KERNEL) {
		/* general protection: in/out/ins/outs, or a real fault */
		done = decode(&t) && emulate_port(&t);
		port_traps += done;
	}
	if (done)
		t.gr[REG_RIP] = (greg_t)(t.rip + t.in.length);
	errno = saved_errno;
	if (!done)
		chain(sig, si, ctx);
}

void ddekit_trap_install(void)
{
	struct sigaction sa, cur;

	pthread_mutex_lock(&install_lock);
	if (!decoder_ready)
		decoder_ready = ZYAN_SUCCESS(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64,
							      ZYDIS_STACK_WIDTH_64));
	if (!decoder_ready) {
		ddekit_log(DDEKIT_LOG_WARN, "trap engine: the Zydis decoder does not initialise; "
			   "plain MMIO and port instructions will crash the driver");
		goto out;
	}
	if (sigaction(SIGSEGV, NULL, &cur) ||
	    ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv))
		goto out;	/* already ours (also after fork) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	/* on the alternate stack where the thread has one, as a sanitizer's
	 * handler would run, so stack overflows still reach it */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	previous = cur;
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGSEGV, NULL, &cur) ||
	    !(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_segv)
		ddekit_log(DDEKIT_LOG_WARN, "trap engine: the SIGSEGV handler was not installed "
			   "(refused by a sanitizer? ASAN_OPTIONS=allow_user_segv_handler=1); plain "
			   "MMIO and port instructions will crash the driver");
	else
		ddekit_log(DDEKIT_LOG_DEBUG, "trap engine: SIGSEGV handler installed");
	/* `kill -USR1 PID` prints the counts (benchmarks, debugging) */
	if (sigaction(SIGUSR1, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
out:
	pthread_mutex_unlock(&install_lock);
}
