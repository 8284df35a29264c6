/* Sockets: the interface between the socket system calls (kernel/syscalls/sys_socket.c) and the
 * socket files (kernel/vfs/socket_unix.c). Only AF_UNIX exists: the sandbox has no network.
 * Addresses and control data are Sentry copies; data moves through an fb_uio. Kernel lock held. */
#ifndef FB_VFS_SOCKET_H
#define FB_VFS_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "kernel/vfs/vfs.h"

/* One sendmsg/recvmsg. */
struct fb_sockmsg {
    /* sendmsg: destination (namelen 0 = none). recvmsg: set want_name; on return the source
     * address and its full length (0 for an unnamed sender). */
    struct sockaddr_storage name; /* a path name may be one byte longer than sockaddr_un */
    socklen_t namelen;
    bool want_name;
    struct fb_uio *uio;
    /* sendmsg: the application's control data (copied in). recvmsg: a buffer of controllen
     * bytes to fill; on return controllen is the length used. */
    uint8_t *control;
    size_t controllen;
    int flags; /* recvmsg: msg_flags on return */
};

bool fb_file_is_socket(const struct fb_file *f);

/* socket(2) for family/type (without SOCK_NONBLOCK/SOCK_CLOEXEC); fflags is O_NONBLOCK or 0.
 * Returns 0 or -errno: EAFNOSUPPORT for families other than AF_UNIX (no network in the sandbox),
 * EPERM for raw and packet sockets, ESOCKTNOSUPPORT, EPROTONOSUPPORT, EINVAL. */
int fb_socket_new(int family, int type, int protocol, unsigned fflags, struct fb_file **out);
/* socketpair(2): two connected sockets. */
int fb_socket_pair(int family, int type, int protocol, unsigned fflags, struct fb_file *out[2]);

int fb_socket_bind(struct fb_task *t, struct fb_file *f, const void *addr, socklen_t len);
int fb_socket_listen(struct fb_file *f, int backlog);
/* accept4(2): *out is the new connection's file (fflags: O_NONBLOCK or 0); *peer and *plen its
 * peer's address (plen 2 for an unnamed peer). May block (restartable). */
int fb_socket_accept(struct fb_task *t, struct fb_file *f, unsigned fflags, struct fb_file **out,
                     struct sockaddr_storage *peer, socklen_t *plen);
int fb_socket_connect(struct fb_task *t, struct fb_file *f, const void *addr, socklen_t len);
/* Returns bytes sent or -errno; sends SIGPIPE itself (unless MSG_NOSIGNAL) where Linux does. */
int64_t fb_socket_sendmsg(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags);
/* Returns bytes received (the full datagram length with MSG_TRUNC) or -errno; files received
 * with SCM_RIGHTS are installed in t's fd table. */
int64_t fb_socket_recvmsg(struct fb_task *t, struct fb_file *f, struct fb_sockmsg *m, int flags);
int fb_socket_shutdown(struct fb_file *f, int how);
/* getsockname (peer false) / getpeername (peer true). */
int fb_socket_getname(struct fb_file *f, bool peer, struct sockaddr_storage *addr, socklen_t *len);
/* SOL_SOCKET options. val/len are Sentry buffers; getsockopt sets *len to the bytes filled. */
int fb_socket_setsockopt(struct fb_task *t, struct fb_file *f, int level, int name, const void *val,
                         socklen_t len);
int fb_socket_getsockopt(struct fb_task *t, struct fb_file *f, int level, int name, void *val,
                         socklen_t *len);

#endif
