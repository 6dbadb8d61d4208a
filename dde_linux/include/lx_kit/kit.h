/*
 * The bridge between dde_linux's Linux side (lx_emul, compiled against
 * Linux's headers) and its host side (lx_kit, on ddekit and libc). Both
 * worlds include this header, so it uses plain C types only.
 *
 * Execution model: one Linux "CPU". Linux code runs only on the driver's
 * main thread, in cooperative tasks (kthreads, workers, the init task) and
 * in the scheduler's own context ("interrupt context": interrupt handlers,
 * timers, softirqs). Interrupts and other host events are handed to that
 * thread; Linux code is never entered concurrently, so Linux's spinlocks
 * need no atomics and a task switches only where Linux would sleep.
 */
#ifndef LX_KIT_KIT_H
#define LX_KIT_KIT_H

/* --- log and panic (one line each; @level is a printk level 0-7) --- */
void lx_kit_log(int level, const char *text);
void lx_kit_panic(const char *text) __attribute__((noreturn));

/* Print the calling thread's stack (dump_stack). */
void lx_kit_backtrace(void);

/* Fill @buf with @len random bytes from the host. */
void lx_kit_random(void *buf, unsigned long len);

/*
 * The Linux CPU's per-cpu area. Linux code reaches per-cpu data as %gs:ADDR,
 * ADDR being the variable's link address in [@start, @start + @size), and
 * binary modules read their stack canary at %gs:40. Map a copy so that
 * B + ADDR is each variable's copy and B + 40 a random canary, set the
 * calling thread's GS base to B and return B. The linked originals become
 * inaccessible: a use bypassing %gs faults instead of reading stale data.
 */
unsigned long lx_kit_cpu_area(void *start, unsigned long size);

/* --- clock --- */
unsigned long long lx_kit_clock_ns(void);
unsigned long long lx_kit_clock_real_ns(void);	/* since the Unix epoch */
void lx_kit_busy_wait_ns(unsigned long long ns);

/*
 * Keep *@jiffies = @initial + HZ ticks since start, from a thread of its
 * own (as a timer interrupt on another CPU would), so that even a busy
 * loop sees it advance.
 */
void lx_kit_jiffies_start(volatile unsigned long *jiffies, unsigned long initial, unsigned hz);

/* --- memory: everything Linux allocates lives in the DMA region --- */
void lx_kit_dma_region(void **virt, unsigned long long *bus, unsigned long *size);
void *lx_kit_dma_alloc(unsigned long size, unsigned long align);
/* "dma: N bytes in use in M blocks (of S)" into @buf (dde driver memory) */
void lx_kit_dma_usage_text(char *buf, unsigned long cap);
void lx_kit_dma_free(void *ptr);

/* --- devices (an index into the driver's grant) --- */
struct lx_kit_pci_bar {
	int kind;		/* 0 none, 1 I/O, 2 32-bit memory, 3 64-bit memory */
	int prefetchable;
	unsigned long long addr, size;
};

struct lx_kit_pci_dev {
	unsigned bus, slot, func;
	unsigned vendor, device, subsystem_vendor, subsystem_device;
	unsigned class_code, revision, irq_pin, irq;
	struct lx_kit_pci_bar bar[6];
};

unsigned lx_kit_pci_count(void);
int lx_kit_pci_get(unsigned index, struct lx_kit_pci_dev *out);
int lx_kit_pci_config_read(unsigned index, unsigned offset, unsigned size, unsigned *value);
int lx_kit_pci_config_write(unsigned index, unsigned offset, unsigned size, unsigned value);
/*
 * Message-signalled vectors of device @index (ddekit_pci_msi_enable):
 * between @min and @max of @kind. Returns how many, vector k on interrupt
 * line *@first + k; or -errno (the INTx line stays).
 */
enum lx_kit_msi { LX_KIT_MSIX = 1, LX_KIT_MSI };
int lx_kit_pci_msi_enable(unsigned index, enum lx_kit_msi kind, unsigned min, unsigned max,
			  unsigned *first);
int lx_kit_pci_msi_disable(unsigned index);
void *lx_kit_mmio_map(unsigned index, unsigned bar, unsigned long *size);
/* readl, outw & co (lx_emul/io.c): a failed access panics, naming @caller */
unsigned long long lx_kit_mmio_load(const volatile void *addr, unsigned size, const void *caller);
void lx_kit_mmio_store(volatile void *addr, unsigned size, unsigned long long value,
		       const void *caller);
unsigned lx_kit_pio_in(unsigned port, unsigned size, const void *caller);
void lx_kit_pio_out(unsigned port, unsigned size, unsigned value, const void *caller);
void lx_kit_pio_rep(unsigned port, unsigned size, void *buf, unsigned long count, int out,
		    const void *caller);

/*
 * Interrupts: @fn(@arg) runs in the scheduler context each time the line
 * fires; the line is acknowledged (unmasked) when @fn returns.
 */
int lx_kit_irq_attach(unsigned irq, void (*fn)(void *arg), void *arg);
int lx_kit_irq_detach(unsigned irq);
int lx_kit_irq_mask(unsigned irq);
int lx_kit_irq_unmask(unsigned irq);

/*
 * Host events: @fn(@arg) runs on the Linux CPU (scheduler context) after
 * any host thread raised the event; raising it again before it ran
 * runs it once.
 */
struct lx_kit_event;
struct lx_kit_event *lx_kit_event_create(void (*fn)(void *arg), void *arg);
void lx_kit_event_raise(struct lx_kit_event *ev);

/*
 * dde run's control channel to the driver (DDE_CONTROL=fd:N): requests
 * (one line each, e.g. "suspend") come on a host thread; @fn(@arg) runs
 * on the Linux CPU after one came, lx_kit_control_take hands it over (1,
 * or 0 if none waits), lx_kit_control_reply answers it.
 */
int lx_kit_control_present(void);
void lx_kit_control_start(void (*fn)(void *arg), void *arg);
int lx_kit_control_take(char *buf, unsigned long cap);
void lx_kit_control_reply(const char *text);

/* --- cooperative tasks --- */
struct lx_kit_task;

/* A new runnable task running @fn(@arg); @data is what `current` becomes. */
struct lx_kit_task *lx_kit_task_create(void (*fn)(void *arg), void *arg, void *data,
				       const char *name);
/* Make @t runnable (a no-op if it is). */
void lx_kit_task_wakeup(struct lx_kit_task *t);
/* Stop running the current task until it is woken; returns at once if it was woken meanwhile. */
void lx_kit_task_block(void);
/* Let the other runnable tasks run first. */
void lx_kit_task_yield(void);
/* The running task, or NULL in the scheduler context. */
struct lx_kit_task *lx_kit_task_self(void);
void lx_kit_task_exit(void) __attribute__((noreturn));

/*
 * Run the Linux CPU: @init runs as the first task; afterwards the loop runs
 * tasks, interrupt handlers and @tick (which runs due timers and softirqs
 * and returns the next deadline in ns of lx_kit_clock_ns, or 0 for none)
 * until lx_kit_stop. @current_slot points at Linux's `current_task`; the loop
 * stores each task's data there, and @idle's when no task runs.
 */
int lx_kit_run(void (*init)(void *arg), void **current_slot, void *init_data, void *idle,
	       unsigned long long (*tick)(void));
void lx_kit_stop(int status);

/* The driver was told to stop and is winding down (a binary driver host
 * running the modules' exits): losing the network server is then no
 * reason to panic. Safe from any thread. */
void lx_kit_stopping_set(void);
int lx_kit_stopping(void);

/* Wake the loop from another thread (e.g. after changing timers). */
void lx_kit_kick(void);

/* The driver's name (from the recipe) and its arguments (from --driver NAME,ARG...). */
const char *lx_kit_driver_name(void);

#endif
