/*
 * The one emulated CPU and the machine around it as Linux code sees them:
 * CPU and node masks, per-CPU offsets, the paravirt operations (the
 * interrupt flag), RCU read sections, randomness, taint and stack dumps.
 */
#include <linux/cc_platform.h>
#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/nodemask.h>
#include <linux/panic.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/sched/isolation.h>
#include <linux/smp.h>
#include <asm/paravirt_types.h>
#include <asm/sections.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

/* --- one CPU, one node --- */

unsigned int nr_cpu_ids = 1;
/* the one CPU's per-cpu area: its GS base (lx_emul_cpu_init) */
unsigned long __per_cpu_offset[NR_CPUS];
struct cpumask __cpu_online_mask = { CPU_BITS_CPU0 };
struct cpumask __cpu_possible_mask = { CPU_BITS_CPU0 };
struct cpumask __cpu_present_mask = { CPU_BITS_CPU0 };
struct cpumask __cpu_active_mask = { CPU_BITS_CPU0 };
atomic_t __num_online_cpus = ATOMIC_INIT(1);
/* the CPU's topology: it is its own sibling, its node's only CPU */
DEFINE_PER_CPU_READ_MOSTLY(cpumask_var_t, cpu_sibling_map);
cpumask_var_t node_to_cpumask_map[MAX_NUMNODES];
nodemask_t node_states[NR_NODE_STATES] = {
	[N_POSSIBLE] = { { 1 } }, [N_ONLINE] = { { 1 } }, [N_NORMAL_MEMORY] = { { 1 } },
	[N_MEMORY] = { { 1 } }, [N_CPU] = { { 1 } },
};
DEFINE_PER_CPU(int, numa_node);
/* the host CPU as CPUID describes it (cpu_init), as Linux's early setup fills it */
struct cpuinfo_x86 boot_cpu_data;
/* and as the one CPU's own data (cpu_data(0): gameport's speed measurement) */
DEFINE_PER_CPU_READ_MOSTLY(struct cpuinfo_x86, cpu_info);

static void cpuinfo_init(void)
{
	struct cpuinfo_x86 *c = &boot_cpu_data;
	unsigned a, b, cx, d;

	a = 0; cx = 0;
	native_cpuid(&a, &b, &cx, &d);
	c->cpuid_level = a;
	memcpy(c->x86_vendor_id, &b, 4);
	memcpy(c->x86_vendor_id + 4, &d, 4);
	memcpy(c->x86_vendor_id + 8, &cx, 4);
	a = 1; cx = 0;
	native_cpuid(&a, &b, &cx, &d);
	c->x86 = (a >> 8) & 0xf;
	c->x86_model = (a >> 4) & 0xf;
	if (c->x86 == 0xf)
		c->x86 += (a >> 20) & 0xff;
	if (c->x86 >= 0x6)
		c->x86_model += ((a >> 16) & 0xf) << 4;
	c->x86_stepping = a & 0xf;
	c->x86_capability[CPUID_1_EDX] = d;
	c->x86_capability[CPUID_1_ECX] = cx;
	c->x86_clflush_size = ((b >> 8) & 0xff) * 8 ?: 64;
	c->x86_cache_alignment = c->x86_clflush_size;
	c->x86_max_cores = 1;
	a = 0x80000000;
	native_cpuid(&a, &b, &cx, &d);
	if (a >= 0x80000008) {
		a = 0x80000008;
		native_cpuid(&a, &b, &cx, &d);
		c->x86_phys_bits = a & 0xff;
		c->x86_virt_bits = (a >> 8) & 0xff;
	} else {
		c->x86_phys_bits = 36;	/* Linux's default without the leaf */
		c->x86_virt_bits = 48;
	}
}

/*
 * Paravirt operations (Debian's kernel is built for Xen PV too, so
 * local_irq_save() and friends call through pv_ops rather than executing
 * pushf/cli/sti, which user space could not). The interrupt flag is
 * virtual here: handlers never interrupt a task anyway, but irqs_disabled()
 * answers what the code asked for. The callee-save entries are assembly
 * (dde_linux/lx_emul/static_call.S); every other operation stops loudly.
 */
struct paravirt_patch_template pv_ops;
unsigned long lx_emul_irq_flags = X86_EFLAGS_IF;

extern void lx_pv_save_fl(void), lx_pv_irq_disable(void), lx_pv_irq_enable(void);
extern void lx_pv_unemulated(void);

void lx_emul_pv_unemulated(void)
{
	panic("lx_emul: a paravirt operation without emulation was called");
}

void lx_emul_cpu_init(void)
{
	void **op = (void **)&pv_ops;
	unsigned long base;

	/*
	 * Per-cpu data as x86-64 Linux has it: %gs:VAR is this CPU's VAR,
	 * this_cpu_off and __per_cpu_offset[0] the GS base, the stack
	 * canary of binary modules' code at %gs:40 (lx_kit_cpu_area).
	 */
	base = lx_kit_cpu_area(__per_cpu_start, __per_cpu_end - __per_cpu_start);
	__per_cpu_offset[0] = base;
	this_cpu_write(this_cpu_off, base);
	this_cpu_write(cpu_number, 0);
	this_cpu_write(cpu_sibling_map, &__cpu_possible_mask);
	cpuinfo_init();
	*this_cpu_ptr(&cpu_info) = boot_cpu_data;
	node_to_cpumask_map[0] = &__cpu_possible_mask;

	for (size_t i = 0; i < sizeof(pv_ops) / sizeof(void *); i++)
		op[i] = lx_pv_unemulated;
	pv_ops.irq.save_fl.func = lx_pv_save_fl;
	pv_ops.irq.irq_disable.func = lx_pv_irq_disable;
	pv_ops.irq.irq_enable.func = lx_pv_irq_enable;
}

/* --- RCU: readers never sleep and there is one CPU; a grace period is the
 * next pass of the scheduler loop (lx_emul_rcu_run). --- */

void __rcu_read_lock(void)
{
	current->rcu_read_lock_nesting++;
}

void __rcu_read_unlock(void)
{
	current->rcu_read_lock_nesting--;
}

static struct rcu_head *rcu_pending;

void call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	head->func = func;
	head->next = rcu_pending;
	rcu_pending = head;
}

void kvfree_call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	/* func is the offset of head in the object (kvfree_rcu) */
	if (!head) {	/* kvfree_rcu_mightsleep(ptr): ptr is in func */
		might_sleep();
		kvfree((void *)func);
		return;
	}
	head->func = func;
	head->next = rcu_pending;
	rcu_pending = head;
}

void synchronize_rcu(void)
{
	might_sleep();
}

void rcu_barrier(void)
{
	lx_emul_rcu_run();
}

void lx_emul_rcu_run(void)
{
	while (rcu_pending) {
		struct rcu_head *h = rcu_pending;

		rcu_pending = NULL;
		while (h) {
			struct rcu_head *next = h->next;
			unsigned long off = (unsigned long)h->func;

			if (off < 4096)
				kvfree((char *)h - off);
			else
				h->func(h);
			h = next;
		}
	}
}

/* --- randomness from the host --- */

void get_random_bytes(void *buf, size_t len)
{
	lx_kit_random(buf, len);
}

bool rng_is_initialized(void)
{
	return true;
}

#define GET_RANDOM(type, name)				\
	type name(void)					\
	{						\
		type v;					\
							\
		lx_kit_random(&v, sizeof(v));		\
		return v;				\
	}
GET_RANDOM(u64, get_random_u64)
GET_RANDOM(u32, get_random_u32)
GET_RANDOM(u16, get_random_u16)
GET_RANDOM(u8, get_random_u8)

u32 __get_random_u32_below(u32 ceil)
{
	/* Lemire's multiply-shift, rejecting the biased low range */
	u64 m = (u64)get_random_u32() * ceil;

	if (unlikely((u32)m < ceil)) {
		u32 bound = -ceil % ceil;

		while ((u32)m < bound)
			m = (u64)get_random_u32() * ceil;
	}
	return m >> 32;
}

/* --- the platform --- */

bool cc_platform_has(enum cc_attr attr)
{
	return false;	/* no confidential computing */
}

unsigned long tainted_mask;

void add_taint(unsigned flag, enum lockdep_ok lockdep_ok)
{
	if (!test_and_set_bit(flag, &tainted_mask))
		pr_warn("lx_emul: kernel tainted (flag %u)\n", flag);
}

asmlinkage __visible void dump_stack(void)
{
	lx_kit_backtrace();
}

asmlinkage __visible void dump_stack_lvl(const char *log_lvl)
{
	lx_kit_backtrace();
}

/* --- the one CPU's place in the topology --- */

bool housekeeping_test_cpu(int cpu, enum hk_type type)
{
	return true;	/* no CPU is isolated */
}

bool cpus_share_cache(int this_cpu, int that_cpu)
{
	return true;
}

int __node_distance(int from, int to)
{
	return LOCAL_DISTANCE;
}

/* A function call on "another" CPU is one on this one, as Linux does for itself. */
int smp_call_function_single_async(int cpu, struct __call_single_data *csd)
{
	unsigned long flags;

	local_irq_save(flags);
	csd->func(csd->info);
	local_irq_restore(flags);
	return 0;
}

