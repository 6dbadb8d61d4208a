/* The block class glue's parts (Linux side). */
#ifndef LX_BLOCK_H
#define LX_BLOCK_H

struct gendisk;

/* genhd.c -> glue.c: a disk was added, changed (size, read-only), removed */
void lx_block_disk_added(struct gendisk *disk);
void lx_block_disk_changed(struct gendisk *disk);
void lx_block_disk_removed(struct gendisk *disk);

#endif
