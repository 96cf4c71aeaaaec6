// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON documents of what is applied: list, and stats with visibility. */
#include <string.h>

#include "container.h"
#include "jsonout.h"
#include "layout.h"
#include "loader.h"
#include "outside.h"
#include "pins.h"
#include "report.h"
#include "stats.h"
#include "util.h"

static json_object *counters_json(const uint64_t v[CGF_H_MAX], unsigned int hooks)
{
	json_object *o = json_object_new_object();

	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & (1u << h))
			json_object_object_add(o, cgf_hook_names[h], json_object_new_uint64(v[h]));
	return o;
}

static uint64_t total(const uint64_t v[CGF_H_MAX])
{
	uint64_t t = 0;

	for (int h = 0; h < CGF_H_MAX; h++)
		t += v[h];
	return t;
}

json_object *cgf_applied_outside_json(const struct cgf_applied *a)
{
	json_object *arr = json_object_new_array();
	struct cgf_outside *v = NULL;
	size_t n = 0, np;
	const char **paths = cgf_applied_paths(a, &np);

	{
		CGF_DIAG_SCOPE(d);	/* nothing found is what we can say */

		if (np && cgf_outside_scan(paths, np, &v, &n))
			n = 0;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, cgf_outside_json(&v[i]));
	free(v);
	free(paths);
	return arr;
}

json_object *cgf_applied_json(const struct cgf_applied *a, bool counters)
{
	json_object *o = json_object_new_object(), *cgs = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "mode",
			       json_object_new_string(a->meta.mode ? "audit" : "enforce"));
	json_object_object_add(o, "generation", json_object_new_int64(a->meta.generation));
	json_object_object_add(o, "layout", json_object_new_int64(cgf_meta_layout(&a->meta)));
	json_object_object_add(o, "applied_at", json_object_new_int64((int64_t)a->meta.applied_at));
	json_object_object_add(o, "source", json_object_new_string(a->meta.source));
	if (a->meta.flags & CGF_META_STAGED) {	/* NAME@staged: beside NAME */
		char of[CGF_PATH_LEN];

		json_object_object_add(o, "staged_for", json_object_new_string(
			cgf_pin_staged_of(a->name, of, sizeof(of))));
	}
	json_object_object_add(o, "managed_by", json_object_new_string(
		a->meta.flags & CGF_META_DAEMON ? "daemon"
		: a->meta.flags & CGF_META_OCI ? "oci-hook" : "cli"));
	json_object_object_add(o, "rules", json_object_new_int64(a->meta.n_rules));
	json_object_object_add(o, "prefixes", json_object_new_int64((int64_t)a->meta.n_prefixes));
	for (size_t i = 0; i < a->n_cgs; i++) {
		json_object *cg = json_object_new_object();

		json_object_object_add(cg, "id", json_object_new_uint64(a->cgs[i].id));
		json_object_object_add(cg, "path", a->cgs[i].path[0]
							   ? json_object_new_string(a->cgs[i].path)
							   : NULL);
		json_object_object_add(cg, "container", cgf_container_json(a->cgs[i].path));
		json_object_object_add(cg, "hooks", cgf_json_hooks(a->cgs[i].hooks));
		json_object_array_add(cgs, cg);
	}
	json_object_object_add(o, "cgroups", cgs);
	json_object_object_add(o, "outside_sockets_action", json_object_new_string(
		a->meta.flags & CGF_META_DESTROY_OUTSIDE ? "destroy" : "report"));
	json_object_object_add(o, "outside_sockets", cgf_applied_outside_json(a));
	json_object_object_add(o, "names", cgf_names_json(a->name));
	json_object_object_add(o, "denied", json_object_new_uint64(total(a->denied)));
	json_object_object_add(o, "audit_would_deny", json_object_new_uint64(total(a->audit)));
	if (counters) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "denied", counters_json(a->denied, a->meta.hooks));
		json_object_object_add(h, "audit_would_deny", counters_json(a->audit, a->meta.hooks));
		json_object_object_add(o, "by_hook", h);
		json_object *bs = json_object_new_array();

		for (size_t i = 0; i < a->n_backends; i++) {
			json_object *b = json_object_new_object();

			json_object_object_add(b, "redirect", json_object_new_int64(a->backends[i].entry));
			json_object_object_add(b, "backend", json_object_new_int64(a->backends[i].backend));
			json_object_object_add(b, "connections",
					       json_object_new_uint64(a->backends[i].connections));
			json_object_array_add(bs, b);
		}
		json_object_object_add(o, "redirect_backends", bs);
	}
	return o;
}

/* `stats --json`: the list object, counters by hook, and what the policy counted
 * beyond (stats.c); name NULL for every policy. */
json_object *cgf_stats_doc(const char *name, bool gc, bool *found)
{
	struct cgf_applied *a;
	size_t n;
	json_object *arr = json_object_new_array();

	*found = false;
	if (gc ? cgf_list(&a, &n) : cgf_list_nogc(&a, &n)) {
		json_object_put(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o, *vis;

		size_t nl = name ? strlen(name) : 0;

		/* NAME: the policy and its staged version (NAME@staged) */
		if (name && strcmp(name, a[i].name) &&
		    (strncmp(name, a[i].name, nl) || strcmp(a[i].name + nl, CGF_STAGED_SUFFIX)))
			continue;
		*found |= !name || !strcmp(name, a[i].name);
		o = cgf_applied_json(&a[i], true);
		vis = cgf_vis_json(a[i].name);
		if (vis) {
			json_object_object_foreach(vis, k, v)
				json_object_object_add(o, k, json_object_get(v));
			json_object_put(vis);
		}
		json_object_array_add(arr, o);
	}
	cgf_applied_free(a, n);
	return arr;
}

json_object *cgf_stats_all(void)
{
	bool found;
	CGF_DIAG_SCOPE(ignored);	/* metrics show what can be read */
	json_object *d = cgf_stats_doc(NULL, false, &found);

	return d ? d : json_object_new_array();
}
