/*
 * Workqueues: each workqueue is one kernel thread (a cooperative task)
 * running its work items in order. Delayed work is a timer that queues.
 */
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "lx_emul.h"

struct workqueue_struct {
	struct list_head pending;
	struct task_struct *worker;
	struct work_struct *running;
	wait_queue_head_t idle;		/* woken after every item */
	char name[32];
};

struct workqueue_struct *system_wq, *system_highpri_wq, *system_long_wq,
	*system_unbound_wq, *system_freezable_wq, *system_power_efficient_wq,
	*system_freezable_power_efficient_wq;

static int worker(void *arg)
{
	struct workqueue_struct *wq = arg;

	current->worker_private = wq;	/* current_work() finds it */
	for (;;) {
		struct work_struct *w;

		set_current_state(TASK_UNINTERRUPTIBLE);
		if (list_empty(&wq->pending)) {
			if (kthread_should_stop())	/* destroy_workqueue: drained */
				break;
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		w = list_first_entry(&wq->pending, struct work_struct, entry);
		list_del_init(&w->entry);
		clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(w));
		wq->running = w;
		w->func(w);
		wq->running = NULL;
		wake_up_all(&wq->idle);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static struct kmem_cache *wq_cache;

/* the work item the calling task runs, if it is a worker */
struct work_struct *current_work(void)
{
	struct workqueue_struct *wq = current->worker_private;

	return wq && wq->worker == current ? wq->running : NULL;
}

struct workqueue_struct *alloc_workqueue(const char *fmt, unsigned int flags, int max_active, ...)
{
	/* aligned so that a work's data can hold it beside its flag bits */
	struct workqueue_struct *wq;
	va_list ap;

	if (!wq_cache)
		wq_cache = kmem_cache_create("workqueue", sizeof(*wq), 1 << WORK_STRUCT_FLAG_BITS, 0,
					     NULL);
	wq = wq_cache ? kmem_cache_zalloc(wq_cache, GFP_KERNEL) : NULL;

	if (!wq)
		return NULL;
	va_start(ap, max_active);
	vsnprintf(wq->name, sizeof(wq->name), fmt, ap);
	va_end(ap);
	INIT_LIST_HEAD(&wq->pending);
	init_waitqueue_head(&wq->idle);
	wq->worker = kthread_create(worker, wq, "%s", wq->name);
	if (IS_ERR(wq->worker)) {
		kmem_cache_free(wq_cache, wq);
		return NULL;
	}
	wake_up_process(wq->worker);
	return wq;
}

void lx_emul_workqueues_init(void)
{
	system_wq = alloc_workqueue("events", 0, 0);
	system_highpri_wq = system_long_wq = system_unbound_wq = system_freezable_wq =
		system_power_efficient_wq = system_freezable_power_efficient_wq = system_wq;
	if (!system_wq)
		panic("lx_emul: no system workqueue");
}

bool queue_work_on(int cpu, struct workqueue_struct *wq, struct work_struct *work)
{
	if (test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work)))
		return false;
	/* remember the queue, for flush_work */
	atomic_long_set(&work->data, (long)wq | WORK_STRUCT_PENDING | WORK_STRUCT_PWQ);
	list_add_tail(&work->entry, &wq->pending);
	wake_up_process(wq->worker);
	return true;
}

void delayed_work_timer_fn(struct timer_list *t)
{
	struct delayed_work *dwork = from_timer(dwork, t, timer);

	/* queue_work_on tests PENDING: clear it first, it is set by queue_delayed */
	clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work));
	queue_work_on(WORK_CPU_UNBOUND, dwork->wq, &dwork->work);
}

bool queue_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			   unsigned long delay)
{
	if (test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work)))
		return false;
	dwork->wq = wq;
	if (!delay) {
		clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work));
		return queue_work_on(cpu, wq, &dwork->work);
	}
	dwork->timer.function = delayed_work_timer_fn;
	mod_timer(&dwork->timer, jiffies + delay);
	return true;
}

bool mod_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			 unsigned long delay)
{
	del_timer(&dwork->timer);
	if (!list_empty(&dwork->work.entry))
		list_del_init(&dwork->work.entry);
	clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work));
	return queue_delayed_work_on(cpu, wq, dwork, delay);
}

/* the queue WORK was last queued on; NULL if never (its data is then
 * WORK_DATA_INIT's "no pool", not a pointer: as Linux, look at PWQ first) */
static struct workqueue_struct *wq_of(struct work_struct *work)
{
	unsigned long data = atomic_long_read(&work->data);

	if (!(data & WORK_STRUCT_PWQ))
		return NULL;
	return (struct workqueue_struct *)(data & WORK_STRUCT_WQ_DATA_MASK);
}

bool flush_work(struct work_struct *work)
{
	struct workqueue_struct *wq = wq_of(work);
	bool waited = false;

	if (!wq)
		return false;
	while (work_pending(work) || wq->running == work) {
		waited = true;
		wait_event(wq->idle, !(work_pending(work) || wq->running == work));
	}
	return waited;
}

static bool cancel(struct work_struct *work)
{
	bool was = work_pending(work);

	if (was && !list_empty(&work->entry))
		list_del_init(&work->entry);
	clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work));
	flush_work(work);	/* if it is running now */
	return was;
}

bool cancel_work_sync(struct work_struct *work)
{
	return cancel(work);
}

bool cancel_delayed_work_sync(struct delayed_work *dwork)
{
	bool was = del_timer(&dwork->timer);

	return cancel(&dwork->work) || was;
}

bool cancel_delayed_work(struct delayed_work *dwork)
{
	bool was = del_timer(&dwork->timer);

	if (!list_empty(&dwork->work.entry))
		list_del_init(&dwork->work.entry);
	clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work));
	return was;
}

bool flush_delayed_work(struct delayed_work *dwork)
{
	if (del_timer(&dwork->timer)) {
		clear_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(&dwork->work));
		queue_work_on(WORK_CPU_UNBOUND, dwork->wq, &dwork->work);
	}
	return flush_work(&dwork->work);
}

/* every item queued on WQ before the call has run */
void __flush_workqueue(struct workqueue_struct *wq)
{
	wait_event(wq->idle, list_empty(&wq->pending) && !wq->running);
}

/*
 * What was queued runs first (as Linux drains the queue); then its worker
 * ends and both are freed (a SCSI host's queues go with each USB stick).
 */
void destroy_workqueue(struct workqueue_struct *wq)
{
	__flush_workqueue(wq);
	kthread_stop(wq->worker);
	kmem_cache_free(wq_cache, wq);
}

/* @fn now when the caller may sleep (here: always, unless in an interrupt) */
int execute_in_process_context(work_func_t fn, struct execute_work *ew)
{
	if (!in_interrupt()) {
		fn(&ew->work);
		return 0;
	}
	INIT_WORK(&ew->work, fn);
	schedule_work(&ew->work);
	return 1;
}
