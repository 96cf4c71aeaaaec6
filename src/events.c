// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Each policy's programs write events into its pinned ring buffer. A ring
 * buffer has one consumer position, so readers do not take events from it
 * directly: whoever holds RUN_DIR/events/NAME.lock (the collector) moves
 * them, as JSON lines, to RUN_DIR/events/NAME.jsonl, and every reader prints
 * that file. So several readers each see every event, a reader without
 * --follow sees what was recorded so far, and a follower takes over
 * collecting when the collector exits. Events the ring buffer could not take
 * and events over their rule's rate are counted by the programs; the
 * collector records how many as "lost" lines, so no loss is silent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cgroup.h"
#include "container.h"
#include "events.h"
#include "hook.h"
#include "names.h"
#include "pins.h"
#include "sockdefs.h"
#include "rundir.h"
#include "util.h"

#define LOG_MAX (16u << 20)	/* bytes of NAME.jsonl before it is rotated to NAME.jsonl.1 */

static int64_t ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void iso_time(int64_t real_ns, char *buf, size_t len)
{
	time_t s = (time_t)(real_ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(real_ns % 1000000000 / 1000));
}

static const char *proto_name(unsigned p, char *buf, size_t len)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: case 58: return "icmp";
	case 0: return NULL;
	default: snprintf(buf, len, "%u", p); return buf;
	}
}

static void addr_str(const uint8_t *a, int family, char *buf, size_t len)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

static void instance_of_fd(int fd, char *buf, size_t len)
{
	static char boot[9];
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);

	buf[0] = '\0';
	if (!boot[0]) {
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

		if (!f || !fgets(boot, sizeof(boot), f))
			snprintf(boot, sizeof(boot), "noboot");
		if (f)
			fclose(f);
	}
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "%s-%u", boot, info.id);
}

void cgf_event_instance(const char *name, char *buf, size_t len)
{
	char dir[CGF_PATH_LEN];
	int fd;

	cgf_pin_policy_dir(name, dir, sizeof(dir));
	fd = cgf_pin_get(dir, "events");
	instance_of_fd(fd, buf, len);
	if (fd >= 0)
		close(fd);
}

static void append(struct cgf_event_src *s, json_object *o)
{
	const char *line;
	struct stat st;

	if (s->instance[0] && !json_object_object_get_ex(o, "instance", NULL))
		json_object_object_add(o, "instance", json_object_new_string(s->instance));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);

	if (s->out >= 0 && !fstat(s->out, &st) && (uint64_t)st.st_size > LOG_MAX) {
		char old[PATH_MAX + 4];

		snprintf(old, sizeof(old), "%s.1", s->log);
		rename(s->log, old);
		close(s->out);
		s->out = -1;
	}
	if (s->out < 0)
		s->out = open(s->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (s->out >= 0)
		dprintf(s->out, "%s\n", line);
}

static json_object *rule_json(struct cgf_event_src *s, uint32_t rule, int hook)
{
	uint32_t idx = rule;
	struct cgf_rule_info ri = {};
	json_object *r;

	if (hook == CGF_H_SOCK_CREATE)	/* families, types, protocols: no rules of their own */
		return json_object_new_string("network.sockets");
	if (rule == CGF_RULE_DEFAULT)
		return json_object_new_string("default");
	if (rule == CGF_RULE_RATE)
		return json_object_new_string("rate_limit");
	if (rule == CGF_RULE_DNS)
		return json_object_new_string("dns_guard");
	r = json_object_new_object();
	json_object_object_add(r, "id", json_object_new_int64(rule));
	if (s->v.rule_info >= 0 && !bpf_map_lookup_elem(s->v.rule_info, &idx, &ri)) {
		json_object_object_add(r, "file", json_object_new_string(s->v.meta.source));
		json_object_object_add(r, "line", json_object_new_int64(ri.line));
		json_object_object_add(r, "text", json_object_new_string(ri.text));
	}
	return r;
}

/* to_names: why an egress denial was not allowed by a name */
static void name_why(json_object *o, uint8_t why)
{
	static const char *const words[] = { [CGF_WHY_NO_NAME] = "no-name",
					     [CGF_WHY_EXPIRED] = "name-expired",
					     [CGF_WHY_PORT] = "name-port" };
	static const char *const text[] = {
		[CGF_WHY_NO_NAME] = "no allowed name resolved to this address",
		[CGF_WHY_EXPIRED] = "an allowed name resolved to this address, but its lifetime "
				    "is over (look it up again)",
		[CGF_WHY_PORT] = "an allowed name resolved to this address, but its rules do not "
				 "allow this port or protocol",
	};

	if (!why || why >= ARRAY_SIZE(words))
		return;
	json_object_object_add(o, "names", json_object_new_string(words[why]));
	json_object_object_add(o, "names_why", json_object_new_string(text[why]));
}

/* The name pattern an address was allowed through (rule_info index name - 1). */
static json_object *name_json(struct cgf_event_src *s, uint32_t name)
{
	uint32_t idx = name - 1;
	struct cgf_rule_info ri = {};

	if (s->v.rule_info >= 0 && !bpf_map_lookup_elem(s->v.rule_info, &idx, &ri))
		return json_object_new_string(ri.text);
	return NULL;
}

static bool detail_hook(int hook)
{
	return hook == CGF_H_SOCK_CREATE || hook == CGF_H_DEVICE || hook == CGF_H_SYSCTL;
}

/* What a denial of a hook with no address carries (abi.h: CGF_EV_DETAIL). */
static void detail_json(json_object *o, const struct cgf_event *e)
{
	char buf[64];

	if (e->hook == CGF_H_SOCK_CREATE) {
		json_object *s = json_object_new_object();
		const char *pr = cgf_ipproto_name(e->proto);

		json_object_object_add(s, "family", json_object_new_string(e->family == 6 ? "inet6"
											 : "inet"));
		json_object_object_add(s, "type", json_object_new_string(cgf_socktype_name(e->sport)));
		snprintf(buf, sizeof(buf), "%u", e->proto);
		json_object_object_add(s, "protocol", json_object_new_string(pr ? pr : buf));
		json_object_object_add(o, "socket", s);
	} else if (e->hook == CGF_H_DEVICE) {
		json_object *d = json_object_new_object();
		uint32_t mm[2];

		memcpy(mm, e->saddr, sizeof(mm));
		snprintf(buf, sizeof(buf), "%s%s%s", e->sport & 1 ? "m" : "", e->sport & 2 ? "r" : "",
			 e->sport & 4 ? "w" : "");
		json_object_object_add(d, "type", json_object_new_string(e->proto == 1 ? "b" : "c"));
		json_object_object_add(d, "major", json_object_new_int64(mm[0]));
		json_object_object_add(d, "minor", json_object_new_int64(mm[1]));
		json_object_object_add(d, "access", json_object_new_string(buf));
		json_object_object_add(o, "device", d);
	} else if (e->hook == CGF_H_SYSCTL) {
		json_object *d = json_object_new_object();
		char name[CGF_EV_DETAIL + 1] = "";
		size_t n;

		memcpy(name, e->saddr, CGF_EV_DETAIL);	/* saddr and daddr */
		n = strlen(name);
		json_object_object_add(d, "name", json_object_new_string(name));
		json_object_object_add(d, "truncated", json_object_new_boolean(n == CGF_EV_DETAIL));
		json_object_object_add(d, "write", json_object_new_boolean(e->proto == 1));
		json_object_object_add(o, "sysctl", d);
	}
}

/* log.dns: an address of an answer from a trusted resolver, and its question */
static void dns_json(json_object *o, const void *data, size_t len)
{
	const struct cgf_dns_event *d = data;
	struct cgf_name_key k = { 0 };
	char name[CGF_NAME_TEXT_MAX];

	if (len < sizeof(*d))
		return;
	memcpy(k.name, d->name, sizeof(d->name));
	cgf_name_unkey(&k, name);
	json_object_object_add(o, "name", json_object_new_string(name));
}

/* A denial, or one a staged version would make or lift: its address is the
 * one asked for (bind: the local one, so no destination). */
static bool denial(const struct cgf_event *e)
{
	return e->type == CGF_EV_DENY || e->type == CGF_EV_AUDIT ||
	       e->type == CGF_EV_STAGED_DENY || e->type == CGF_EV_STAGED_ALLOW;
}

static const char *type_str(const struct cgf_event *e)
{
	return e->type == CGF_EV_DENY ? "deny" : e->type == CGF_EV_AUDIT ? "would-deny"
	       : e->type == CGF_EV_CONN_OPEN ? "connection-open"
	       : e->type == CGF_EV_DNS ? "dns"
	       : e->type == CGF_EV_STAGED_DENY ? "staged-deny"
	       : e->type == CGF_EV_STAGED_ALLOW ? "staged-allow" : "connection-close";
}

/* what the call or packet got */
static const char *verdict_str(const struct cgf_event *e)
{
	return e->type == CGF_EV_DENY ? "deny" : e->type == CGF_EV_AUDIT ? "allow (audit)"
	       : e->type == CGF_EV_STAGED_DENY ? "allow (staged would deny)"
					       : "deny (staged would allow)";
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct cgf_event_src *s = ctx;
	const struct cgf_event *e = data;
	json_object *o;
	char buf[128], path[512] = "";

	if (len < sizeof(*e))
		return 0;
	o = json_object_new_object();
	iso_time((int64_t)e->time_ns + s->boot_to_real, buf, sizeof(buf));
	json_object_object_add(o, "time", json_object_new_string(buf));
	json_object_object_add(o, "type", json_object_new_string(type_str(e)));
	json_object_object_add(o, "policy", json_object_new_string(s->name));
	json_object_object_add(o, "hook", json_object_new_string(
		e->hook < CGF_H_MAX ? cgf_hook_names[e->hook] : "?"));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(e->cgroup_id));
	json_object_object_add(o, "cgroup", e->cgroup_id && !cgf_cgroup_path_by_id(e->cgroup_id,
					      path, sizeof(path)) ? json_object_new_string(path) : NULL);
	json_object_object_add(o, "container", e->cgroup_id && path[0] ? cgf_container_json(path)
								      : NULL);
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "comm", json_object_new_string(e->comm));
	{
		const char *pr = proto_name(e->proto, buf, sizeof(buf));

		json_object_object_add(o, "protocol", pr ? json_object_new_string(pr) : NULL);
	}
	if (e->family && !detail_hook(e->hook)) {
		bool any_src = false;

		for (size_t i = 0; i < sizeof(e->saddr); i++)
			any_src |= e->saddr[i] != 0;
		addr_str(e->saddr, e->family, buf, sizeof(buf));
		json_object_object_add(o, "src", any_src ? json_object_new_string(buf) : NULL);
		json_object_object_add(o, "sport", json_object_new_int(e->sport));
		addr_str(e->daddr, e->family, buf, sizeof(buf));
		json_object_object_add(o, "dst", denial(e)
			? (e->hook == CGF_H_BIND4 || e->hook == CGF_H_BIND6 ? NULL
									   : json_object_new_string(buf))
			: json_object_new_string(buf));
		json_object_object_add(o, "dport", json_object_new_int(e->dport));
	}
	if (denial(e)) {
		json_object_object_add(o, "verdict", json_object_new_string(verdict_str(e)));
		/* staged: the rule of the staged version that denied; none for what it
		 * would allow (the version in force's denial is its own event) */
		json_object_object_add(o, "rule", e->type == CGF_EV_STAGED_ALLOW
			? NULL : rule_json(s, e->rule, e->hook));
		name_why(o, e->why);
		if (e->family && !detail_hook(e->hook))	/* who started the flow */
			json_object_object_add(o, "direction", json_object_new_string(
				e->active ? "outbound" : "inbound"));
		detail_json(o, e);
	} else if (e->type == CGF_EV_DNS) {
		dns_json(o, data, len);
	} else {
		json_object_object_add(o, "direction", json_object_new_string(
			e->active ? "outbound" : "inbound"));
	}
	if (e->name)
		json_object_object_add(o, "name", name_json(s, e->name));
	if (e->type == CGF_EV_CONN_CLOSE) {
		json_object_object_add(o, "duration_ms",
				       json_object_new_double((double)e->duration_ns / 1e6));
		json_object_object_add(o, "bytes_sent", json_object_new_uint64(e->bytes_sent));
		json_object_object_add(o, "bytes_received",
				       json_object_new_uint64(e->bytes_received));
		json_object_object_add(o, "retransmits", json_object_new_int64(e->retrans));
		json_object_object_add(o, "srtt_us", json_object_new_int64(e->srtt_us));
	}
	append(s, o);
	json_object_put(o);
	return 0;
}

/* Record what the programs counted as lost since the last record. */
static void note_losses(struct cgf_event_src *s)
{
	uint64_t d = cgf_percpu_sum(s->v.pstats, CGF_PC_EV_DROPPED);
	uint64_t q = cgf_percpu_sum(s->v.pstats, CGF_PC_EV_SUPPRESSED);
	char cpath[PATH_MAX + 16], buf[64];
	FILE *f;

	snprintf(cpath, sizeof(cpath), "%s.counters", s->log);
	if (!s->counters_known) {	/* what the last collector recorded */
		f = fopen(cpath, "r");
		if (!f || fscanf(f, "%" SCNu64 " %" SCNu64, &s->seen_dropped,
				 &s->seen_suppressed) != 2)
			s->seen_dropped = s->seen_suppressed = 0;
		if (f)
			fclose(f);
		s->counters_known = true;
	}
	if (d < s->seen_dropped || q < s->seen_suppressed)	/* counters restarted */
		s->seen_dropped = s->seen_suppressed = 0;
	if (d == s->seen_dropped && q == s->seen_suppressed)
		return;
	json_object *o = json_object_new_object();

	iso_time(ns(CLOCK_REALTIME), buf, sizeof(buf));
	json_object_object_add(o, "time", json_object_new_string(buf));
	json_object_object_add(o, "type", json_object_new_string("lost"));
	json_object_object_add(o, "policy", json_object_new_string(s->name));
	json_object_object_add(o, "dropped", json_object_new_uint64(d - s->seen_dropped));
	json_object_object_add(o, "suppressed", json_object_new_uint64(q - s->seen_suppressed));
	append(s, o);
	json_object_put(o);
	s->seen_dropped = d;
	s->seen_suppressed = q;
	f = fopen(cpath, "w");
	if (f) {
		fprintf(f, "%" PRIu64 " %" PRIu64 "\n", d, q);
		fclose(f);
	}
}

void cgf_event_append(const char *name, json_object *o)
{
	struct cgf_event_src s = { .out = -1 };
	char buf[64];

	if ((mkdir(cgf_run_dir(), 0700) && errno != EEXIST))
		return;
	snprintf(s.log, sizeof(s.log), "%s/events", cgf_run_dir());
	if (mkdir(s.log, 0700) && errno != EEXIST)
		return;
	snprintf(s.log, sizeof(s.log), "%s/events/%s.jsonl", cgf_run_dir(), name);
	cgf_event_instance(name, s.instance, sizeof(s.instance));
	iso_time(ns(CLOCK_REALTIME), buf, sizeof(buf));
	json_object_object_add(o, "time", json_object_new_string(buf));
	append(&s, o);
	if (s.out >= 0)
		close(s.out);
}

/* Become the collector if nobody is, and move what the ring buffer holds to the log. */
void cgf_event_collect(struct cgf_event_src *s, bool keep)
{
	if (s->lock_fd < 0) {
		int fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd);
			return;		/* another reader collects */
		}
		s->lock_fd = fd;
		s->counters_known = false;
	}
	if (!s->rb && s->v.events >= 0)
		s->rb = ring_buffer__new(s->v.events, on_event, s, NULL);
	s->boot_to_real = ns(CLOCK_REALTIME) - ns(CLOCK_BOOTTIME);
	if (s->rb)
		ring_buffer__consume(s->rb);
	note_losses(s);
	if (!keep) {
		ring_buffer__free(s->rb);
		s->rb = NULL;
		if (s->out >= 0)
			close(s->out);
		s->out = -1;
		close(s->lock_fd);
		s->lock_fd = -1;
	}
}

int cgf_event_src_add(struct cgf_event_src **v, size_t *n, const char *name)
{
	struct cgf_event_src *s;
	char dir[PATH_MAX];

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	s = &(*v)[*n];
	memset(s, 0, sizeof(*s));
	s->lock_fd = s->out = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (cgf_vis_open(name, &s->v))
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s/events", cgf_run_dir());
	if ((mkdir(cgf_run_dir(), 0700) && errno != EEXIST) || (mkdir(dir, 0700) && errno != EEXIST)) {
		cgf_vis_close(&s->v);
		return cgf_error(-errno, "cannot create %s: %m", dir);
	}
	snprintf(s->log, sizeof(s->log), "%s/%s.jsonl", dir, name);
	snprintf(s->lock, sizeof(s->lock), "%s/%s.lock", dir, name);
	instance_of_fd(s->v.events, s->instance, sizeof(s->instance));
	(*n)++;
	return 0;
}

int cgf_event_each(struct cgf_event_src *s, void (*fn)(json_object *ev, void *arg), void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	cgf_event_collect(s, false);
	f = fopen(s->log, "r");
	if (!f)
		return errno == ENOENT ? 0 : cgf_error(-errno, "cannot read %s: %m", s->log);
	while (getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line), *in;

		if (!o)
			continue;
		/* this life of the policy (a line without one is of no known life) */
		if (!s->instance[0] || !json_object_object_get_ex(o, "instance", &in) ||
		    !strcmp(json_object_get_string(in), s->instance))
			fn(o, arg);
		json_object_put(o);
	}
	free(line);
	fclose(f);
	return 0;
}

/* ---- the daemon collects for the policies it manages ---- */

struct cgf_collector {
	struct cgf_event_src *s;
	size_t n;
};

struct cgf_collector *cgf_collector_open(const char *name)
{
	struct cgf_collector *c = xcalloc(1, sizeof(*c));
	CGF_DIAG_SCOPE(d);	/* no events to collect: none to lose either */

	if (cgf_event_src_add(&c->s, &c->n, name)) {
		free(c->s);
		free(c);
		return NULL;
	}
	cgf_event_collect(&c->s[0], true);
	return c;
}

/* Move what the ring buffer holds to the log; takes over collecting if free. */
void cgf_collector_poll(struct cgf_collector *c)
{
	if (c)
		cgf_event_collect(&c->s[0], true);
}

void cgf_collector_close(struct cgf_collector *c)
{
	if (!c)
		return;
	cgf_event_collect(&c->s[0], false);	/* the last events, then the lock goes */
	cgf_event_src_close(&c->s[0]);
	free(c->s);
	free(c);
}

void cgf_event_src_close(struct cgf_event_src *s)
{
	ring_buffer__free(s->rb);
	s->rb = NULL;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->out >= 0)
		close(s->out);
	if (s->in)
		fclose(s->in);
	s->lock_fd = s->out = -1;
	s->in = NULL;
	cgf_vis_close(&s->v);
}

