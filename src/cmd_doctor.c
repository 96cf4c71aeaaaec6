// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence doctor: is this host set up so that an annotated container is
 * confined? A runtime that finds no hook file ignores the annotation, and
 * the container runs unconfined without a word. For each runtime installed:
 * the hooks directories that runtime reads (podman: hooks_dir of
 * containers.conf, else /usr/share/containers/oci/hooks.d only; CRI-O:
 * hooks_dir of crio.conf, else both directories), a cgfence hook for the
 * create and poststop stages there, the program it runs (present,
 * executable, owned by root, writable by nobody else), its policy
 * directory and the policies in it; cgfence hook files in directories the
 * runtime does not read; Docker's and containerd's runtime wrapper; the
 * daemon (the second line). Each finding is "ok", "warn" or "fix" with what
 * to do; exit 1 when something must be fixed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "env.h"
#include "jsonout.h"
#include "oci.h"
#include "pipeline.h"
#include "rundir.h"
#include "target.h"
#include "util.h"

#define PODMAN_DEFAULT_HOOKS "/usr/share/containers/oci/hooks.d"
#define ETC_HOOKS "/etc/containers/oci/hooks.d"

static json_object *findings;
static int n_fix;

static void say(const char *level, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(const char *level, const char *what, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n_fix += !strcmp(level, "fix");
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "about", json_object_new_string(what));
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_array_add(findings, o);
	} else {
		printf("%-4s %s: %s\n", level, what, msg);
	}
}

/* An executable in PATH, or NULL. */
static const char *in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	char *copy = xstrdup(path), *save = NULL;

	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", d, prog);
		if (!access(buf, X_OK)) {
			free(copy);
			return buf;
		}
	}
	free(copy);
	return NULL;
}

/* The strings of `key = [ "a", "b" ]` (may span lines) in a TOML file,
 * appended to dirs; true when the key is there. */
static bool toml_strings(const char *file, const char *key, char ***dirs, size_t *n)
{
	char *buf = NULL, *p;
	size_t len;
	bool found = false;

	if (read_file(file, &buf, &len))
		return false;
	for (p = buf; (p = strstr(p, key)); p += strlen(key)) {
		char *line = p;

		while (line > buf && line[-1] != '\n')
			line--;
		if (strspn(line, " \t") != (size_t)(p - line))
			continue;	/* commented out, or part of another key */
		char *q = p + strlen(key);

		q += strspn(q, " \t");
		if (*q != '=')
			continue;
		q = strchr(q, '[');
		if (!q)
			continue;
		found = true;
		for (q++; *q && *q != ']';) {
			if (*q == '"' || *q == '\'') {
				char *end = strchr(q + 1, *q);

				if (!end)
					break;
				*dirs = xrealloc(*dirs, (*n + 1) * sizeof(**dirs));
				(*dirs)[(*n)++] = strndup(q + 1, (size_t)(end - q - 1));
				q = end + 1;
			} else {
				q++;
			}
		}
	}
	free(buf);
	return found;
}

/* hooks_dir as podman reads it: CONTAINERS_CONF alone if set, else the
 * system files in order (the last that sets it wins); empty: the default. */
static size_t podman_hooks_dirs(char ***dirs)
{
	const char *env = getenv("CONTAINERS_CONF");
	size_t n = 0;

	*dirs = NULL;
	if (env) {
		toml_strings(env, "hooks_dir", dirs, &n);
	} else {
		glob_t g = { 0 };
		const char *files[] = { "/usr/share/containers/containers.conf",
					"/etc/containers/containers.conf" };

		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			char **d = NULL;
			size_t k = 0;

			if (toml_strings(files[i], "hooks_dir", &d, &k)) {
				cgf_strv_free(*dirs, n);
				*dirs = d;
				n = k;
			}
		}
		glob("/etc/containers/containers.conf.d/*.conf", 0, NULL, &g);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char **d = NULL;
			size_t k = 0;

			if (toml_strings(g.gl_pathv[i], "hooks_dir", &d, &k)) {
				cgf_strv_free(*dirs, n);
				*dirs = d;
				n = k;
			}
		}
		globfree(&g);
	}
	if (!n) {
		*dirs = xcalloc(1, sizeof(**dirs));
		(*dirs)[n++] = xstrdup(PODMAN_DEFAULT_HOOKS);
	}
	return n;
}

/* Nobody but root may change it: owned by root, not group- or world-writable. */
static const char *unsafe(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return "does not exist";
	if (st.st_uid != 0)
		return "is not owned by root";
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return "is writable by others than root";
	return NULL;
}

struct hookfile {
	char path[4096];
	bool create, poststop;
};

/* A hooks.d file that runs cgfence oci-hook: its stages; checked. */
static bool cgfence_hook(const char *what, const char *file, struct hookfile *h)
{
	json_object *o = json_object_from_file(file), *hook, *args, *stages, *when, *ann;
	const char *prog = NULL, *policy_dir = DEFAULT_POLICY_DIR, *why;
	bool ours = false;

	if (!o)
		return false;
	if (json_object_object_get_ex(o, "hook", &hook) &&
	    json_object_object_get_ex(hook, "args", &args)) {
		json_object *p;

		for (size_t i = 0; i < json_object_array_length(args); i++) {
			const char *a = json_object_get_string(json_object_array_get_idx(args, i));

			ours |= a && !strcmp(a, "oci-hook");
			if (a && !strcmp(a, "--policy-dir") && i + 1 < json_object_array_length(args))
				policy_dir = json_object_get_string(
					json_object_array_get_idx(args, i + 1));
		}
		if (json_object_object_get_ex(hook, "path", &p))
			prog = json_object_get_string(p);
	}
	if (!ours) {
		json_object_put(o);
		return false;
	}
	snprintf(h->path, sizeof(h->path), "%s", file);
	if (json_object_object_get_ex(o, "stages", &stages))
		for (size_t i = 0; i < json_object_array_length(stages); i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(stages, i));

			h->poststop |= s && !strcmp(s, "poststop");
			h->create |= s && (!strcmp(s, "prestart") || !strcmp(s, "createRuntime") ||
					   !strcmp(s, "createContainer"));
		}
	if (!json_object_object_get_ex(o, "when", &when) ||
	    !json_object_object_get_ex(when, "annotations", &ann) ||
	    !json_object_object_length(ann))
		say("warn", what, "%s runs for every container, not only annotated ones (no "
		    "when.annotations): it does nothing for the others", file);
	if ((why = unsafe(file)))
		say("fix", what, "%s %s: whoever can change it decides what runs for every "
		    "container; chown root and chmod go-w", file, why);
	if (!prog || access(prog, X_OK))
		say("fix", what, "%s runs %s, which %s: the runtime will refuse every annotated "
		    "container; set hook.path to where cgfence is", file, prog ?: "nothing",
		    prog ? "is not an executable file" : "is not named");
	else if ((why = unsafe(prog)))
		say("fix", what, "%s runs %s, which %s; chown root and chmod go-w", file, prog, why);
	else
		say("ok", what, "%s runs %s at %s", file, prog,
		    h->create && h->poststop ? "create and poststop"
		    : h->create ? "create" : h->poststop ? "poststop" : "no stage it knows");
	struct stat st;

	if (stat(policy_dir, &st) || !S_ISDIR(st.st_mode))
		say("fix", what, "%s names the policy directory %s, which does not exist: "
		    "annotated containers will be refused", file, policy_dir);
	json_object_put(o);
	return true;
}

/* The cgfence hooks in one directory. */
static void scan_hooks_dir(const char *what, const char *dir, bool read_by_runtime,
			   bool *create, bool *poststop)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4096];
		struct hookfile h = { 0 };
		size_t n = strlen(e->d_name);

		if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!read_by_runtime) {
			json_object *o = json_object_from_file(path);
			bool ours = o && strstr(json_object_to_json_string(o), "oci-hook");

			json_object_put(o);
			if (ours)
				say("fix", what, "%s is never run: %s reads hooks only from the "
				    "directories above; move it there", path, what);
			continue;
		}
		if (cgfence_hook(what, path, &h)) {
			*create |= h.create;
			*poststop |= h.poststop;
		}
	}
	if (d)
		closedir(d);
}

static bool contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static void check_hooks_runtime(const char *what, char **dirs, size_t n)
{
	bool create = false, poststop = false;
	char list[2048] = "";
	static const char *const known[] = { PODMAN_DEFAULT_HOOKS, ETC_HOOKS };

	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 dirs[i]);
	say("ok", what, "reads hooks from %s", list);
	for (size_t i = 0; i < n; i++)
		scan_hooks_dir(what, dirs[i], true, &create, &poststop);
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!contains(dirs, n, known[i]))
			scan_hooks_dir(what, known[i], false, NULL, NULL);
	if (!create)
		say("fix", what, "no cgfence hook for the create stage in %s: annotated containers "
		    "run unconfined; copy contrib/oci/cgfence-create.json there", list);
	if (!poststop)
		say("fix", what, "no cgfence hook for poststop in %s: a removed container's links "
		    "stay until the next cgfence command; copy contrib/oci/cgfence-poststop.json "
		    "there", list);
}

static void check_podman(void)
{
	char buf[4096], ver[64] = "", what[96], **dirs;
	const char *p = in_path("podman", buf, sizeof(buf));
	FILE *f;
	size_t n;

	if (!p)
		return;
	f = popen("podman --version 2>/dev/null", "re");
	if (f && fgets(buf, sizeof(buf), f))
		sscanf(buf, "podman version %63s", ver);
	if (f)
		pclose(f);
	snprintf(what, sizeof(what), "podman %s", ver[0] ? ver : "(version unknown)");
	n = podman_hooks_dirs(&dirs);
	check_hooks_runtime(what, dirs, n);
	cgf_strv_free(dirs, n);
}

static void check_crio(void)
{
	char buf[4096], **dirs = NULL;
	size_t n = 0;

	if (!in_path("crio", buf, sizeof(buf)))
		return;
	if (!toml_strings("/etc/crio/crio.conf", "hooks_dir", &dirs, &n) || !n) {
		dirs = xcalloc(2, sizeof(*dirs));
		dirs[n++] = xstrdup(PODMAN_DEFAULT_HOOKS);
		dirs[n++] = xstrdup(ETC_HOOKS);
	}
	check_hooks_runtime("cri-o", dirs, n);
	cgf_strv_free(dirs, n);
}

/* Docker and containerd read no hooks.d: the runtime wrapper must be registered. */
static void check_wrapper(const char *prog, const char *what, const char *conf)
{
	char buf[4096], *text = NULL;
	size_t len;

	if (!in_path(prog, buf, sizeof(buf)))
		return;
	if (!read_file(conf, &text, &len) && strstr(text, "runc-cgfence"))
		say("ok", what, "%s registers the runtime wrapper runc-cgfence; containers must "
		    "use that runtime to be confined", conf);
	else
		say("fix", what, "reads no hooks.d: register contrib/oci/runc-cgfence as a runtime "
		    "in %s (docs/oci-hook.md), or annotated containers run unconfined", conf);
	free(text);
}

static void check_daemon(void)
{
	char path[4096];
	json_object *st, *v;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/daemon.json", cgf_run_dir());
	st = json_object_from_file(path);
	if (st && json_object_object_get_ex(st, "pid", &v))
		pid = json_object_get_int(v);
	json_object_put(st);
	if (pid > 0 && !kill(pid, 0))
		say("ok", "daemon", "running (pid %d): an annotated container that no hook confined "
		    "is confined by the daemon a few milliseconds after it is created", pid);
	else
		say("warn", "daemon", "not running: nothing catches an annotated container that no "
		    "hook confined; run cgfence daemon (contrib/systemd) as the second line");
}

/* The policies annotations name: each must pass check. */
static void check_policies(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n_ok = 0;

	if (!d) {
		say("warn", "policies", "%s: %s (oci-hook's default --policy-dir)", dir,
		    strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		char path[4096];
		size_t n = strlen(e->d_name);
		struct cgf_policy *p = NULL;
		struct cgf_compiled *c = NULL;

		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		CGF_DIAG_SCOPE(diag);
		if (cgf_pipeline_compile(path, NULL, 0, &p, &c))
			say("fix", "policies", "%s (containers annotated with it are refused)",
			    diag.msg);
		else
			n_ok++;
		cgf_compiled_free(c);
		cgf_policy_free(p);
	}
	closedir(d);
	say("ok", "policies", "%zu valid in %s", n_ok, dir);
}

int cgf_do_doctor(int argc, char **argv)
{
	const char *policy_dir = DEFAULT_POLICY_DIR;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--policy-dir") && i + 1 < argc)
			policy_dir = argv[++i];
		else
			return cgf_usage_error("doctor: unexpected argument '%s' (doctor "
					       "[--policy-dir DIR])", argv[i]);
	}
	findings = json_object_new_array();
	n_fix = 0;
	{
		CGF_DIAG_SCOPE(d);

		if (cgf_env_check())
			say("fix", "kernel", "%s", d.msg);
		else
			say("ok", "kernel", "cgroup2, bpffs and BTF as cgfence needs them");
	}
	check_podman();
	check_crio();
	check_wrapper("dockerd", "docker", "/etc/docker/daemon.json");
	check_wrapper("containerd", "containerd", "/etc/containerd/config.toml");
	check_policies(policy_dir);
	check_daemon();
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "findings", findings);
		json_object_object_add(o, "fix", json_object_new_int(n_fix));
		cgf_json_emit(o);
	} else {
		json_object_put(findings);
		printf("%d thing%s to fix\n", n_fix, n_fix == 1 ? "" : "s");
	}
	findings = NULL;
	return n_fix ? EXIT_FAIL : EXIT_OK;
}
