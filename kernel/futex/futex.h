/* Futexes: wait queues keyed by an application address (private: mm + address; shared: the
 * memory-file location of MAP_SHARED memory, so that processes sharing memory meet on the same
 * key). */
#ifndef FB_FUTEX_FUTEX_H
#define FB_FUTEX_FUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/mm.h"
#include "kernel/task/task.h"

/* futex(2). */
int64_t fb_futex(struct fb_task *t, uint64_t uaddr, int op, uint32_t val, uint64_t timeout,
                 uint64_t uaddr2, uint32_t val3);
/* Wake up to n waiters on uaddr (used by clear_child_tid on thread exit). */
int fb_futex_wake(struct fb_mm *mm, uint64_t uaddr, int n, uint32_t bitset, bool shared);
/* Drop t's parked futex wait (one interrupted and not resumed by a transparent restart).
 * Returns 1 if a wake had reached it meanwhile (the call then succeeded), else 0. */
int fb_futex_unpark(struct fb_task *t);
/* Robust-list handling for a dying thread holding the futex at uaddr. */
void fb_futex_owner_died(struct fb_task *t, uint64_t uaddr);

/* Checkpoint support: a parked (interrupted) wait that a wake already reached; every parked
 * waiter in queue order (mm is NULL for keys on shared memory, where addr is a memory-file
 * offset); and re-queueing one on restore (the task's restarted syscall resumes it). */
bool fb_futex_parked_woken(const struct fb_task *t);
void fb_futex_save_foreach(void (*fn)(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                                      uint32_t bitset, void *arg),
                           void *arg);
int fb_futex_restore_park(struct fb_task *t, const void *mm, uint64_t addr, bool shared,
                          uint32_t bitset);
int fb_futex_restore_woken(struct fb_task *t);

#endif
