/* Confinement of fnbox's host processes once their setup is done: capabilities dropped with
 * libcap, PR_SET_NO_NEW_PRIVS, and a libseccomp allowlist whose default action kills the process.
 * Called by api/sandbox.c; the policy tables here are also what docs/security.md prints. */
#ifndef FB_API_CONFINE_H
#define FB_API_CONFINE_H

#include <stdbool.h>
#include <stdio.h>

#include "kernel/util/error.h"

/* Lock the calling Sentry process down, on every thread it has (seccomp TSYNC): no capability
 * left (effective, permitted, inheritable, ambient, bounding), securebits locked so that uid 0
 * regains nothing, no_new_privs, and the Sentry allowlist. Preconditions: the empty root is in
 * place, the memory file and the platform (source stub) exist, every fd the Sentry needs is
 * open; no application instruction has run. Returns 0 or -1 with err set. */
int fb_confine_sentry(struct fb_error *err);

/* Lock the calling Gofer down after its view is built and the server holds its root: keeps only
 * the file capabilities serving needs (see the table), no_new_privs, the Gofer allowlist.
 * Returns 0 or -1 with err set. */
int fb_confine_gofer(struct fb_error *err);

/* Empty the calling process's capability bounding set (what an exec could gain; its own
 * capabilities stay), dropping only what is still in it: each drop commits new credentials.
 * The controller does it before it clones the Gofer and the Sentry, whose lock-downs then find
 * nothing left to drop. Returns 0 or -1 with err set (EPERM without CAP_SETPCAP). */
int fb_confine_drop_bound(struct fb_error *err);

/* Whether the BPF programs built into fnbox (compiled from the rule tables at build time) are
 * what libseccomp makes of the tables now. For the unit test. */
bool fb_confine_programs_current(void);

/* Number of rules in each allowlist (one syscall may have several rules). */
size_t fb_confine_sentry_rules(void);
size_t fb_confine_gofer_rules(void);

/* Print both policies: capabilities kept and allowlists with their justifications, as plain
 * text or as the Markdown tables of docs/security.md. */
void fb_confine_print(FILE *out, bool markdown);

/* `fnbox confine --list [--markdown]` (hidden: for docs and reviewers). */
int fb_cmd_confine(int argc, char **argv);

#endif
