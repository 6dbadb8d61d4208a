/*
 * lx_kit: the host side of dde_linux (see dde_linux/include/lx_kit/kit.h):
 * the cooperative scheduler of the Linux CPU, and Linux's reach into ddekit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <sys/random.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <sys/syscall.h>

#include <ddekit/ddekit.h>
#include <lx_kit/kit.h>

/*
 * Under AddressSanitizer every switch between the loop and a task says
 * which stack it goes to, or ASan takes a task's stack for a wild part of
 * the thread's and reports nonsense (or ignores real errors).
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define fiber_start(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define fiber_finish(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define fiber_start(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define fiber_finish(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#define STACK_SIZE (256 * 1024)

struct lx_kit_task {
	ucontext_t ctx;
	void (*fn)(void *);
	void *arg, *data;
	char name[32];
	void *stack;
	int runnable, woken, dead;
	struct lx_kit_task *next;	/* all tasks */
};

/* An interrupt handed from its ddekit thread to the Linux CPU. */
struct irq_event {
	void (*fn)(void *);
	void *arg;
	struct ddekit_sem *done;
	struct irq_event *next;
	int pending;
};

static struct {
	ucontext_t loop;		/* the scheduler context */
	struct lx_kit_task *tasks, *running;
	void **current;
	void *idle;
	pthread_mutex_t lock;		/* events from other threads */
	pthread_cond_t wake;
	struct irq_event *events;
	int kicked, stop, status;
	const void *loop_stack;		/* the loop's stack, for ASan */
	size_t loop_stack_size;
} kit = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct irq_event irq_line[256];

void lx_kit_log(int level, const char *text)
{
	static const enum ddekit_log_level map[8] = {
		DDEKIT_LOG_ERROR, DDEKIT_LOG_ERROR, DDEKIT_LOG_ERROR, DDEKIT_LOG_ERROR,
		DDEKIT_LOG_WARN, DDEKIT_LOG_INFO, DDEKIT_LOG_INFO, DDEKIT_LOG_DEBUG,
	};

	ddekit_log(map[level & 7], "%s", text);
}

void lx_kit_panic(const char *text)
{
	ddekit_panic("%s", text);
}

void lx_kit_backtrace(void)
{
	void *frames[32];
	int n = backtrace(frames, 32);

	backtrace_symbols_fd(frames, n, 2);
}

void lx_kit_random(void *buf, unsigned long len)
{
	char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			lx_kit_panic("lx_kit: getrandom failed");
		}
		p += n;
		len -= (unsigned long)n;
	}
}

/*
 * The per-cpu area (see kit.h). B is the start of a reservation as large as
 * the image up to the per-cpu data's end; only its first page (the stack
 * canary at B + 40) and the copy at B + start are accessible.
 */
unsigned long lx_kit_cpu_area(void *start, unsigned long size)
{
	const uintptr_t page = 4096, s = (uintptr_t)start, e = s + size;
	const uintptr_t lo = s & ~(page - 1), hi = (e + page - 1) & ~(page - 1);
	uint8_t *b;

	b = mmap(NULL, hi, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b == MAP_FAILED || mprotect(b, page, PROT_READ | PROT_WRITE) ||
	    mprotect(b + lo, hi - lo, PROT_READ | PROT_WRITE))
		lx_kit_panic("lx_kit: cannot map the per-cpu area");
	memcpy(b + s, start, size);
	lx_kit_random(b + 40, 8);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)b))
		lx_kit_panic("lx_kit: cannot set the GS base");
#if !defined(__SANITIZE_ADDRESS__)
	/*
	 * A use of the linked copy (not through %gs or this_cpu_ptr) would
	 * silently see stale data: make it fault. (Not under ASan, whose leak
	 * check reads every global at exit; lx.ld page-aligns the section.)
	 */
	if ((s & (page - 1)) == 0 && mprotect(start, hi - lo, PROT_NONE))
		lx_kit_panic("lx_kit: cannot protect the linked per-cpu data");
#endif
	return (unsigned long)b;
}

unsigned long long lx_kit_clock_ns(void)
{
	return ddekit_clock_ns();
}

unsigned long long lx_kit_clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

void lx_kit_busy_wait_ns(unsigned long long ns)
{
	unsigned long long end = ddekit_clock_ns() + ns;

	while (ddekit_clock_ns() < end)
		__builtin_ia32_pause();
}

/* ---- jiffies ---- */

static struct {
	volatile unsigned long *jiffies;
	unsigned long initial;
	unsigned long long start, tick_ns;
} jif;

static unsigned long jiffies_now(void)
{
	return jif.initial + (unsigned long)((ddekit_clock_ns() - jif.start) / jif.tick_ns);
}

static void jiffies_thread(void *arg)
{
	(void)arg;
	for (;;) {
		*jif.jiffies = jiffies_now();
		ddekit_thread_sleep_us(jif.tick_ns / 1000);
	}
}

void lx_kit_jiffies_start(volatile unsigned long *jiffies, unsigned long initial, unsigned hz)
{
	jif.jiffies = jiffies;
	jif.initial = initial;
	jif.start = ddekit_clock_ns();
	jif.tick_ns = 1000000000ull / hz;
	*jiffies = initial;
	if (!ddekit_thread_create("lx-jiffies", jiffies_thread, NULL))
		lx_kit_panic("lx_kit: cannot start the jiffies thread");
}

/* ---- memory ---- */

void lx_kit_dma_region(void **virt, unsigned long long *bus, unsigned long *size)
{
	uint64_t b;
	size_t s;

	ddekit_dma_region(virt, &b, &s);
	*bus = b;
	*size = s;
}

void *lx_kit_dma_alloc(unsigned long size, unsigned long align)
{
	uint64_t bus;

	return ddekit_dma_alloc(size, align, &bus);
}

void lx_kit_dma_usage_text(char *buf, unsigned long cap)
{
	size_t used, blocks, size;

	ddekit_dma_usage(&used, &blocks, &size);
	snprintf(buf, cap, "dma: %zu bytes in use in %zu blocks (of %zu)", used, blocks, size);
}

void lx_kit_dma_free(void *ptr)
{
	ddekit_dma_free(ptr);
}

/* ---- devices ---- */

unsigned lx_kit_pci_count(void)
{
	return ddekit_pci_count();
}

int lx_kit_pci_get(unsigned index, struct lx_kit_pci_dev *out)
{
	const struct ddekit_pci_dev *d = ddekit_pci_device(index);

	if (!d)
		return -ENODEV;
	*out = (struct lx_kit_pci_dev){
		.bus = d->bus, .slot = d->slot, .func = d->func,
		.vendor = d->vendor, .device = d->device,
		.subsystem_vendor = d->subsystem_vendor, .subsystem_device = d->subsystem_device,
		.class_code = d->class_code, .revision = d->revision,
		.irq_pin = d->irq_pin, .irq = d->irq,
	};
	for (unsigned i = 0; i < 6; i++)
		out->bar[i] = (struct lx_kit_pci_bar){ (int)d->bar[i].kind, d->bar[i].prefetchable,
						       d->bar[i].addr, d->bar[i].size };
	return 0;
}

int lx_kit_pci_config_read(unsigned index, unsigned offset, unsigned size, unsigned *value)
{
	uint32_t v = 0;
	int r = ddekit_pci_config_read(index, offset, size, &v);

	*value = v;
	return r;
}

int lx_kit_pci_msi_enable(unsigned index, enum lx_kit_msi kind, unsigned min, unsigned max,
			  unsigned *first)
{
	return ddekit_pci_msi_enable(index, kind == LX_KIT_MSIX ? DDEKIT_MSI_MSIX : DDEKIT_MSI_MSI,
				     min, max, first, NULL);
}

int lx_kit_pci_msi_disable(unsigned index)
{
	return ddekit_pci_msi_disable(index);
}

int lx_kit_pci_config_write(unsigned index, unsigned offset, unsigned size, unsigned value)
{
	return ddekit_pci_config_write(index, offset, size, value);
}

void *lx_kit_mmio_map(unsigned index, unsigned bar, unsigned long *size)
{
	size_t s = 0;
	void *p = ddekit_mmio_map(index, bar, &s);

	*size = s;
	return p;
}

/*
 * Linux's readl, outw and the like (lx_emul/io.c, by way of the shadow
 * asm/io.h): ddekit's accessors called directly, without the trap engine's
 * fault and decoding. A failed access stops the driver loudly, naming where
 * it was made, as a trapped one does.
 */
static void __attribute__((noreturn)) io_failed(const char *what, unsigned size,
						 unsigned long long where, const void *caller)
{
	char text[512], from[160] = "";
	Dl_info dl;

	if (dladdr(caller, &dl) && dl.dli_fname)
		snprintf(from, sizeof(from), " (called from %s+0x%lx in %s)",
			 dl.dli_sname ? dl.dli_sname : "?",
			 (unsigned long)((uintptr_t)caller -
					 (uintptr_t)(dl.dli_saddr ? dl.dli_saddr : dl.dli_fbase)),
			 dl.dli_fname);
	snprintf(text, sizeof(text), "%s of %u byte(s) at 0x%llx%s failed: %s", what, size, where,
		 from, ddekit_last_error());
	lx_kit_panic(text);
}

unsigned long long lx_kit_mmio_load(const volatile void *addr, unsigned size, const void *caller)
{
	uint64_t v = 0;

	if (!ddekit_mmio_contains((uintptr_t)addr, size)) {
		/* not a BAR: ordinary memory some driver reads with readl */
		memcpy(&v, (const void *)addr, size);
		return v;
	}
	if (ddekit_mmio_read(addr, size, &v))
		io_failed("MMIO read", size, (uintptr_t)addr, caller);
	return v;
}

void lx_kit_mmio_store(volatile void *addr, unsigned size, unsigned long long value,
		       const void *caller)
{
	if (!ddekit_mmio_contains((uintptr_t)addr, size))
		memcpy((void *)addr, &value, size);
	else if (ddekit_mmio_write(addr, size, value))
		io_failed("MMIO write", size, (uintptr_t)addr, caller);
}

unsigned lx_kit_pio_in(unsigned port, unsigned size, const void *caller)
{
	uint32_t v = 0;

	if (ddekit_pio_read((uint16_t)port, size, &v))
		io_failed("reading I/O port", size, port, caller);
	return v;
}

void lx_kit_pio_out(unsigned port, unsigned size, unsigned value, const void *caller)
{
	if (ddekit_pio_write((uint16_t)port, size, value))
		io_failed("writing I/O port", size, port, caller);
}

void lx_kit_pio_rep(unsigned port, unsigned size, void *buf, unsigned long count, int out,
		    const void *caller)
{
	if (out ? ddekit_pio_write_rep((uint16_t)port, size, buf, count)
		: ddekit_pio_read_rep((uint16_t)port, size, buf, count))
		io_failed(out ? "writing I/O port (string)" : "reading I/O port (string)", size,
			  port, caller);
}

/* ---- interrupts: from the ddekit line thread to the Linux CPU ---- */

static void post_event(struct irq_event *e)
{
	pthread_mutex_lock(&kit.lock);
	if (!e->pending) {
		e->pending = 1;
		e->next = kit.events;
		kit.events = e;
	}
	pthread_cond_signal(&kit.wake);
	pthread_mutex_unlock(&kit.lock);
}

static void irq_from_ddekit(void *arg)
{
	struct irq_event *e = arg;

	post_event(e);
	/* Acknowledge (unmask) only after Linux's handler has run. */
	ddekit_sem_down(e->done, 0);
}

struct lx_kit_event *lx_kit_event_create(void (*fn)(void *arg), void *arg)
{
	struct irq_event *e = calloc(1, sizeof(*e));

	if (e) {
		e->fn = fn;
		e->arg = arg;
	}
	return (struct lx_kit_event *)e;
}

void lx_kit_event_raise(struct lx_kit_event *ev)
{
	post_event((struct irq_event *)ev);
}

int lx_kit_irq_attach(unsigned irq, void (*fn)(void *arg), void *arg)
{
	struct irq_event *e;

	if (irq >= 256)
		return -EINVAL;
	e = &irq_line[irq];
	if (!e->done && !(e->done = ddekit_sem_create(0)))
		return -ENOMEM;
	e->fn = fn;
	e->arg = arg;
	return ddekit_irq_attach(irq, irq_from_ddekit, e);
}

int lx_kit_irq_detach(unsigned irq)
{
	return irq < 256 ? ddekit_irq_detach(irq) : -EINVAL;
}

int lx_kit_irq_mask(unsigned irq)
{
	return ddekit_irq_mask(irq);
}

int lx_kit_irq_unmask(unsigned irq)
{
	return ddekit_irq_unmask(irq);
}

/* ---- tasks ---- */

static void task_entry(void)
{
	struct lx_kit_task *t = kit.running;

	fiber_finish(NULL, &kit.loop_stack, &kit.loop_stack_size);
	t->fn(t->arg);
	lx_kit_task_exit();
}

/* (a function of its own: getcontext "returns twice" for the compiler) */
static void init_context(ucontext_t *ctx, void *stack)
{
	getcontext(ctx);
	ctx->uc_stack.ss_sp = (char *)stack + 4096;
	ctx->uc_stack.ss_size = STACK_SIZE;
	ctx->uc_link = NULL;
	makecontext(ctx, task_entry, 0);
}

struct lx_kit_task *lx_kit_task_create(void (*fn)(void *arg), void *arg, void *data,
				       const char *name)
{
	struct lx_kit_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	/* a guard page below the stack catches overflows */
	t->stack = mmap(NULL, STACK_SIZE + 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->stack == MAP_FAILED) {
		free(t);
		return NULL;
	}
	mprotect(t->stack, 4096, PROT_NONE);
	init_context(&t->ctx, t->stack);
	t->fn = fn;
	t->arg = arg;
	t->data = data;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->runnable = 1;
	t->next = kit.tasks;
	kit.tasks = t;
	return t;
}

void lx_kit_task_wakeup(struct lx_kit_task *t)
{
	t->woken = 1;
	t->runnable = 1;
}

static void switch_to_loop(void)
{
	struct lx_kit_task *t = kit.running;
	void *fake_stack = NULL;

	fiber_start(&fake_stack, kit.loop_stack, kit.loop_stack_size);
	swapcontext(&t->ctx, &kit.loop);
	fiber_finish(fake_stack, NULL, NULL);
	/* running again: the loop has set kit.running and current */
}

void lx_kit_task_block(void)
{
	struct lx_kit_task *t = kit.running;

	if (!t)
		lx_kit_panic("lx_kit: blocking outside a task (in interrupt context)");
	if (t->woken) {
		t->woken = 0;
		return;
	}
	t->runnable = 0;
	switch_to_loop();
	t->woken = 0;
}

void lx_kit_task_yield(void)
{
	if (kit.running)
		switch_to_loop();
}

struct lx_kit_task *lx_kit_task_self(void)
{
	return kit.running;
}

void lx_kit_task_exit(void)
{
	kit.running->dead = 1;
	kit.running->runnable = 0;
	fiber_start(NULL, kit.loop_stack, kit.loop_stack_size);	/* this stack is done */
	setcontext(&kit.loop);
	abort();
}

static void reap(void)
{
	for (struct lx_kit_task **pp = &kit.tasks; *pp;) {
		struct lx_kit_task *t = *pp;

		if (t->dead) {
			*pp = t->next;
			munmap(t->stack, STACK_SIZE + 4096);
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

/* Run every runnable task once; returns how many ran. */
static int run_tasks(void)
{
	int ran = 0;

	for (struct lx_kit_task *t = kit.tasks; t; t = t->next) {
		void *fake_stack = NULL;

		if (!t->runnable)
			continue;
		kit.running = t;
		*kit.current = t->data;
		t->woken = 0;
		fiber_start(&fake_stack, (char *)t->stack + 4096, STACK_SIZE);
		swapcontext(&kit.loop, &t->ctx);
		fiber_finish(fake_stack, NULL, NULL);
		kit.running = NULL;
		*kit.current = kit.idle;
		ran++;
	}
	reap();
	return ran;
}

static void run_events(void)
{
	struct irq_event *e;

	pthread_mutex_lock(&kit.lock);
	e = kit.events;
	kit.events = NULL;
	kit.kicked = 0;
	pthread_mutex_unlock(&kit.lock);
	while (e) {
		struct irq_event *next = e->next;

		e->pending = 0;
		e->fn(e->arg);
		if (e->done)
			ddekit_sem_up(e->done);
		e = next;
	}
}

void lx_kit_kick(void)
{
	pthread_mutex_lock(&kit.lock);
	kit.kicked = 1;
	pthread_cond_signal(&kit.wake);
	pthread_mutex_unlock(&kit.lock);
}

static int stopping;

void lx_kit_stopping_set(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
}

int lx_kit_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}

void lx_kit_stop(int status)
{
	pthread_mutex_lock(&kit.lock);
	kit.stop = 1;
	kit.status = status;
	pthread_cond_signal(&kit.wake);
	pthread_mutex_unlock(&kit.lock);
}

int lx_kit_run(void (*init)(void *arg), void **current, void *init_data, void *idle,
	       unsigned long long (*tick)(void))
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&kit.wake, &a);
	pthread_condattr_destroy(&a);
	kit.current = current;
	kit.idle = idle;
	*current = idle;
	if (!lx_kit_task_create(init, NULL, init_data, "init"))
		lx_kit_panic("lx_kit: cannot create the init task");
	while (!kit.stop) {
		unsigned long long next;
		int ran = run_tasks();

		run_events();
		next = tick();
		if (ran)
			continue;
		pthread_mutex_lock(&kit.lock);
		if (!kit.events && !kit.kicked && !kit.stop) {
			int any = 0;

			for (struct lx_kit_task *t = kit.tasks; t; t = t->next)
				any |= t->runnable;
			if (!any) {
				if (next) {
					struct timespec ts = { (time_t)(next / 1000000000ull),
							       (long)(next % 1000000000ull) };

					pthread_cond_timedwait(&kit.wake, &kit.lock, &ts);
				} else {
					pthread_cond_wait(&kit.wake, &kit.lock);
				}
			}
		}
		pthread_mutex_unlock(&kit.lock);
	}
	return kit.status;
}
