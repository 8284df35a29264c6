/* Intrusive circular doubly linked list (Linux list_head style) used by every kernel subsystem. */
#ifndef FB_UTIL_LIST_H
#define FB_UTIL_LIST_H

#include <stddef.h>
#include <stdbool.h>

struct fb_list {
    struct fb_list *next, *prev;
};

#define FB_LIST_INIT(name) {&(name), &(name)}

static inline void fb_list_init(struct fb_list *l)
{
    l->next = l->prev = l;
}
static inline bool fb_list_empty(const struct fb_list *l)
{
    return l->next == l;
}
static inline void fb_list_add_tail(struct fb_list *head, struct fb_list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}
static inline void fb_list_add(struct fb_list *head, struct fb_list *n)
{
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
}
static inline void fb_list_del(struct fb_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

#define fb_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define fb_list_entry(ptr, type, member)   fb_container_of(ptr, type, member)
#define fb_list_for_each(pos, head)        for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
#define fb_list_for_each_safe(pos, tmp, head)                                                      \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#endif
