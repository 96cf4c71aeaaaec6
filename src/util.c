// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"

static struct cgf_diag root;
static struct cgf_diag *cur = &root;

void cgf_diag_enter(struct cgf_diag *d)
{
	d->prev = cur;
	d->set = false;
	d->msg[0] = '\0';
	cur = d;
}

void cgf_diag_leave(struct cgf_diag *d)
{
	if (cur == d)
		cur = d->prev;
}

static int verror(int err, const char *prefix, const char *fmt, va_list ap)
{
	size_t n;

	if (cur->set)
		return err;	/* the first message of a scope is its cause */
	n = snprintf(cur->msg, sizeof(cur->msg), "%s", prefix);
	if (n < sizeof(cur->msg))
		vsnprintf(cur->msg + n, sizeof(cur->msg) - n, fmt, ap);
	cur->set = true;
	return err;
}

int cgf_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(err, "", fmt, ap);
	va_end(ap);
	return err;
}

int cgf_error_at(int err, const char *file, int line, int col, const char *fmt, ...)
{
	char prefix[1024];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", file, line, col);
	va_start(ap, fmt);
	verror(err, prefix, fmt, ap);
	va_end(ap);
	return err;
}

const char *cgf_last_error(void)
{
	return cur->set ? cur->msg : "unknown error";
}

void cgf_clear_error(void)
{
	cur->set = false;
	cur->msg[0] = '\0';
}

uint64_t cgf_digest(const char *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)b[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

static void oom(void)
{
	fputs("cgfence: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

void grow(void **arr, size_t *cap, size_t need, size_t sz)
{
	size_t c = *cap;

	if (need <= c)
		return;
	c = c ? c : 8;
	while (c < need)
		c *= 2;
	*arr = xrealloc(*arr, c * sz);
	*cap = c;
}

#define ARENA_BLOCK (1u << 20)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct arena {
	struct arena_block *head;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;

	n = (n + 7) & ~(size_t)7;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

int read_file(const char *path, char **buf, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *p = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	for (;;) {
		GROW(p, cap, n + 65536 + 1);
		r = read(fd, p + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += r;
	}
	p[n] = '\0';
	*buf = TAKE_PTR(p);
	if (len)
		*len = n;
	return 0;
}

int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		return -errno;
	return 0;
}

/* [a-z0-9_-]{1,48} */
bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 48)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

uint64_t cgf_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}
