/* Internal interfaces between the parts of lx_emul (Linux side). */
#ifndef LX_EMUL_H
#define LX_EMUL_H

struct task_struct;
struct net_device;
struct lx_kit_task;

void lx_emul_mem_init(void);
void lx_emul_time_init(void);
void lx_emul_workqueues_init(void);
void lx_emul_task_init(struct task_struct *t, const char *name);
unsigned long long lx_emul_tick(void);	/* timers and softirqs; next deadline */
void lx_emul_timers_run(void);
void lx_emul_softirqs_run(void);
void lx_emul_jiffies_update(void);
void lx_emul_task_bind(struct task_struct *t, struct lx_kit_task *kit);
void lx_emul_sleep_ns(unsigned long long ns);
void lx_emul_cpu_init(void);
void lx_emul_rcu_run(void);
void lx_emul_pci_init(void);
struct pci_dev;
struct pci_dev *lx_emul_pci_dev(unsigned i);
void lx_emul_pm_init(void);
struct kernel_param;
int lx_emul_set_params(const char *owner, const struct kernel_param *params, unsigned n,
		       int argc, char **argv);
int lx_emul_modules_start(void);

#endif
