/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_UTIL_H
#define CGF_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Errors: a failing function returns a negative errno and records one
 * message; the boundary that owns the operation (a CLI command, one step of
 * the daemon) reads it with cgf_last_error() and reports it once. Policy
 * errors are formatted "FILE:LINE:COL: message".
 *
 * Messages live in scopes. Within one the first message wins: it is the
 * cause, and a clean-up that fails after it does not replace it. A step
 * whose failure its caller handles or ignores runs in a scope of its own,
 *	{
 *		CGF_DIAG_SCOPE(d);
 *		if (best_effort())
 *			warn(d.msg);
 *	}
 * so what it records never reaches the caller's scope; the scope ends with
 * its block. Without any scope, messages go to the process's own.
 */
int cgf_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cgf_error_at(int err, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
const char *cgf_last_error(void);

struct cgf_diag {
	char msg[4096];
	bool set;
	struct cgf_diag *prev;
};
void cgf_diag_enter(struct cgf_diag *d);
void cgf_diag_leave(struct cgf_diag *d);
#define CGF_DIAG_SCOPE(d)                                                  \
	__attribute__((cleanup(cgf_diag_leave))) struct cgf_diag d = { 0 }; \
	cgf_diag_enter(&d)

/* Tests and fuzzers: forget the message of the process's scope. */
void cgf_clear_error(void);

/* Scope-based cleanup. */
#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Grow *arr (of elements sz bytes) so that it holds at least need elements. */
void grow(void **arr, size_t *cap, size_t need, size_t sz);
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* A bump allocator: many small objects, freed all at once. */
struct arena;
struct arena *arena_new(void);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

int read_file(const char *path, char **buf, size_t *len);
/* A digest of bytes (FNV-1a, never 0): a file's "unchanged". */
uint64_t cgf_digest(const char *b, size_t n);
/* The cookie of the network namespace this process is in (SO_NETNS_COOKIE),
 * 0 where the kernel has none. */
uint64_t cgf_netns_cookie(void);
int write_string(const char *path, const char *s);
bool valid_name(const char *s);

#endif
