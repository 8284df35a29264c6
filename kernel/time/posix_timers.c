/* CPU clocks, CPU-time interval timers and POSIX timers (see posix_timers.h). Timers on
 * REALTIME/MONOTONIC/BOOTTIME/TAI run on kernel timers; timers on CPU clocks are checked when the
 * run loop accounts CPU time, and a kernel "CPU tick" interrupts the running threads of a process
 * while it has such a timer armed so that a program that never makes a syscall still sees it. */
#include "kernel/time/posix_timers.h"
#include "snapshot/state.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "kernel/signal/signal.h"
#include "kernel/util/cleanup.h"
#include "kernel/util/log.h"

#define NS              1000000000ll
#define TICK_NS         4000000ll /* Linux's jiffy at HZ=250: resolution of the PROF and VIRT clocks */
#define CPU_TICK_MIN_NS 1000000ll
#define CPU_TICK_MAX_NS 50000000ll

/* ---- CPU clocks ---------------------------------------------------------------------------- */

bool fb_cpuclock_is(clockid_t id)
{
    return id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID ||
           (id < 0 && (id & 7) != 3 /* CLOCKFD: a dynamic (device) clock */);
}

/* What a CPU clock id names: pid (0 = the caller), a thread's clock or a process's, which
 * counter. 0 or -EINVAL. */
static int cpuclock_decode(clockid_t id, int *pid, bool *thread, int *which)
{
    if (id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID) {
        *pid = 0;
        *thread = id == CLOCK_THREAD_CPUTIME_ID;
        *which = FB_CPUCLOCK_SCHED;
    } else if (id < 0 && (id & 7) != 3) {
        *pid = ~(id >> 3);
        *thread = id & 4;
        *which = id & 3;
    } else {
        return -EINVAL;
    }
    return *which > FB_CPUCLOCK_SCHED || *pid < 0 ? -EINVAL : 0;
}

int fb_cpuclock_get(struct fb_task *t, clockid_t id, bool gettime, struct fb_cpuclock *out)
{
    bool thread;
    int pid, which;

    if (cpuclock_decode(id, &pid, &thread, &which) < 0)
        return -EINVAL;
    out->which = which;
    out->task = NULL;
    if (thread) {
        struct fb_task *o = pid ? fb_task_lookup(pid) : t;
        if (!o || o->tg != t->tg)
            return -EINVAL;
        out->task = o;
        out->tg = o->tg;
        return 0;
    }
    if (!pid || (gettime && pid == t->tid)) {
        out->tg = t->tg;
        return 0;
    }
    out->tg = fb_tg_lookup_any(pid); /* must name a process (a zombie still has its times) */
    return out->tg ? 0 : -EINVAL;
}

/* User time of t not yet accounted: it is running application code since app_since_ns. */
static int64_t running_ns(const struct fb_task *t, int64_t now)
{
    return t->app_since_ns ? FB_MAX(now - t->app_since_ns, 0) : 0;
}

int64_t fb_cpuclock_read(const struct fb_cpuclock *c)
{
    int64_t now = fb_host_mono_ns(), user, sys;

    if (c->task) {
        user = c->task->utime_ns + running_ns(c->task, now);
        sys = c->task->stime_ns;
    } else {
        struct fb_list *pos;
        user = c->tg->utime_ns;
        sys = c->tg->stime_ns;
        fb_list_for_each(pos, &c->tg->threads) user +=
            running_ns(fb_list_entry(pos, struct fb_task, tg_node), now);
    }
    return c->which == FB_CPUCLOCK_VIRT ? user : user + sys;
}

int64_t fb_cpuclock_res(const struct fb_cpuclock *c)
{
    return c->which == FB_CPUCLOCK_SCHED ? 1 : TICK_NS;
}

/* ---- POSIX timer objects ------------------------------------------------------------------- */

struct posix_timer {
    struct fb_list node; /* fb_thread_group.posix_timers */
    struct fb_thread_group *tg;
    int id;
    clockid_t clock; /* REALTIME, MONOTONIC, BOOTTIME or TAI when !cpu */
    bool cpu;        /* on a CPU clock: */
    bool cpu_thread; /*   of one thread (cpu_task; NULL once it exited) */
    int cpu_which;   /*   FB_CPUCLOCK_* */
    struct fb_task *cpu_task;
    int notify; /* SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID */
    int signo;
    uint64_t value;         /* sigev_value */
    struct fb_task *target; /* SIGEV_THREAD_ID: the thread signalled (NULL once it exited) */
    bool armed;
    int64_t expires;  /* in the timer clock's own time */
    int64_t interval; /* 0 = one-shot */
    int overrun;      /* expirations while the signal was pending */
    int overrun_last; /* reported by timer_getoverrun */
    struct fb_ktimer kt;
};

/* Kernel struct sigevent. */
struct k_sigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    int32_t tid; /* SIGEV_THREAD_ID */
    int32_t pad[11];
};

static struct posix_timer *timer_find(struct fb_thread_group *tg, int id)
{
    struct fb_list *pos;
    fb_list_for_each(pos, &tg->posix_timers)
    {
        struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        if (tm->id == id)
            return tm;
    }
    return NULL;
}

/* The timer's clock now, or -1 for the clock of a thread that exited (it never advances). */
static int64_t timer_now(const struct posix_timer *tm)
{
    if (tm->cpu) {
        struct fb_cpuclock c = {tm->cpu_which, tm->tg, tm->cpu_task};
        if (tm->cpu_thread && !tm->cpu_task)
            return -1;
        return fb_cpuclock_read(&c);
    }
    if (tm->clock == CLOCK_REALTIME || tm->clock == CLOCK_TAI)
        return fb_app_real_ns();
    return fb_app_mono_ns();
}

/* Is a signal of this timer queued and not yet delivered? */
static bool timer_signal_queued(const struct posix_timer *tm, const struct fb_sigpending *q)
{
    struct fb_list *pos;
    if (!(q->mask & FB_SIGBIT(tm->signo)))
        return false;
    fb_list_for_each(pos, &q->list)
    {
        const siginfo_t *si = &fb_list_entry(pos, struct fb_sigqueue_entry, node)->info;
        if (si->si_signo == tm->signo && si->si_code == SI_TIMER && si->si_timerid == tm->id)
            return true;
    }
    return false;
}

static void add_overrun(struct posix_timer *tm, int64_t n)
{
    tm->overrun = (int)FB_MIN((int64_t)tm->overrun + n, (int64_t)INT_MAX);
}

/* One expiration: queue the signal, or count an overrun while the last one is pending. */
static void timer_signal(struct posix_timer *tm)
{
    struct fb_sigpending *q;
    siginfo_t si;

    if (tm->notify == SIGEV_NONE)
        return;
    if (tm->notify == SIGEV_THREAD_ID && !tm->target)
        return;
    q = tm->notify == SIGEV_THREAD_ID ? &tm->target->pending : &tm->tg->shared_pending;
    if (timer_signal_queued(tm, q)) {
        add_overrun(tm, 1);
        return;
    }
    memset(&si, 0, sizeof(si));
    si.si_signo = tm->signo;
    si.si_code = SI_TIMER;
    si.si_timerid = tm->id;
    si.si_value.sival_ptr = (void *)(uintptr_t)tm->value;
    if (tm->notify == SIGEV_THREAD_ID)
        fb_signal_send_task(tm->target, tm->signo, &si);
    else
        fb_signal_send_tg(tm->tg, tm->signo, &si);
}

/* Move a periodic timer's expiry past now; the periods skipped count as overruns. */
static void timer_forward(struct posix_timer *tm, int64_t now)
{
    int64_t missed;
    if (!tm->interval || now < tm->expires)
        return;
    missed = (now - tm->expires) / tm->interval;
    tm->expires += (missed + 1) * tm->interval;
    add_overrun(tm, missed);
}

static void timer_ktimer_arm(struct posix_timer *tm, int64_t now)
{
    int64_t left = FB_MAX(tm->expires - now, 0);
    fb_ktimer_arm(&tm->kt, fb_app_mono_ns() + left);
}

static void cputimers_update(struct fb_thread_group *tg);

/* The timer reached its expiry at clock value `now`. */
static void timer_expire(struct posix_timer *tm, int64_t now)
{
    timer_signal(tm);
    if (!tm->interval) {
        tm->armed = false;
        return;
    }
    timer_forward(tm, now);
    if (!tm->cpu)
        timer_ktimer_arm(tm, now);
}

static void timer_fire(struct fb_ktimer *k)
{
    struct posix_timer *tm = fb_container_of(k, struct posix_timer, kt);
    if (!tm->armed || tm->tg->state != FB_TG_LIVE)
        return;
    timer_expire(tm, timer_now(tm));
}

static void timer_disarm(struct posix_timer *tm)
{
    tm->armed = false;
    fb_ktimer_cancel(&tm->kt);
}

static void timer_free(struct posix_timer *tm)
{
    timer_disarm(tm);
    fb_list_del(&tm->node);
    free(tm);
}

/* ---- CPU-time timers ----------------------------------------------------------------------- */

/* The process's user (or, with prof, user + system) CPU time. */
static int64_t tg_cpu(struct fb_thread_group *tg, bool prof)
{
    struct fb_cpuclock c = {prof ? FB_CPUCLOCK_PROF : FB_CPUCLOCK_VIRT, tg, NULL};
    return fb_cpuclock_read(&c);
}

/* Wall time after which the first CPU timer could expire if every live thread ran. */
static int64_t cpu_tick_step(struct fb_thread_group *tg)
{
    int64_t left = CPU_TICK_MAX_NS;
    struct fb_list *pos;

    if (tg->itimer_virt.expires_ns)
        left = FB_MIN(left, tg->itimer_virt.expires_ns - tg_cpu(tg, false));
    if (tg->itimer_prof.expires_ns)
        left = FB_MIN(left, tg->itimer_prof.expires_ns - tg_cpu(tg, true));
    fb_list_for_each(pos, &tg->posix_timers)
    {
        struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        int64_t now = tm->armed && tm->cpu ? timer_now(tm) : -1;
        if (now >= 0)
            left = FB_MIN(left, tm->expires - now);
    }
    left /= FB_MAX(tg->live_threads, 1);
    return FB_MIN(FB_MAX(left, CPU_TICK_MIN_NS), CPU_TICK_MAX_NS);
}

/* The CPU tick: make the running threads pass through the run loop, which accounts their CPU
 * time and calls fb_cputimers_account. Sleeping threads use no CPU and are left alone. */
static void cpu_tick_fire(struct fb_ktimer *k)
{
    struct fb_thread_group *tg = fb_container_of(k, struct fb_thread_group, cpu_tick);
    struct fb_list *pos;

    if (tg->state != FB_TG_LIVE)
        return;
    fb_list_for_each(pos, &tg->threads)
    {
        struct fb_task *o = fb_list_entry(pos, struct fb_task, tg_node);
        if (o->state == FB_TASK_RUNNING && !o->exiting)
            fb_task_interrupt(o);
    }
    cputimers_update(tg);
}

/* Recount the armed CPU-time timers; start or stop the CPU tick accordingly. */
static void cputimers_update(struct fb_thread_group *tg)
{
    struct fb_list *pos;
    int n = (tg->itimer_virt.expires_ns != 0) + (tg->itimer_prof.expires_ns != 0);

    fb_list_for_each(pos, &tg->posix_timers)
    {
        struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        if (tm->armed && tm->cpu && tm->notify != SIGEV_NONE && timer_now(tm) >= 0)
            n++;
    }
    tg->nr_cpu_timers = n;
    if (!n || tg->state != FB_TG_LIVE) {
        fb_ktimer_cancel(&tg->cpu_tick);
        return;
    }
    tg->cpu_tick.fire = cpu_tick_fire;
    if (!tg->cpu_tick.armed)
        fb_ktimer_arm(&tg->cpu_tick, fb_app_mono_ns() + cpu_tick_step(tg));
}

static bool itimer_check(struct fb_thread_group *tg, struct fb_cpu_itimer *it, int64_t now, int sig)
{
    if (!it->expires_ns || now < it->expires_ns)
        return false;
    it->expires_ns = it->interval_ns ? it->expires_ns + it->interval_ns : 0;
    fb_signal_send_tg(tg, sig, NULL); /* SI_KERNEL, as Linux sends it */
    return true;
}

void fb_cputimers_account(struct fb_thread_group *tg)
{
    struct fb_list *pos, *tmp;
    bool changed = false;

    if (tg->state != FB_TG_LIVE)
        return;
    changed |= itimer_check(tg, &tg->itimer_virt, tg_cpu(tg, false), SIGVTALRM);
    changed |= itimer_check(tg, &tg->itimer_prof, tg_cpu(tg, true), SIGPROF);
    fb_list_for_each_safe(pos, tmp, &tg->posix_timers)
    {
        struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        int64_t now;
        if (!tm->armed || !tm->cpu || tm->notify == SIGEV_NONE)
            continue;
        now = timer_now(tm);
        if (now >= 0 && now >= tm->expires) {
            timer_expire(tm, now);
            changed = true;
        }
    }
    if (changed)
        cputimers_update(tg);
}

static struct timeval ns_to_tv(int64_t ns)
{
    struct timeval tv = {ns / NS, (ns % NS) / 1000};
    return tv;
}

void fb_cpu_itimer_get(struct fb_thread_group *tg, int which, struct itimerval *out)
{
    bool prof = which == ITIMER_PROF;
    struct fb_cpu_itimer *it = prof ? &tg->itimer_prof : &tg->itimer_virt;
    int64_t left = 0;

    if (it->expires_ns) {
        left = it->expires_ns - tg_cpu(tg, prof);
        if (left <= 0)
            left = TICK_NS; /* about to fire (Linux reports one tick) */
    }
    out->it_value = ns_to_tv(left);
    out->it_interval = ns_to_tv(it->interval_ns);
}

void fb_cpu_itimer_set(struct fb_thread_group *tg, int which, const struct itimerval *nv,
                       struct itimerval *old)
{
    bool prof = which == ITIMER_PROF;
    struct fb_cpu_itimer *it = prof ? &tg->itimer_prof : &tg->itimer_virt;
    int64_t value = nv->it_value.tv_sec * NS + nv->it_value.tv_usec * 1000;

    if (old)
        fb_cpu_itimer_get(tg, which, old);
    it->interval_ns = nv->it_interval.tv_sec * NS + nv->it_interval.tv_usec * 1000;
    it->expires_ns = value ? tg_cpu(tg, prof) + value : 0;
    cputimers_update(tg);
}

/* ---- POSIX timer system calls -------------------------------------------------------------- */

/* Clocks POSIX timers run on, besides CPU clocks. Returns 0, -EINVAL (no such clock) or
 * -EOPNOTSUPP (a clock without timers, like Linux's RAW and COARSE clocks). */
static int timer_clock_ok(clockid_t clock)
{
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_TAI:
        return 0;
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_REALTIME_ALARM: /* alarm clocks need an RTC, which the sandbox does not have */
    case CLOCK_BOOTTIME_ALARM:
        return -EOPNOTSUPP;
    default:
        return -EINVAL;
    }
}

int64_t fb_timer_create(struct fb_task *t, clockid_t clock, uint64_t usevp, uint64_t uid)
{
    struct fb_thread_group *tg = t->tg;
    struct k_sigevent ev;
    struct posix_timer *tm;
    struct fb_cpuclock cc = {0};
    bool cpu = fb_cpuclock_is(clock);
    size_t count = 0;
    struct fb_list *pos;
    int id, r;

    if (usevp && fb_mm_copy_in(t->mm, usevp, &ev, sizeof(ev)) != 0)
        return -EFAULT;
    if (!cpu && (r = timer_clock_ok(clock)) < 0)
        return r;
    fb_list_for_each(pos, &tg->posix_timers) count++;
    if (count >= tg->rlim[RLIMIT_SIGPENDING].rlim_cur)
        return -EAGAIN;
    tm = calloc(1, sizeof(*tm));
    if (!tm)
        return -EAGAIN;
    tm->tg = tg;
    tm->clock = clock;
    tm->kt.fire = timer_fire;
    /* Ids like Linux: a per-process counter, skipping ids still in use. */
    do {
        id = tg->next_timer_id;
        tg->next_timer_id = (id + 1) & INT_MAX;
    } while (timer_find(tg, id));
    tm->id = id;
    if (usevp) {
        switch (ev.notify) {
        case SIGEV_THREAD_ID:
            tm->target = fb_task_lookup(ev.tid);
            if (!tm->target || tm->target->tg != tg)
                goto out_einval;
            /* fallthrough */
        case SIGEV_SIGNAL:
        case SIGEV_THREAD: /* the C library turns it into SIGEV_THREAD_ID; plain is a signal */
            if (ev.signo <= 0 || ev.signo > 64)
                goto out_einval;
            /* fallthrough */
        case SIGEV_NONE:
            break;
        default:
            goto out_einval;
        }
        tm->notify = ev.notify == SIGEV_THREAD ? SIGEV_SIGNAL : ev.notify;
        tm->signo = ev.signo;
        tm->value = ev.value;
    } else {
        tm->notify = SIGEV_SIGNAL;
        tm->signo = SIGALRM;
        tm->value = (uint64_t)id;
    }
    if (fb_mm_copy_out(t->mm, uid, &id, sizeof(id)) != 0) {
        free(tm);
        return -EFAULT;
    }
    if (cpu) {
        r = fb_cpuclock_get(t, clock, false, &cc);
        if (r < 0 || cc.tg != tg) { /* CPU timers on other processes' clocks: not supported */
            free(tm);
            return -EINVAL;
        }
        tm->cpu = true;
        tm->cpu_which = cc.which;
        tm->cpu_thread = cc.task != NULL;
        tm->cpu_task = cc.task;
    }
    fb_list_add_tail(&tg->posix_timers, &tm->node);
    return 0;

out_einval:
    free(tm);
    return -EINVAL;
}

static int get_itimerspec(struct fb_task *t, uint64_t uaddr, int64_t *interval, int64_t *value)
{
    struct timespec ts[2];
    if (fb_mm_copy_in(t->mm, uaddr, ts, sizeof(ts)) != 0)
        return -EFAULT;
    for (int i = 0; i < 2; i++)
        if (ts[i].tv_sec < 0 || ts[i].tv_nsec < 0 || ts[i].tv_nsec >= NS)
            return -EINVAL;
    *interval =
        ts[0].tv_sec > INT64_MAX / NS / 4 ? INT64_MAX / 4 : ts[0].tv_sec * NS + ts[0].tv_nsec;
    *value = ts[1].tv_sec > INT64_MAX / NS / 4 ? INT64_MAX / 4 : ts[1].tv_sec * NS + ts[1].tv_nsec;
    return 0;
}

/* Current setting: the interval and the time left (Linux common_timer_get). */
static void timer_current(struct posix_timer *tm, struct timespec out[2])
{
    int64_t left = 0, now;

    memset(out, 0, 2 * sizeof(out[0]));
    out[0].tv_sec = tm->interval / NS;
    out[0].tv_nsec = tm->interval % NS;
    if (!tm->armed)
        return;
    now = timer_now(tm);
    if (now < 0)
        return;
    if (tm->notify == SIGEV_NONE) {
        /* Never signalled: its periods are counted here. */
        timer_forward(tm, now);
        left = tm->expires - now;
        if (left <= 0) {
            tm->armed = false;
            return;
        }
    } else {
        left = tm->expires - now;
        if (left <= 0)
            left = 1; /* expired, its signal about to be sent */
    }
    out[1].tv_sec = left / NS;
    out[1].tv_nsec = left % NS;
}

int64_t fb_timer_settime(struct fb_task *t, int id, int flags, uint64_t unew, uint64_t uold)
{
    struct posix_timer *tm;
    struct timespec old[2];
    int64_t interval, value, now;
    int r;

    if (!unew)
        return -EINVAL;
    r = get_itimerspec(t, unew, &interval, &value);
    if (r < 0)
        return r;
    tm = timer_find(t->tg, id);
    if (!tm)
        return -EINVAL;
    timer_current(tm, old);
    timer_disarm(tm);
    tm->interval = 0;
    tm->overrun = tm->overrun_last = 0;
    if (value) {
        now = timer_now(tm);
        tm->interval = interval;
        tm->expires = (flags & TIMER_ABSTIME) ? value : now + value;
        tm->armed = now >= 0;
        if (tm->armed && !tm->cpu && tm->notify != SIGEV_NONE)
            timer_ktimer_arm(tm, now);
    }
    if (tm->cpu)
        cputimers_update(t->tg);
    if (uold && fb_mm_copy_out(t->mm, uold, old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

int64_t fb_timer_gettime(struct fb_task *t, int id, uint64_t ucur)
{
    struct posix_timer *tm = timer_find(t->tg, id);
    struct timespec cur[2];

    if (!tm)
        return -EINVAL;
    timer_current(tm, cur);
    return fb_mm_copy_out(t->mm, ucur, cur, sizeof(cur)) ? -EFAULT : 0;
}

int64_t fb_timer_getoverrun(struct fb_task *t, int id)
{
    struct posix_timer *tm = timer_find(t->tg, id);
    return tm ? tm->overrun_last : -EINVAL;
}

int64_t fb_timer_delete(struct fb_task *t, int id)
{
    struct posix_timer *tm = timer_find(t->tg, id);
    bool cpu;

    if (!tm)
        return -EINVAL;
    cpu = tm->cpu;
    timer_free(tm);
    if (cpu)
        cputimers_update(t->tg);
    return 0;
}

/* ---- hooks from signals and task lifetime -------------------------------------------------- */

void fb_posix_timer_dequeued(struct fb_thread_group *tg, siginfo_t *info)
{
    struct posix_timer *tm = timer_find(tg, info->si_timerid);
    if (!tm || tm->signo != info->si_signo)
        return;
    info->si_overrun = tm->overrun;
    tm->overrun_last = tm->overrun;
    tm->overrun = 0;
}

void fb_posix_timers_task_exit(struct fb_task *t)
{
    struct fb_list *pos;
    bool cpu = false;

    fb_list_for_each(pos, &t->tg->posix_timers)
    {
        struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        if (tm->target == t)
            tm->target = NULL;
        if (tm->cpu_task == t) {
            tm->cpu_task = NULL;
            cpu = true;
        }
    }
    if (cpu)
        cputimers_update(t->tg);
}

void fb_posix_timers_delete_all(struct fb_thread_group *tg)
{
    struct fb_list *pos, *tmp;
    fb_list_for_each_safe(pos, tmp, &tg->posix_timers)
        timer_free(fb_list_entry(pos, struct posix_timer, node));
    cputimers_update(tg);
}

void fb_cputimers_exit(struct fb_thread_group *tg)
{
    fb_posix_timers_delete_all(tg);
    tg->itimer_virt.expires_ns = tg->itimer_prof.expires_ns = 0;
    tg->nr_cpu_timers = 0;
    fb_ktimer_cancel(&tg->cpu_tick);
}

/* ---- checkpoint support ------------------------------------------------------------------------ */

void fb_posix_timers_save(const struct fb_thread_group *tg, struct fb_sw *w)
{
    const struct fb_list *pos;
    uint32_t n = 0;

    fb_list_for_each(pos, &tg->posix_timers) n++;
    fb_sw_array(w, n);
    fb_list_for_each(pos, &tg->posix_timers)
    {
        const struct posix_timer *tm = fb_list_entry(pos, struct posix_timer, node);
        fb_sw_array(w, 15);
        fb_sw_i64(w, tm->id);
        fb_sw_i64(w, tm->clock);
        fb_sw_i64(w, tm->notify);
        fb_sw_i64(w, tm->signo);
        fb_sw_u64(w, tm->value);
        fb_sw_i64(w, tm->target ? tm->target->tid : 0);
        fb_sw_bool(w, tm->armed);
        fb_sw_i64(w, tm->expires);
        fb_sw_i64(w, tm->interval);
        fb_sw_i64(w, tm->overrun);
        fb_sw_i64(w, tm->overrun_last);
        /* CPU clocks: the clock id names it, but the thread clock's thread may be gone. */
        fb_sw_bool(w, tm->cpu);
        fb_sw_i64(w, tm->cpu_which);
        fb_sw_bool(w, tm->cpu_thread);
        fb_sw_i64(w, tm->cpu_task ? tm->cpu_task->tid : 0);
    }
}

int fb_posix_timers_load(struct fb_thread_group *tg, struct fb_sr *r)
{
    struct fb_sr arr;
    uint32_t i;

    fb_sr_sub(r, &arr);
    if (*r->err || arr.n > 65536)
        return -EINVAL;
    for (i = 0; i < arr.n; i++) {
        struct fb_sr e;
        struct posix_timer *tm = calloc(1, sizeof(*tm));
        int64_t target;
        if (!tm)
            return -ENOMEM;
        fb_sr_sub(&arr, &e);
        tm->tg = tg;
        tm->id = (int)fb_sr_i64(&e);
        tm->clock = (clockid_t)fb_sr_i64(&e);
        tm->notify = (int)fb_sr_i64(&e);
        tm->signo = (int)fb_sr_i64(&e);
        tm->value = fb_sr_u64(&e);
        target = fb_sr_i64(&e);
        tm->armed = fb_sr_bool(&e);
        tm->expires = fb_sr_i64(&e);
        tm->interval = fb_sr_i64(&e);
        tm->overrun = (int)fb_sr_i64(&e);
        tm->overrun_last = (int)fb_sr_i64(&e);
        tm->kt.fire = timer_fire;
        if (e.n >= 15) { /* images before CPU-clock timers were saved have 11 fields */
            int64_t cpu_tid;
            tm->cpu = fb_sr_bool(&e);
            tm->cpu_which = (int)fb_sr_i64(&e);
            tm->cpu_thread = fb_sr_bool(&e);
            cpu_tid = fb_sr_i64(&e);
            if (tm->cpu && tm->cpu_thread && cpu_tid) {
                tm->cpu_task = fb_task_lookup((int)cpu_tid);
                if (!tm->cpu_task || tm->cpu_task->tg != tg)
                    *r->err = true;
            }
            /* Which counter and whose clock follow from the id: saved, they must agree. */
            if (tm->cpu) {
                int pid, which;
                bool thread;
                if (cpuclock_decode(tm->clock, &pid, &thread, &which) < 0 ||
                    which != tm->cpu_which || thread != tm->cpu_thread ||
                    (!tm->cpu_thread && cpu_tid))
                    *r->err = true;
            }
        }
        if (target) {
            tm->target = fb_task_lookup((int)target);
            if (!tm->target || tm->target->tg != tg)
                *r->err = true;
        }
        if (*r->err || tm->id < 0 || timer_find(tg, tm->id) ||
            (tm->cpu ? !fb_cpuclock_is(tm->clock) : timer_clock_ok(tm->clock) != 0 ||
                                                        fb_cpuclock_is(tm->clock)) ||
            tm->interval < 0 || tm->expires < 0 ||
            (tm->notify != SIGEV_NONE && (tm->signo < 1 || tm->signo > 64)) ||
            (tm->notify != SIGEV_NONE && tm->notify != SIGEV_SIGNAL &&
             tm->notify != SIGEV_THREAD_ID)) {
            free(tm);
            *r->err = true;
            return -EINVAL;
        }
        fb_list_add_tail(&tg->posix_timers, &tm->node);
        if (tm->armed && !tm->cpu && tm->notify != SIGEV_NONE)
            timer_ktimer_arm(tm, timer_now(tm));
    }
    cputimers_update(tg); /* CPU-clock timers: the CPU tick runs again */
    return 0;
}
