/*
 * /proc (fs/proc): a driver process has no file system to show entries
 * in, but ALSA's core will not start unless its /proc/asound tree can be
 * made. Entries are made as tokens (their name, nothing else) and never
 * read; a subsystem that reads its own entries back would stop at a
 * generated stub, loudly.
 */
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "lx_emul.h"

struct proc_dir_entry {
	char name[32];
};

static struct proc_dir_entry *entry(const char *name)
{
	struct proc_dir_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);

	if (e)
		strscpy(e->name, name, sizeof(e->name));
	return e;
}

struct proc_dir_entry *proc_mkdir(const char *name, struct proc_dir_entry *parent)
{
	return entry(name);
}

struct proc_dir_entry *proc_mkdir_mode(const char *name, umode_t mode,
				       struct proc_dir_entry *parent)
{
	return entry(name);
}

struct proc_dir_entry *proc_create_data(const char *name, umode_t mode,
					struct proc_dir_entry *parent,
					const struct proc_ops *proc_ops, void *data)
{
	return entry(name);
}

struct proc_dir_entry *proc_create(const char *name, umode_t mode, struct proc_dir_entry *parent,
				   const struct proc_ops *proc_ops)
{
	return entry(name);
}

struct proc_dir_entry *proc_create_seq_private(const char *name, umode_t mode,
					       struct proc_dir_entry *parent,
					       const struct seq_operations *ops,
					       unsigned int state_size, void *data)
{
	return entry(name);
}

struct proc_dir_entry *proc_create_single_data(const char *name, umode_t mode,
					       struct proc_dir_entry *parent,
					       int (*show)(struct seq_file *, void *), void *data)
{
	return entry(name);
}

void remove_proc_entry(const char *name, struct proc_dir_entry *parent)
{
}

struct proc_dir_entry *proc_symlink(const char *name, struct proc_dir_entry *parent,
				    const char *dest)
{
	return entry(name);
}

void proc_set_size(struct proc_dir_entry *de, loff_t size)
{
}

void proc_remove(struct proc_dir_entry *de)
{
	kfree(de);
}
