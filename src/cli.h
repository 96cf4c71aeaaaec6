/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The command line: one cgf_do_* per command (main.c's table dispatches),
 * and what they share (cli.c). Nothing below the CLI includes this file.
 */
#ifndef CGF_CLI_H
#define CGF_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "policy.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* Report the recorded error; EXIT_FAIL. */
int cgf_fail(void);
/* Report a usage error (and where help is); EXIT_USAGE. */
int cgf_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A command that takes no argument: 0, or the usage error. */
int cgf_no_args(const char *cmd, int argc, char **argv);
/* Parse POLICY and compile it for this host; errors are reported. */
int cgf_load_compile(const char *path, struct cgf_policy **p, struct cgf_compiled **c);
/* The cgroup a policy goes to: --cgroup arg, else its target (reported). */
int cgf_target_cgroup(const struct cgf_policy *p, const char *arg, char *abs, size_t len);
/* The image's map sizes (apply and check --json). */
struct json_object *cgf_map_entries_json(const struct cgf_compiled *c);
/* Hook names, comma-separated. */
void cgf_print_hooks(uint32_t hooks);

int cgf_do_apply(int argc, char **argv);
/* apply --stage POLICY, promote NAME, unstage NAME (cmd_stage.c) */
int cgf_do_stage(const char *file);
int cgf_do_promote(int argc, char **argv);
int cgf_do_unstage(int argc, char **argv);
int cgf_do_detach(int argc, char **argv);
int cgf_do_list(int argc, char **argv);
int cgf_do_stats(int argc, char **argv);
int cgf_do_metrics(int argc, char **argv);
int cgf_do_check(int argc, char **argv);
int cgf_do_explain(int argc, char **argv);
int cgf_do_run(int argc, char **argv);
int cgf_do_learn(int argc, char **argv);
/* learning (cmd_learn.c): the events of a source into a learner, and the result to OUT */
struct cgf_learn;
struct cgf_event_src;
int cgf_learn_from(struct cgf_event_src *s, struct cgf_learn *l);
int cgf_learn_write(const struct cgf_learn *l, const char *name, const char *out, int group,
		    const char *const *dns, const char *note);
int cgf_do_oci_hook(int argc, char **argv);
int cgf_do_doctor(int argc, char **argv);
int cgf_do_tree(int argc, char **argv);
int cgf_do_daemon(int argc, char **argv);
int cgf_do_events(int argc, char **argv);

/* to_names: the "names" object of list/stats as text lines */
void cgf_print_names(struct json_object *names, const char *indent);

#endif
