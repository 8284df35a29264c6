/* The x86_64 system call table: every number, its handler and support level, one place.
 * Unimplemented calls have no handler and return -ENOSYS; docs/compatibility.md is generated
 * from this table by `fnbox syscalls --markdown` (make docs). */
#include "kernel/syscalls/syscall.h"

#include <errno.h>

#include "kernel/syscalls/sys_util.h"

/* Handlers (kernel/syscalls/sys_*.c). */
FB_SYSCALL_DECL(access);
FB_SYSCALL_DECL(alarm);
FB_SYSCALL_DECL(arch_prctl);
FB_SYSCALL_DECL(brk);
FB_SYSCALL_DECL(capget);
FB_SYSCALL_DECL(capset);
FB_SYSCALL_DECL(chdir);
FB_SYSCALL_DECL(chmod);
FB_SYSCALL_DECL(chown);
FB_SYSCALL_DECL(chroot);
FB_SYSCALL_DECL(clock_getres);
FB_SYSCALL_DECL(clock_gettime);
FB_SYSCALL_DECL(clock_nanosleep);
FB_SYSCALL_DECL(clock_settime);
FB_SYSCALL_DECL(clone);
FB_SYSCALL_DECL(clone3);
FB_SYSCALL_DECL(close);
FB_SYSCALL_DECL(close_range);
FB_SYSCALL_DECL(creat);
FB_SYSCALL_DECL(dup);
FB_SYSCALL_DECL(dup2);
FB_SYSCALL_DECL(dup3);
FB_SYSCALL_DECL(execve);
FB_SYSCALL_DECL(execveat);
FB_SYSCALL_DECL(exit);
FB_SYSCALL_DECL(exit_group);
FB_SYSCALL_DECL(faccessat);
FB_SYSCALL_DECL(faccessat2);
FB_SYSCALL_DECL(fadvise64);
FB_SYSCALL_DECL(fallocate);
FB_SYSCALL_DECL(fchdir);
FB_SYSCALL_DECL(fchmod);
FB_SYSCALL_DECL(fchmodat);
FB_SYSCALL_DECL(fchown);
FB_SYSCALL_DECL(fchownat);
FB_SYSCALL_DECL(fcntl);
FB_SYSCALL_DECL(fdatasync);
FB_SYSCALL_DECL(flock);
FB_SYSCALL_DECL(fork);
FB_SYSCALL_DECL(fstat);
FB_SYSCALL_DECL(fstatfs);
FB_SYSCALL_DECL(fsync);
FB_SYSCALL_DECL(ftruncate);
FB_SYSCALL_DECL(futex);
FB_SYSCALL_DECL(get_robust_list);
FB_SYSCALL_DECL(getcpu);
FB_SYSCALL_DECL(getcwd);
FB_SYSCALL_DECL(getdents64);
FB_SYSCALL_DECL(getegid);
FB_SYSCALL_DECL(geteuid);
FB_SYSCALL_DECL(getgid);
FB_SYSCALL_DECL(getgroups);
FB_SYSCALL_DECL(getitimer);
FB_SYSCALL_DECL(getpgid);
FB_SYSCALL_DECL(getpgrp);
FB_SYSCALL_DECL(getpid);
FB_SYSCALL_DECL(getppid);
FB_SYSCALL_DECL(getpriority);
FB_SYSCALL_DECL(getrandom);
FB_SYSCALL_DECL(getresgid);
FB_SYSCALL_DECL(getresuid);
FB_SYSCALL_DECL(getrlimit);
FB_SYSCALL_DECL(getrusage);
FB_SYSCALL_DECL(getsid);
FB_SYSCALL_DECL(gettid);
FB_SYSCALL_DECL(gettimeofday);
FB_SYSCALL_DECL(getuid);
FB_SYSCALL_DECL(ioctl);
FB_SYSCALL_DECL(kill);
FB_SYSCALL_DECL(lchown);
FB_SYSCALL_DECL(link);
FB_SYSCALL_DECL(linkat);
FB_SYSCALL_DECL(lseek);
FB_SYSCALL_DECL(lstat);
FB_SYSCALL_DECL(madvise);
FB_SYSCALL_DECL(memfd_create);
FB_SYSCALL_DECL(mincore);
FB_SYSCALL_DECL(mkdir);
FB_SYSCALL_DECL(mkdirat);
FB_SYSCALL_DECL(mknod);
FB_SYSCALL_DECL(mknodat);
FB_SYSCALL_DECL(mlock);
FB_SYSCALL_DECL(mlock2);
FB_SYSCALL_DECL(mlockall);
FB_SYSCALL_DECL(mmap);
FB_SYSCALL_DECL(mprotect);
FB_SYSCALL_DECL(mremap);
FB_SYSCALL_DECL(msync);
FB_SYSCALL_DECL(munlock);
FB_SYSCALL_DECL(munlockall);
FB_SYSCALL_DECL(munmap);
FB_SYSCALL_DECL(nanosleep);
FB_SYSCALL_DECL(newfstatat);
FB_SYSCALL_DECL(open);
FB_SYSCALL_DECL(openat);
FB_SYSCALL_DECL(pause);
FB_SYSCALL_DECL(personality);
FB_SYSCALL_DECL(pipe);
FB_SYSCALL_DECL(pipe2);
FB_SYSCALL_DECL(poll);
FB_SYSCALL_DECL(ppoll);
FB_SYSCALL_DECL(prctl);
FB_SYSCALL_DECL(pread64);
FB_SYSCALL_DECL(preadv);
FB_SYSCALL_DECL(preadv2);
FB_SYSCALL_DECL(prlimit64);
FB_SYSCALL_DECL(pselect6);
FB_SYSCALL_DECL(pwrite64);
FB_SYSCALL_DECL(pwritev);
FB_SYSCALL_DECL(pwritev2);
FB_SYSCALL_DECL(read);
FB_SYSCALL_DECL(readlink);
FB_SYSCALL_DECL(readlinkat);
FB_SYSCALL_DECL(setxattr);
FB_SYSCALL_DECL(lsetxattr);
FB_SYSCALL_DECL(fsetxattr);
FB_SYSCALL_DECL(getxattr);
FB_SYSCALL_DECL(lgetxattr);
FB_SYSCALL_DECL(fgetxattr);
FB_SYSCALL_DECL(listxattr);
FB_SYSCALL_DECL(llistxattr);
FB_SYSCALL_DECL(flistxattr);
FB_SYSCALL_DECL(removexattr);
FB_SYSCALL_DECL(lremovexattr);
FB_SYSCALL_DECL(fremovexattr);
FB_SYSCALL_DECL(readv);
FB_SYSCALL_DECL(rename);
FB_SYSCALL_DECL(renameat);
FB_SYSCALL_DECL(renameat2);
FB_SYSCALL_DECL(restart_syscall);
FB_SYSCALL_DECL(rmdir);
FB_SYSCALL_DECL(rt_sigaction);
FB_SYSCALL_DECL(rt_sigpending);
FB_SYSCALL_DECL(rt_sigprocmask);
FB_SYSCALL_DECL(rt_sigqueueinfo);
FB_SYSCALL_DECL(rt_sigreturn);
FB_SYSCALL_DECL(rt_sigsuspend);
FB_SYSCALL_DECL(rt_sigtimedwait);
FB_SYSCALL_DECL(rt_tgsigqueueinfo);
FB_SYSCALL_DECL(sched_get_priority_max);
FB_SYSCALL_DECL(sched_get_priority_min);
FB_SYSCALL_DECL(sched_getaffinity);
FB_SYSCALL_DECL(sched_getparam);
FB_SYSCALL_DECL(sched_getscheduler);
FB_SYSCALL_DECL(sched_rr_get_interval);
FB_SYSCALL_DECL(sched_setaffinity);
FB_SYSCALL_DECL(sched_setparam);
FB_SYSCALL_DECL(sched_setscheduler);
FB_SYSCALL_DECL(sched_yield);
FB_SYSCALL_DECL(select);
FB_SYSCALL_DECL(sendfile);
FB_SYSCALL_DECL(set_robust_list);
FB_SYSCALL_DECL(set_tid_address);
FB_SYSCALL_DECL(setdomainname);
FB_SYSCALL_DECL(setfsgid);
FB_SYSCALL_DECL(setfsuid);
FB_SYSCALL_DECL(setgid);
FB_SYSCALL_DECL(setgroups);
FB_SYSCALL_DECL(sethostname);
FB_SYSCALL_DECL(setitimer);
FB_SYSCALL_DECL(setpgid);
FB_SYSCALL_DECL(setpriority);
FB_SYSCALL_DECL(setregid);
FB_SYSCALL_DECL(setresgid);
FB_SYSCALL_DECL(setresuid);
FB_SYSCALL_DECL(setreuid);
FB_SYSCALL_DECL(setrlimit);
FB_SYSCALL_DECL(setsid);
FB_SYSCALL_DECL(settimeofday);
FB_SYSCALL_DECL(setuid);
FB_SYSCALL_DECL(sigaltstack);
FB_SYSCALL_DECL(stat);
FB_SYSCALL_DECL(statfs);
FB_SYSCALL_DECL(statx);
FB_SYSCALL_DECL(symlink);
FB_SYSCALL_DECL(symlinkat);
FB_SYSCALL_DECL(sync);
FB_SYSCALL_DECL(syncfs);
FB_SYSCALL_DECL(sysinfo);
FB_SYSCALL_DECL(tgkill);
FB_SYSCALL_DECL(timer_create);
FB_SYSCALL_DECL(timer_delete);
FB_SYSCALL_DECL(timer_getoverrun);
FB_SYSCALL_DECL(timer_gettime);
FB_SYSCALL_DECL(timer_settime);
FB_SYSCALL_DECL(time);
FB_SYSCALL_DECL(times);
FB_SYSCALL_DECL(tkill);
FB_SYSCALL_DECL(truncate);
FB_SYSCALL_DECL(umask);
FB_SYSCALL_DECL(uname);
FB_SYSCALL_DECL(unlink);
FB_SYSCALL_DECL(unlinkat);
FB_SYSCALL_DECL(utime);
FB_SYSCALL_DECL(utimensat);
FB_SYSCALL_DECL(utimes);
FB_SYSCALL_DECL(vfork);
FB_SYSCALL_DECL(wait4);
FB_SYSCALL_DECL(waitid);
FB_SYSCALL_DECL(write);
FB_SYSCALL_DECL(writev);

/* Event files (sys_event.c). */
FB_SYSCALL_DECL(epoll_create);
FB_SYSCALL_DECL(epoll_create1);
FB_SYSCALL_DECL(epoll_ctl);
FB_SYSCALL_DECL(epoll_pwait);
FB_SYSCALL_DECL(epoll_pwait2);
FB_SYSCALL_DECL(epoll_wait);
FB_SYSCALL_DECL(eventfd);
FB_SYSCALL_DECL(eventfd2);
FB_SYSCALL_DECL(signalfd);
FB_SYSCALL_DECL(signalfd4);
FB_SYSCALL_DECL(timerfd_create);
FB_SYSCALL_DECL(timerfd_gettime);
FB_SYSCALL_DECL(timerfd_settime);

/* Sockets (sys_socket.c). */
FB_SYSCALL_DECL(accept);
FB_SYSCALL_DECL(accept4);
FB_SYSCALL_DECL(bind);
FB_SYSCALL_DECL(connect);
FB_SYSCALL_DECL(getpeername);
FB_SYSCALL_DECL(getsockname);
FB_SYSCALL_DECL(getsockopt);
FB_SYSCALL_DECL(listen);
FB_SYSCALL_DECL(recvfrom);
FB_SYSCALL_DECL(recvmsg);
FB_SYSCALL_DECL(sendmsg);
FB_SYSCALL_DECL(sendto);
FB_SYSCALL_DECL(setsockopt);
FB_SYSCALL_DECL(shutdown);
FB_SYSCALL_DECL(socket);
FB_SYSCALL_DECL(socketpair);

/* Deliberate refusals: the sandbox does not give these to applications (docs/security.md). */
static int64_t refuse_eperm(struct fb_task *t, const uint64_t *a)
{
    (void)t;
    (void)a;
    return -EPERM;
}
static int64_t refuse_eacces(struct fb_task *t, const uint64_t *a)
{
    (void)t;
    (void)a;
    return -EACCES;
}
static int64_t refuse_einval(struct fb_task *t, const uint64_t *a)
{
    (void)t;
    (void)a;
    return -EINVAL;
}
static int64_t refuse_eopnotsupp(struct fb_task *t, const uint64_t *a)
{
    (void)t;
    (void)a;
    return -EOPNOTSUPP;
}

#define FULL(nr, name, args) [nr] = {#name, fb_sys_##name, FB_SC_FULL, args, NULL}
#define PART(nr, name, args, note) [nr] = {#name, fb_sys_##name, FB_SC_PARTIAL, args, note}
#define ERR(nr, name, args, note) [nr] = {#name, fb_sys_##name, FB_SC_ERROR, args, note}
#define DENY(nr, name, fn, note) [nr] = {#name, fn, FB_SC_ERROR, NULL, note}
#define NONE(nr, name) [nr] = {#name, NULL, FB_SC_NONE, NULL, NULL}

const struct fb_syscall_desc fb_syscall_table[FB_NR_SYSCALLS] = {
    FULL(0, read, "fBu"),
    FULL(1, write, "fbu"),
    FULL(2, open, "sOo"),
    FULL(3, close, "f"),
    FULL(4, stat, "sp"),
    FULL(5, fstat, "fp"),
    FULL(6, lstat, "sp"),
    FULL(7, poll, "pud"),
    FULL(8, lseek, "fdd"),
    PART(9, mmap, "pxPMfx",
         "no huge pages; shared writable mappings of gofer files are not written back"),
    FULL(10, mprotect, "pxP"),
    FULL(11, munmap, "px"),
    FULL(12, brk, "p"),
    FULL(13, rt_sigaction, "Sppu"),
    FULL(14, rt_sigprocmask, "dppu"),
    FULL(15, rt_sigreturn, ""),
    PART(16, ioctl, "fxx",
         "FIOCLEX, FIONCLEX, FIONBIO, FIONREAD, and TCGETS/TCSETS/TIOCGWINSZ/TIOCGPGRP on the host terminal; others ENOTTY"),
    FULL(17, pread64, "fBud"),
    FULL(18, pwrite64, "fbud"),
    FULL(19, readv, "fpd"),
    FULL(20, writev, "fpd"),
    FULL(21, access, "so"),
    FULL(22, pipe, "p"),
    FULL(23, select, "dpppp"),
    FULL(24, sched_yield, ""),
    PART(25, mremap, "pxxdp",
         "no MREMAP_DONTUNMAP"),
    PART(26, msync, "pxd",
         "shared mappings are always in sync"),
    FULL(27, mincore, "pxp"),
    PART(28, madvise, "pxd",
         "DONTNEED and FREE discard; hints accepted; MADV_REMOVE unsupported"),
    NONE(29, shmget),
    NONE(30, shmat),
    NONE(31, shmctl),
    FULL(32, dup, "f"),
    FULL(33, dup2, "ff"),
    FULL(34, pause, ""),
    FULL(35, nanosleep, "pp"),
    FULL(36, getitimer, "dp"),
    FULL(37, alarm, "u"),
    FULL(38, setitimer, "dpp"),
    FULL(39, getpid, ""),
    PART(40, sendfile, "ffpu",
         "copies through the kernel"),
    PART(41, socket, "ddd",
         "AF_UNIX only (stream, dgram, seqpacket); no network in the sandbox: AF_INET, AF_INET6, AF_NETLINK and other families EAFNOSUPPORT; SOCK_RAW and AF_PACKET EPERM"),
    FULL(42, connect, "fpd"),
    FULL(43, accept, "fpp"),
    PART(44, sendto, "fbuxpd",
         "AF_UNIX; MSG_OOB is EOPNOTSUPP (Linux 5.15+ sends one out-of-band byte on streams)"),
    PART(45, recvfrom, "fBuxpp",
         "AF_UNIX; MSG_OOB is EOPNOTSUPP; MSG_TRUNC reports datagram lengths only"),
    PART(46, sendmsg, "fpx",
         "AF_UNIX: SCM_RIGHTS (253 files) and SCM_CREDENTIALS; no MSG_OOB; sockets in flight that reference each other are not garbage-collected"),
    PART(47, recvmsg, "fpx",
         "as sendmsg; no SO_PEEK_OFF"),
    FULL(48, shutdown, "fd"),
    FULL(49, bind, "fpd"),
    FULL(50, listen, "fd"),
    FULL(51, getsockname, "fpp"),
    FULL(52, getpeername, "fpp"),
    PART(53, socketpair, "dddp",
         "AF_UNIX only"),
    PART(54, setsockopt, "fddpd",
         "SOL_SOCKET options of AF_UNIX (buffers, timeouts, SO_PASSCRED, ...; SO_LINGER, SO_KEEPALIVE and the like stored only); other levels EOPNOTSUPP"),
    PART(55, getsockopt, "fddpp",
         "as setsockopt, plus SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED"),
    PART(56, clone, "xppppx",
         "no namespace flags (EPERM), no CLONE_PIDFD"),
    FULL(57, fork, ""),
    FULL(58, vfork, ""),
    FULL(59, execve, "spp"),
    FULL(60, exit, "d"),
    FULL(61, wait4, "dpdp"),
    FULL(62, kill, "dS"),
    FULL(63, uname, "p"),
    NONE(64, semget),
    NONE(65, semop),
    NONE(66, semctl),
    NONE(67, shmdt),
    NONE(68, msgget),
    NONE(69, msgsnd),
    NONE(70, msgrcv),
    NONE(71, msgctl),
    PART(72, fcntl, "fdx",
         "no leases, no seals, no F_SETOWN/F_SETSIG signal delivery; at most 65536 record locks per file (ENOLCK)"),
    FULL(73, flock, "fd"),
    FULL(74, fsync, "f"),
    FULL(75, fdatasync, "f"),
    FULL(76, truncate, "sd"),
    FULL(77, ftruncate, "fd"),
    NONE(78, getdents),
    FULL(79, getcwd, "pu"),
    FULL(80, chdir, "s"),
    FULL(81, fchdir, "f"),
    FULL(82, rename, "ss"),
    FULL(83, mkdir, "so"),
    FULL(84, rmdir, "s"),
    FULL(85, creat, "so"),
    FULL(86, link, "ss"),
    FULL(87, unlink, "s"),
    FULL(88, symlink, "ss"),
    FULL(89, readlink, "spu"),
    FULL(90, chmod, "so"),
    FULL(91, fchmod, "fo"),
    FULL(92, chown, "sdd"),
    FULL(93, fchown, "fdd"),
    FULL(94, lchown, "sdd"),
    FULL(95, umask, "o"),
    FULL(96, gettimeofday, "pp"),
    FULL(97, getrlimit, "dp"),
    PART(98, getrusage, "dp",
         "CPU times approximate (time in application vs kernel)"),
    PART(99, sysinfo, "p",
         "memory from the sandbox limit"),
    FULL(100, times, "p"),
    DENY(101, ptrace, refuse_eperm, "EPERM: debugging other tasks is not supported in the sandbox"),
    FULL(102, getuid, ""),
    DENY(103, syslog, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(104, getgid, ""),
    FULL(105, setuid, "d"),
    FULL(106, setgid, "d"),
    FULL(107, geteuid, ""),
    FULL(108, getegid, ""),
    FULL(109, setpgid, "dd"),
    FULL(110, getppid, ""),
    FULL(111, getpgrp, ""),
    FULL(112, setsid, ""),
    FULL(113, setreuid, "dd"),
    FULL(114, setregid, "dd"),
    FULL(115, getgroups, "dp"),
    FULL(116, setgroups, "dp"),
    FULL(117, setresuid, "ddd"),
    FULL(118, getresuid, "ppp"),
    FULL(119, setresgid, "ddd"),
    FULL(120, getresgid, "ppp"),
    FULL(121, getpgid, "d"),
    FULL(122, setfsuid, "d"),
    FULL(123, setfsgid, "d"),
    FULL(124, getsid, "d"),
    PART(125, capget, "pp",
         "root has all capabilities the sandbox kernel honours"),
    PART(126, capset, "pp",
         "accepted for root"),
    FULL(127, rt_sigpending, "pu"),
    FULL(128, rt_sigtimedwait, "pppu"),
    FULL(129, rt_sigqueueinfo, "dSp"),
    FULL(130, rt_sigsuspend, "pu"),
    FULL(131, sigaltstack, "pp"),
    FULL(132, utime, "sp"),
    FULL(133, mknod, "sox"),
    DENY(134, uselib, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    PART(135, personality, "x",
         "only the default personality"),
    NONE(136, ustat),
    PART(137, statfs, "sp",
         "values from the backing filesystem"),
    FULL(138, fstatfs, "fp"),
    NONE(139, sysfs),
    PART(140, getpriority, "dd",
         "nice values are kept per thread and reported; they do not change scheduling"),
    PART(141, setpriority, "ddd",
         "nice values are kept per thread and reported; they do not change scheduling"),
    FULL(142, sched_setparam, "dp"),
    FULL(143, sched_getparam, "dp"),
    PART(144, sched_setscheduler, "ddp",
         "only SCHED_OTHER/BATCH/IDLE (recorded); real-time policies EPERM"),
    FULL(145, sched_getscheduler, "d"),
    FULL(146, sched_get_priority_max, "d"),
    FULL(147, sched_get_priority_min, "d"),
    FULL(148, sched_rr_get_interval, "dp"),
    PART(149, mlock, "px",
         "checks the range is mapped (ENOMEM); all memory is already resident; no RLIMIT_MEMLOCK"),
    PART(150, munlock, "px",
         "checks the range is mapped (ENOMEM)"),
    PART(151, mlockall, "x",
         "accepted"),
    PART(152, munlockall, "",
         "accepted"),
    DENY(153, vhangup, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(154, modify_ldt, refuse_eperm, "EPERM: no custom segments"),
    DENY(155, pivot_root, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(156, _sysctl),
    PART(157, prctl, "dxxxx",
         "common options only (names, dumpable per process, pdeath signal, no_new_privs, child subreaper); PR_SET_SECCOMP refused"),
    FULL(158, arch_prctl, "dx"),
    DENY(159, adjtimex, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(160, setrlimit, "dp"),
    ERR(161, chroot, "s", "EPERM: the sandbox root is fixed"),
    FULL(162, sync, ""),
    DENY(163, acct, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    ERR(164, settimeofday, "pp", "EPERM: the sandbox clock follows the host"),
    DENY(165, mount, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(166, umount2, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(167, swapon, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(168, swapoff, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(169, reboot, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(170, sethostname, "su"),
    FULL(171, setdomainname, "su"),
    DENY(172, iopl, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(173, ioperm, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(174, create_module),
    DENY(175, init_module, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(176, delete_module, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(177, get_kernel_syms),
    NONE(178, query_module),
    DENY(179, quotactl, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(180, nfsservctl, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(181, getpmsg),
    NONE(182, putpmsg),
    NONE(183, afs_syscall),
    NONE(184, tuxcall),
    NONE(185, security),
    FULL(186, gettid, ""),
    NONE(187, readahead),
    PART(188, setxattr, "ssbuo", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(189, lsetxattr, "ssbuo", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(190, fsetxattr, "fsbuo", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(191, getxattr, "ssbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(192, lgetxattr, "ssbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(193, fgetxattr, "fsbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(194, listxattr, "sbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(195, llistxattr, "sbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(196, flistxattr, "fbu", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(197, removexattr, "ss", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(198, lremovexattr, "ss", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    PART(199, fremovexattr, "fs", "no filesystem stores extended attributes: get/remove ENODATA, list empty, set EOPNOTSUPP"),
    FULL(200, tkill, "dS"),
    FULL(201, time, "p"),
    PART(202, futex, "pdupud",
         "no PI futexes (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, WAIT_REQUEUE_PI)"),
    PART(203, sched_setaffinity, "dup",
         "the mask is checked and reported back; it does not pin host CPUs"),
    FULL(204, sched_getaffinity, "dup"),
    NONE(205, set_thread_area),
    NONE(206, io_setup),
    NONE(207, io_destroy),
    NONE(208, io_getevents),
    NONE(209, io_submit),
    NONE(210, io_cancel),
    NONE(211, get_thread_area),
    DENY(212, lookup_dcookie, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(213, epoll_create, "d"),
    NONE(214, epoll_ctl_old),
    NONE(215, epoll_wait_old),
    NONE(216, remap_file_pages),
    FULL(217, getdents64, "fpu"),
    FULL(218, set_tid_address, "p"),
    FULL(219, restart_syscall, ""),
    NONE(220, semtimedop),
    PART(221, fadvise64, "fddd",
         "accepted and ignored"),
    PART(222, timer_create, "dpp",
         "timers on CPU clocks only for the caller's own process and threads"),
    FULL(223, timer_settime, "ddpp"),
    FULL(224, timer_gettime, "dp"),
    FULL(225, timer_getoverrun, "d"),
    FULL(226, timer_delete, "d"),
    ERR(227, clock_settime, "dp",
        "EPERM: the sandbox clock follows the host (after Linux's checks: EINVAL for clocks that cannot be set)"),
    FULL(228, clock_gettime, "dp"),
    FULL(229, clock_getres, "dp"),
    FULL(230, clock_nanosleep, "ddpp"),
    FULL(231, exit_group, "d"),
    PART(232, epoll_wait, "fpdd",
         "edge-triggered items may see an extra event after their file's own reads or writes (wait queues carry no event keys)"),
    PART(233, epoll_ctl, "fdfp",
         "EPOLLEXCLUSIVE accepted (all waiters wake); EPOLLWAKEUP ignored; no max_user_watches limit"),
    FULL(234, tgkill, "ddS"),
    FULL(235, utimes, "sp"),
    NONE(236, vserver),
    DENY(237, mbind, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(238, set_mempolicy, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(239, get_mempolicy),
    NONE(240, mq_open),
    NONE(241, mq_unlink),
    NONE(242, mq_timedsend),
    NONE(243, mq_timedreceive),
    NONE(244, mq_notify),
    NONE(245, mq_getsetattr),
    DENY(246, kexec_load, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    PART(247, waitid, "ddpdp",
         "no P_PIDFD"),
    DENY(248, add_key, refuse_eacces, "EACCES: no kernel keyrings"),
    DENY(249, request_key, refuse_eacces, "EACCES: no kernel keyrings"),
    DENY(250, keyctl, refuse_eacces, "EACCES: no kernel keyrings in the sandbox"),
    NONE(251, ioprio_set),
    NONE(252, ioprio_get),
    NONE(253, inotify_init),
    NONE(254, inotify_add_watch),
    NONE(255, inotify_rm_watch),
    DENY(256, migrate_pages, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(257, openat, "fsOo"),
    FULL(258, mkdirat, "fso"),
    FULL(259, mknodat, "fsox"),
    FULL(260, fchownat, "fsddd"),
    NONE(261, futimesat),
    FULL(262, newfstatat, "fspx"),
    FULL(263, unlinkat, "fsx"),
    FULL(264, renameat, "fsfs"),
    FULL(265, linkat, "fsfsx"),
    FULL(266, symlinkat, "sfs"),
    FULL(267, readlinkat, "fspu"),
    FULL(268, fchmodat, "fso"),
    FULL(269, faccessat, "fso"),
    FULL(270, pselect6, "dppppp"),
    FULL(271, ppoll, "pupp"),
    DENY(272, unshare, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(273, set_robust_list, "pu"),
    FULL(274, get_robust_list, "dpp"),
    NONE(275, splice),
    NONE(276, tee),
    NONE(277, sync_file_range),
    NONE(278, vmsplice),
    DENY(279, move_pages, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(280, utimensat, "fspx"),
    PART(281, epoll_pwait, "fpddpu",
         "as epoll_wait"),
    PART(282, signalfd, "dpu",
         "a signal arriving while a read, poll or epoll waits is seen within 1 ms (a signal tick: signal sending wakes no signalfd queue)"),
    FULL(283, timerfd_create, "dx"),
    FULL(284, eventfd, "u"),
    PART(285, fallocate, "fddd",
         "mode 0 and FALLOC_FL_KEEP_SIZE only; no space is reserved: mode 0 extends the size, "
         "and a later write can still fail when the sandbox's memory (tmpfs) or the host's disk "
         "is full"),
    PART(286, timerfd_settime, "fxpp",
         "TFD_TIMER_CANCEL_ON_SET accepted but never cancels; absolute CLOCK_REALTIME timers do not follow wall-clock steps"),
    FULL(287, timerfd_gettime, "fp"),
    FULL(288, accept4, "fppx"),
    PART(289, signalfd4, "dpux",
         "as signalfd"),
    FULL(290, eventfd2, "ux"),
    FULL(291, epoll_create1, "x"),
    FULL(292, dup3, "ffx"),
    FULL(293, pipe2, "px"),
    NONE(294, inotify_init1),
    FULL(295, preadv, "fpdd"),
    FULL(296, pwritev, "fpdd"),
    FULL(297, rt_tgsigqueueinfo, "ddSp"),
    DENY(298, perf_event_open, refuse_eacces, "EACCES: no performance counters in the sandbox"),
    NONE(299, recvmmsg),
    DENY(300, fanotify_init, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(301, fanotify_mark),
    FULL(302, prlimit64, "ddpp"),
    DENY(303, name_to_handle_at, refuse_eopnotsupp, "EOPNOTSUPP: no file handles"),
    DENY(304, open_by_handle_at, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(305, clock_adjtime, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(306, syncfs, "f"),
    NONE(307, sendmmsg),
    DENY(308, setns, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    PART(309, getcpu, "ppp",
         "reports the host CPU of the kernel thread"),
    DENY(310, process_vm_readv, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(311, process_vm_writev, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(312, kcmp, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(313, finit_module, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(314, sched_setattr),
    NONE(315, sched_getattr),
    FULL(316, renameat2, "fsfsx"),
    DENY(317, seccomp, refuse_einval, "EINVAL: nested seccomp filters are not supported"),
    FULL(318, getrandom, "pux"),
    FULL(319, memfd_create, "sx"),
    DENY(320, kexec_file_load, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(321, bpf, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(322, execveat, "fsppx"),
    DENY(323, userfaultfd, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(324, membarrier),
    PART(325, mlock2, "pxx",
         "checks the range is mapped (ENOMEM); all memory is already resident"),
    NONE(326, copy_file_range),
    FULL(327, preadv2, "fpddx"),
    FULL(328, pwritev2, "fpddx"),
    NONE(329, pkey_mprotect),
    NONE(330, pkey_alloc),
    NONE(331, pkey_free),
    FULL(332, statx, "fsxxp"),
    NONE(333, io_pgetevents),
    NONE(334, rseq),
    NONE(424, pidfd_send_signal),
    DENY(425, io_uring_setup, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(426, io_uring_enter, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(427, io_uring_register, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(428, open_tree, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(429, move_mount, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(430, fsopen, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(431, fsconfig, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(432, fsmount, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(433, fspick, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(434, pidfd_open),
    PART(435, clone3, "pu",
         "no set_tid, no cgroups, no pidfd"),
    FULL(436, close_range, "uux"),
    NONE(437, openat2),
    DENY(438, pidfd_getfd, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    FULL(439, faccessat2, "fsox"),
    DENY(440, process_madvise, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    PART(441, epoll_pwait2, "fpdppu",
         "as epoll_wait"),
    DENY(442, mount_setattr, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(443, quotactl_fd, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    DENY(444, landlock_create_ruleset, refuse_eopnotsupp, "EOPNOTSUPP: landlock is not available"),
    NONE(445, landlock_add_rule),
    NONE(446, landlock_restrict_self),
    DENY(447, memfd_secret, refuse_eperm, "EPERM: host resource: refused in the sandbox"),
    NONE(448, process_mrelease),
    NONE(449, futex_waitv),
    NONE(450, set_mempolicy_home_node),
};
