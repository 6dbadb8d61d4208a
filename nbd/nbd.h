/* dde nbd: the NBD export of bddf's disks and partitions (nbd/nbd.c). */
#ifndef NBD_NBD_H
#define NBD_NBD_H

int nbd_main(int argc, char **argv);

#endif
