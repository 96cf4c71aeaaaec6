// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence learn NAME [-o OUT.yaml] [--group PREFIXLEN]: a policy that allows
 * what an applied audit-mode policy saw (its recorded events), and the
 * writing that `run --learn` shares.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "events.h"
#include "learn.h"
#include "loader.h"
#include "policy.h"
#include "util.h"

static void feed(json_object *ev, void *arg)
{
	cgf_learn_event(arg, ev);
}

int cgf_learn_from(struct cgf_event_src *s, struct cgf_learn *l)
{
	return cgf_event_each(s, feed, l);
}

/* The host's ephemeral ports: a bind there was the kernel's choice (port 0). */
static void ephemeral(uint16_t *lo, uint16_t *hi)
{
	char *buf = NULL;
	unsigned a = 32768, b = 60999;

	if (!read_file("/proc/sys/net/ipv4/ip_local_port_range", &buf, NULL))
		sscanf(buf, "%u %u", &a, &b);
	free(buf);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
}

int cgf_learn_write(const struct cgf_learn *l, const char *name, const char *out, int group,
		    const char *const *dns, const char *note)
{
	struct cgf_learn_opts o = { .name = name, .dns = dns, .group = group, .note = note };
	struct cgf_policy *p = NULL;
	char *yaml, tmp[4200];
	int err, fd;

	ephemeral(&o.eph_lo, &o.eph_hi);
	yaml = cgf_learn_yaml(l, &o);
	/* what we write must read back as a policy */
	err = cgf_policy_parse_string(out ? out : "learnt policy", yaml, strlen(yaml), &p);
	cgf_policy_free(p);
	if (err) {
		free(yaml);
		return cgf_fail();
	}
	if (!out || !strcmp(out, "-")) {
		fputs(yaml, stdout);
		free(yaml);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml) || fsync(fd) ||
	    rename(tmp, out)) {
		cgf_error(-errno, "cannot write %s: %m", out);
		if (fd >= 0)
			unlink(tmp);
		free(yaml);
		if (fd >= 0)
			close(fd);
		return cgf_fail();
	}
	close(fd);
	chmod(out, 0644);
	free(yaml);
	fprintf(stderr, "cgfence: wrote %s from %llu events%s\n", out,
		(unsigned long long)cgf_learn_used(l),
		cgf_learn_lost(l) ? " (some were lost: see its first lines)" : "");
	return 0;
}

/* The resolvers of the policy file an applied policy came from, for to_names. */
static const char **dns_of(const char *source, char buf[][64])
{
	static const char *list[CGF_DNS_SERVERS_MAX + 1];
	struct cgf_policy *p = NULL;
	size_t n = 0;
	CGF_DIAG_SCOPE(d);	/* no file: the defaults */

	list[0] = NULL;
	if (source && *source && !cgf_policy_load(source, &p)) {
		n = cgf_dns_server_strs(&p->dns, buf, list);
		cgf_policy_free(p);
	}
	return n ? list : NULL;
}

int cgf_do_learn(int argc, char **argv)
{
	const char *name = NULL, *out = NULL;
	struct cgf_event_src *src = NULL;
	struct cgf_learn *l;
	char dnsbuf[CGF_DNS_SERVERS_MAX][64], note[600];
	size_t n = 0;
	int group = 0, ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--group") && i + 1 < argc)
			group = atoi(argv[++i]);
		else if (argv[i][0] == '-' || name)
			return cgf_usage_error("learn: usage: learn NAME [-o OUT.yaml] [--group PREFIXLEN]");
		else
			name = argv[i];
	}
	if (!name)
		return cgf_usage_error("learn: usage: learn NAME [-o OUT.yaml] [--group PREFIXLEN]");
	if (group < 0 || group > 32)
		return cgf_usage_error("learn: --group: a prefix length of 0 to 32");
	if (cgf_env_check() || cgf_event_src_add(&src, &n, name)) {
		free(src);
		return cgf_fail();
	}
	if (src->v.meta.mode != CGF_MODE_AUDIT)
		fprintf(stderr, "cgfence: learn: %s is in enforce mode: what it denied is learnt, "
			"what it allowed is not\n", name);
	snprintf(note, sizeof(note), "from the events of policy %s (%s)", name,
		 src->v.meta.source);
	l = cgf_learn_new();
	ret = cgf_learn_from(src, l) ? cgf_fail()
				     : cgf_learn_write(l, name, out, group,
						       dns_of(src->v.meta.source, dnsbuf), note);
	cgf_learn_free(l);
	cgf_event_src_close(src);
	free(src);
	return ret;
}
