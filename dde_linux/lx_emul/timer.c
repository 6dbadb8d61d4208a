/*
 * Time: jiffies, timer_list, precise sleeps, and the tick the lx_kit loop
 * calls between tasks (run due timers, then pending softirqs). Timer
 * functions run in the loop's context, as Linux runs them in softirq.
 */
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include <lx_kit/kit.h>
#include "lx_emul.h"

unsigned long volatile __cacheline_aligned jiffies = INITIAL_JIFFIES;
extern u64 jiffies_64 __attribute__((alias("jiffies")));

static unsigned long long boot_ns;
static LIST_HEAD(timers);		/* pending timer_lists, by expiry */

/* precise sleepers (usleep_range) */
struct sleeper {
	unsigned long long deadline;
	struct task_struct *task;
	struct list_head list;
};
static LIST_HEAD(sleepers);

static unsigned long long jiffies_to_ns_abs(unsigned long j)
{
	return boot_ns + (unsigned long long)(long)(j - INITIAL_JIFFIES) * (NSEC_PER_SEC / HZ);
}

void lx_emul_time_init(void)
{
	boot_ns = lx_kit_clock_ns();
	lx_kit_jiffies_start(&jiffies, INITIAL_JIFFIES, HZ);
}

void init_timer_key(struct timer_list *timer, void (*func)(struct timer_list *),
		    unsigned int flags, const char *name, struct lock_class_key *key)
{
	timer->entry.pprev = NULL;
	timer->entry.next = NULL;
	timer->function = func;
	timer->flags = flags;
}

/* The hlist_node links a pending timer into our list (pprev != NULL). */
static struct list_head *node_of(struct timer_list *t)
{
	return (struct list_head *)&t->entry;
}

static bool pending(const struct timer_list *t)
{
	return t->entry.pprev != NULL;
}

static void unlink_timer(struct timer_list *t)
{
	list_del(node_of(t));
	t->entry.pprev = NULL;
}

static void link_timer(struct timer_list *t)
{
	struct list_head *pos;

	list_for_each(pos, &timers) {
		struct timer_list *o = container_of((struct hlist_node *)pos, struct timer_list, entry);

		if (time_after(o->expires, t->expires))
			break;
	}
	list_add_tail(node_of(t), pos);
}

int mod_timer(struct timer_list *t, unsigned long expires)
{
	int was = pending(t);

	if (was)
		unlink_timer(t);
	t->expires = expires;
	link_timer(t);
	return was;
}

int timer_reduce(struct timer_list *t, unsigned long expires)
{
	if (pending(t) && !time_before(expires, t->expires))
		return 1;
	return mod_timer(t, expires);
}

void add_timer(struct timer_list *t)
{
	mod_timer(t, t->expires);
}

int timer_delete(struct timer_list *t)
{
	if (!pending(t))
		return 0;
	unlink_timer(t);
	return 1;
}

/* One CPU and no preemption: a timer function never runs while a task does. */
/* One CPU and no preemption: a timer function never runs while a task does. */
int timer_delete_sync(struct timer_list *t)
{
	return timer_delete(t);
}

int try_to_del_timer_sync(struct timer_list *t)
{
	return del_timer(t);
}

void lx_emul_timers_run(void)
{
	while (!list_empty(&timers)) {
		struct timer_list *t = container_of((struct hlist_node *)timers.next,
						    struct timer_list, entry);

		if (time_before(jiffies, t->expires))
			break;
		unlink_timer(t);
		t->function(t);
	}
}

void lx_emul_sleep_ns(unsigned long long ns)
{
	struct sleeper s = { lx_kit_clock_ns() + ns, current };

	list_add_tail(&s.list, &sleepers);
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule();
	list_del(&s.list);
}

static unsigned long long wake_sleepers(void)
{
	unsigned long long now = lx_kit_clock_ns(), next = 0;
	struct sleeper *s;

	list_for_each_entry(s, &sleepers, list) {
		if (s->deadline <= now)
			wake_up_process(s->task);
		else if (!next || s->deadline < next)
			next = s->deadline;
	}
	return next;
}

/*
 * ---- hrtimers: in nanoseconds of the monotonic clock (every clock base
 * is it here), kept by expiry, run by the tick like timer_lists ----
 */

static LIST_HEAD(hrtimers);

static struct list_head *hr_node(struct hrtimer *t)
{
	return (struct list_head *)&t->node.node;	/* the rb node's room, unused here */
}

void hrtimer_init(struct hrtimer *timer, clockid_t clock_id, enum hrtimer_mode mode)
{
	memset(timer, 0, sizeof(*timer));
	INIT_LIST_HEAD(hr_node(timer));
	timer->is_rel = !!(mode & HRTIMER_MODE_REL);
}

static void hr_unlink(struct hrtimer *t)
{
	list_del_init(hr_node(t));
	t->state = HRTIMER_STATE_INACTIVE;
}

void hrtimer_start_range_ns(struct hrtimer *timer, ktime_t tim, u64 range_ns,
			    const enum hrtimer_mode mode)
{
	struct hrtimer *o;
	struct list_head *pos = &hrtimers;

	if (timer->state & HRTIMER_STATE_ENQUEUED)
		hr_unlink(timer);
	if (mode & HRTIMER_MODE_REL)
		tim = ktime_add_safe(ktime_get(), tim);
	timer->node.expires = tim;
	timer->_softexpires = tim;
	list_for_each(pos, &hrtimers) {
		o = container_of((struct rb_node *)pos, struct hrtimer, node.node);
		if (o->node.expires > tim)
			break;
	}
	list_add_tail(hr_node(timer), pos);
	timer->state = HRTIMER_STATE_ENQUEUED;
}

int hrtimer_try_to_cancel(struct hrtimer *timer)
{
	if (!(timer->state & HRTIMER_STATE_ENQUEUED))
		return 0;
	hr_unlink(timer);
	return 1;
}

/* one CPU, no preemption: a callback never runs while a task cancels */
int hrtimer_cancel(struct hrtimer *timer)
{
	return hrtimer_try_to_cancel(timer);
}

u64 hrtimer_forward(struct hrtimer *timer, ktime_t now, ktime_t interval)
{
	u64 n = 0;

	if (now < timer->node.expires || interval <= 0)
		return 0;
	n = (u64)((now - timer->node.expires) / interval) + 1;
	timer->node.expires += (ktime_t)n * interval;
	timer->_softexpires = timer->node.expires;
	return n;
}

bool hrtimer_active(const struct hrtimer *timer)
{
	return timer->state & HRTIMER_STATE_ENQUEUED;
}

ktime_t __hrtimer_get_remaining(const struct hrtimer *timer, bool adjust)
{
	return ktime_sub(timer->node.expires, ktime_get());
}

static void hrtimers_run(void)
{
	ktime_t now = ktime_get();

	while (!list_empty(&hrtimers)) {
		struct hrtimer *t = container_of((struct rb_node *)hrtimers.next, struct hrtimer,
						 node.node);

		if (t->node.expires > now)
			break;
		hr_unlink(t);
		if (t->function(t) == HRTIMER_RESTART)
			hrtimer_start_range_ns(t, t->node.expires, 0, HRTIMER_MODE_ABS);
	}
}

unsigned long long lx_emul_tick(void)
{
	unsigned long long next, t, now = lx_kit_clock_ns();
	unsigned long j = INITIAL_JIFFIES + (unsigned long)((now - boot_ns) / (NSEC_PER_SEC / HZ));

	if (time_after(j, jiffies))
		jiffies = j;
	lx_emul_timers_run();
	hrtimers_run();
	lx_emul_softirqs_run();
	lx_emul_rcu_run();
	next = wake_sleepers();
	if (!list_empty(&timers)) {
		struct timer_list *first = container_of((struct hlist_node *)timers.next,
							struct timer_list, entry);

		t = jiffies_to_ns_abs(first->expires);
		if (!next || t < next)
			next = t;
	}
	if (!list_empty(&hrtimers)) {	/* ktime_get() is the lx_kit clock */
		struct hrtimer *first = container_of((struct rb_node *)hrtimers.next, struct hrtimer,
						     node.node);

		t = (unsigned long long)first->node.expires;
		if (!next || t < next)
			next = t;
	}
	return next;
}

/* ---- clocks (monotonic from the host's CLOCK_MONOTONIC, wall from CLOCK_REALTIME) ---- */

u64 ktime_get_mono_fast_ns(void)
{
	return ktime_get();
}

ktime_t ktime_get(void)
{
	return (ktime_t)lx_kit_clock_ns();
}

ktime_t ktime_get_with_offset(enum tk_offsets offs)
{
	switch (offs) {
	case TK_OFFS_REAL:
		return (ktime_t)lx_kit_clock_real_ns();
	case TK_OFFS_BOOT:
		return (ktime_t)lx_kit_clock_ns();
	default:
		return (ktime_t)lx_kit_clock_real_ns();	/* TAI: UTC, no leap offset */
	}
}

void ktime_get_real_ts64(struct timespec64 *ts)
{
	*ts = ns_to_timespec64((s64)lx_kit_clock_real_ns());
}

void ktime_get_ts64(struct timespec64 *ts)
{
	*ts = ns_to_timespec64((s64)lx_kit_clock_ns());
}

/* the raw monotonic clock: the host's monotonic one (no NTP slewing here to undo) */
void ktime_get_raw_ts64(struct timespec64 *ts)
{
	*ts = ns_to_timespec64((s64)lx_kit_clock_ns());
}

time64_t ktime_get_real_seconds(void)
{
	return (time64_t)(lx_kit_clock_real_ns() / NSEC_PER_SEC);
}

/* rounding to whole seconds batches timer wakeups; one process has few */
unsigned long round_jiffies_relative(unsigned long j)
{
	return j;
}

unsigned long round_jiffies(unsigned long j)
{
	return j;
}

/*
 * A conversion factor for counters (HD Audio's stream position
 * timecounter): t = (cycles * mult) >> shift converts @from Hz to @to Hz,
 * with the largest shift (the best precision) for which @maxsec seconds
 * of cycles times mult still fit in 64 bits.
 */
void clocks_calc_mult_shift(u32 *mult, u32 *shift, u32 from, u32 to, u32 maxsec)
{
	u64 cycles = (u64)from * maxsec, m = 0;
	u32 s;

	for (s = 32; s > 0; s--) {
		m = div_u64(((u64)to << s) + from / 2, from);
		if (m <= U32_MAX && (!m || cycles <= U64_MAX / m))
			break;
	}
	if (!s)
		m = div_u64((u64)to + from / 2, from);
	*mult = (u32)m;
	*shift = s;
}

/*
 * Cross-timestamps between a device clock and the system's (HD Audio's
 * link time on Skylake and later, through Intel's Always Running Timer):
 * this system has no ART to correlate with.
 */
int get_device_system_crosststamp(int (*get_time_fn)(ktime_t *device_time,
						     struct system_counterval_t *sys_counterval,
						     void *ctx),
				  void *ctx, struct system_time_snapshot *history,
				  struct system_device_crosststamp *xtstamp)
{
	return -EOPNOTSUPP;
}

struct system_counterval_t convert_art_to_tsc(u64 art)
{
	WARN_ONCE(1, "lx_emul: no Always Running Timer to convert from\n");
	return (struct system_counterval_t){ 0 };
}

void ktime_get_coarse_ts64(struct timespec64 *ts)
{
	ktime_get_ts64(ts);
}

/* a monotonic time on another clock (the input core stamps events in real time too) */
ktime_t ktime_mono_to_any(ktime_t tmono, enum tk_offsets offs)
{
	return offs == TK_OFFS_BOOT ? tmono :
	       tmono + ktime_get_with_offset(offs) - ktime_get();
}
