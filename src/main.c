// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence command line: a table of commands matched by unique prefix, as
 * bpftool does; every command prints plain text or, with --json, one JSON
 * document. Exit status: 0 success, 1 failure or invalid policy, 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cli.h"
#include "env.h"
#include "jsonout.h"
#include "layout.h"
#include "util.h"

static int do_version(int argc, char **argv)
{
	int ret = cgf_no_args("version", argc, argv);

	if (ret)
		return ret;
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "version", json_object_new_string(CGF_VERSION));
		json_object_object_add(o, "libbpf", json_object_new_string(libbpf_version_string()));
		json_object_object_add(o, "pin_layout", json_object_new_int(CGF_LAYOUT));
		json_object_object_add(o, "hooks", cgf_json_hooks((1u << CGF_H_MAX) - 1));
		cgf_json_emit(o);
	} else {
		printf("cgfence %s (libbpf %s, pin layout %d)\n", CGF_VERSION,
		       libbpf_version_string(), CGF_LAYOUT);
	}
	return 0;
}

static int do_help(int argc, char **argv);

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} cmds[] = {
	{ "apply", cgf_do_apply,
	  "apply POLICY.yaml [--cgroup PATH | --container ID | --pid PID] [--json]\n"
	  "  cgfence apply --stage POLICY.yaml [--json]" },
	{ "detach", cgf_do_detach, "detach NAME | --all [--json]" },
	{ "promote", cgf_do_promote, "promote NAME [--json]" },
	{ "unstage", cgf_do_unstage, "unstage NAME [--json]" },
	{ "list", cgf_do_list, "list [--json]" },
	{ "run", cgf_do_run,
	  "run -p POLICY.yaml [--audit] [--user USER] [--cgroup-parent PATH] -- CMD [ARG...]\n"
	  "  cgfence run --learn OUT.yaml [-p BASE.yaml] [--group PREFIXLEN] -- CMD [ARG...]" },
	{ "learn", cgf_do_learn, "learn NAME [-o OUT.yaml] [--group PREFIXLEN]" },
	{ "check", cgf_do_check, "check POLICY.yaml [--json]" },
	{ "explain", cgf_do_explain,
	  "explain POLICY.yaml connect|sendmsg|bind|ingress ADDR:PORT[/tcp|udp|icmp] [--json]\n"
	  "  cgfence explain POLICY.yaml socket inet|inet6/stream|dgram|raw[/PROTO] [--json]" },
	{ "stats", cgf_do_stats, "stats [NAME] [--watch SECONDS] [--json]" },
	{ "metrics", cgf_do_metrics, "metrics --listen HOST:PORT" },
	{ "events", cgf_do_events, "events [--json] [--follow] [--all] [NAME]" },
	{ "tree", cgf_do_tree, "tree [CGROUP] [--json]" },
	{ "daemon", cgf_do_daemon,
	  "daemon --policy-dir DIR [--repair-interval S] [--run-dir DIR] [--detach-on-exit]\n"
	  "    [--metrics HOST:PORT] [--oci-policy-dir DIR] [--runtime-root DIR]... [--no-oci]" },
	{ "oci-hook", cgf_do_oci_hook,
	  "oci-hook [--policy-dir DIR] [--stage createRuntime|prestart|poststop] < STATE.json" },
	{ "doctor", cgf_do_doctor, "doctor [--policy-dir DIR] [--json]" },
	{ "version", do_version, "version [--json]" },
	{ "help", do_help, "help" },
};

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: cgfence [-j|--json] [-p|--pretty] [-v|--verbose] COMMAND [ARGS]\n\n"
	       "Commands (any unique prefix works):\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		printf("  cgfence %s\n", cmds[i].usage);
	printf("\nExit status: 0 success, 1 failure or invalid policy, 2 bad usage.\n"
	       "See cgfence(8) (docs/cgfence.8.md) and cgfence-policy(5).\n");
	return 0;
}

static const struct cmd *find_cmd(const char *word)
{
	const struct cmd *found = NULL;
	size_t n = strlen(word);
	char alts[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(cmds[i].name, word))
			return &cmds[i];
		if (!strncmp(cmds[i].name, word, n)) {
			if (found) {
				snprintf(alts + strlen(alts), sizeof(alts) - strlen(alts), " %s",
					 cmds[i].name);
			} else {
				found = &cmds[i];
			}
		}
	}
	if (found && alts[0]) {
		cgf_usage_error("'%s' is ambiguous: %s%s", word, found->name, alts);
		return NULL;
	}
	if (!found)
		cgf_usage_error("unknown command '%s'", word);
	return found;
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	char **args;
	int n = 0, i = 1;
	bool verbose = false;

	/* leading global options */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			cgf_json = true;
		else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			cgf_json = cgf_json_pretty = true;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return do_help(0, NULL);
		else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return do_version(0, NULL);
		else
			return cgf_usage_error("unknown option '%s'", argv[i]);
	}
	if (i >= argc)
		return cgf_usage_error("no command given");
	cgf_libbpf_setup(verbose);
	setlinebuf(stdout);
	cmd = find_cmd(argv[i]);
	if (!cmd)
		return EXIT_USAGE;
	/* --json/--pretty anywhere before "--" (run passes the rest on untouched) */
	args = xcalloc((size_t)argc, sizeof(*args));
	for (int j = i + 1; j < argc; j++) {
		if (!strcmp(argv[j], "--")) {
			while (j < argc)
				args[n++] = argv[j++];
			break;
		}
		if (!strcmp(argv[j], "--json") || !strcmp(argv[j], "-j"))
			cgf_json = true;
		else if (!strcmp(argv[j], "--pretty"))
			cgf_json = cgf_json_pretty = true;
		else
			args[n++] = argv[j];
	}
	int ret = cmd->fn(n, args);

	free(args);
	return ret;
}
