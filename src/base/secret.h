/*
 * secret.h: how a process holds the client secret so that it never lands
 * in a core dump, on swap or in freed memory.
 *
 * secret_harden() makes the process undumpable (prctl PR_SET_DUMPABLE 0: no
 * core file, no ptrace by the same user, /proc/PID owned by root) and sets
 * RLIMIT_CORE to 0. Every command that reads a secret calls it first
 * (run_config_finish(), finch-mock).
 *
 * secret_dup() copies a secret into its own pages, locked in memory with
 * mlock(2) where the memory-lock limit permits (else merely private), and
 * secret_free() wipes and unmaps them. What is still held at exit() is
 * wiped then too. libcurl keeps its own copy of the password (in its heap,
 * freed with the handle): that one is covered by the first rule only.
 */
#ifndef FINCH_SECRET_H
#define FINCH_SECRET_H

#include <stddef.h>

/* No core dump of this process, whatever it inherited. Idempotent. */
void secret_harden(void);

/* A NUL-terminated copy of s[0..len) in locked pages; never NULL. */
char *secret_dup(const char *s, size_t len);
/* Wipes and unmaps what secret_dup() returned; NULL is ignored. */
void secret_free(char *s);

#endif
