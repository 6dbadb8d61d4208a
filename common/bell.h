/*
 * Doorbells of the shared-memory rings (libddenet, libddeblk and their
 * servers): an eventfd each side sleeps on, rung after the other side
 * pushes (or pops). Non-blocking descriptors: ringing a full counter and
 * clearing an empty one are both fine.
 */
#ifndef COMMON_BELL_H
#define COMMON_BELL_H

void bell_ring(int fd);
void bell_clear(int fd);

#endif
