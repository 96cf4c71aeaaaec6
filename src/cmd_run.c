// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence run: CMD in a fresh cgroup under a transient policy NAME-run-PID.
 * With --user, CMD runs with that user's uid, gid and groups and with
 * no_new_privs, so it can neither leave its cgroup nor use bpf().
 *
 * The policy is attached before CMD starts: the child moves itself into the
 * cgroup and only then execs. CMD's exit status is ours (128+N when a signal
 * killed it). Signals sent to cgfence (not the terminal's, which reach CMD
 * directly) are passed on; if CMD does not exit within RUN_GRACE seconds of
 * that, everything in the cgroup is killed. Afterwards the cgroup is emptied
 * and removed, and the policy's pins too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "cli.h"
#include "jsonout.h"
#include "loader.h"
#include "pipeline.h"
#include "util.h"

#define RUN_GRACE 5

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t got_signal;

static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* the terminal already sent its signals to CMD (same process group) */
	if (si->si_code != SI_USER && si->si_code != SI_QUEUE && sig != SIGALRM)
		return;
	if (sig == SIGALRM) {
		got_signal = -1;
		return;
	}
	if (child_pid > 0)
		kill(child_pid, sig);
	if (!got_signal) {
		got_signal = sig;
		alarm(RUN_GRACE);
	}
}

static int kill_cgroup(const char *cg)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/cgroup.kill", cg);
	return write_string(p, "1");
}

/* Wait until no process is left in the cgroup (at most ~5 s), then rmdir. */
static int remove_cgroup(const char *cg)
{
	for (int i = 0; i < 500; i++) {
		if (!rmdir(cg) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		if (i == 0 || i % 50 == 0)
			kill_cgroup(cg);
		usleep(10000);
	}
	return cgf_error(-errno, "cannot remove cgroup %s: %m", cg);
}

/* --user: that user's uid, gid and groups, and no way back to privileges */
static void drop_to(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "cgfence: run: cannot become user %s: %m\n", pw->pw_name);
		_exit(125);
	}
	if (setuid(0) == 0) {	/* paranoia: the drop must be final */
		fprintf(stderr, "cgfence: run: could regain root after dropping to %s\n", pw->pw_name);
		_exit(125);
	}
}

static void run_child(const char *cg, char **argv, pid_t parent, const sigset_t *mask,
		      const struct passwd *pw)
{
	char p[600];

	sigprocmask(SIG_SETMASK, mask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);
	snprintf(p, sizeof(p), "%s/cgroup.procs", cg);
	if (write_string(p, "0")) {
		fprintf(stderr, "cgfence: run: cannot enter cgroup %s: %m\n", cg);
		_exit(125);
	}
	if (pw)
		drop_to(pw);	/* after entering the cgroup, before CMD */
	execvp(argv[0], argv);
	fprintf(stderr, "cgfence: run: cannot execute '%s': %m\n", argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

int cgf_do_run(int argc, char **argv)
{
	const char *file = NULL, *parent = NULL, *user = NULL;
	struct passwd pwbuf, *pw = NULL;
	char pwstr[4096];
	bool audit = false;
	char **cmd = NULL;
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	char base[512], cg[600], name[CGF_NAME_MAX + 1];
	struct cgf_apply_result r;
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	sigset_t stopsigs, oldmask;
	int ret, status = 0;
	pid_t pid;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = &argv[i + 1];
			break;
		} else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--policy")) {
			if (++i >= argc)
				return cgf_usage_error("run: -p needs a POLICY file");
			file = argv[i];
		} else if (!strcmp(argv[i], "--audit")) {
			audit = true;
		} else if (!strcmp(argv[i], "--user")) {
			if (++i >= argc)
				return cgf_usage_error("run: --user needs a USER");
			user = argv[i];
		} else if (!strcmp(argv[i], "--cgroup-parent")) {
			if (++i >= argc)
				return cgf_usage_error("run: --cgroup-parent needs a PATH");
			parent = argv[i];
		} else if (argv[i][0] == '-') {
			return cgf_usage_error("run: unknown option '%s'", argv[i]);
		} else {
			cmd = &argv[i];	/* no "--": CMD starts at the first non-option */
			break;
		}
	}
	if (!file)
		return cgf_usage_error("run: -p POLICY is required");
	if (!cmd || !cmd[0])
		return cgf_usage_error("run: no command given (run -p POLICY -- CMD [ARG...])");
	if (user) {	/* a user name, or a uid */
		char *end;
		long uid = strtol(user, &end, 10);

		if (getpwnam_r(user, &pwbuf, pwstr, sizeof(pwstr), &pw) || !pw) {
			pw = NULL;
			if (*user && !*end && uid >= 0)
				getpwuid_r((uid_t)uid, &pwbuf, pwstr, sizeof(pwstr), &pw);
		}
		if (!pw)
			return cgf_usage_error("run: --user: no user '%s'", user);
	}
	/* a signal during set-up is held until CMD runs, then passed on */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGHUP);
	sigaddset(&stopsigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stopsigs, &oldmask);
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		goto out;
	if (parent ? cgf_cgroup_resolve(parent, base, sizeof(base))
		   : cgf_cgroup2_mount(base, sizeof(base))) {
		cgf_report_error(cgf_last_error());
		ret = EXIT_FAIL;
		goto out;
	}
	snprintf(name, sizeof(name), "%.*s-run-%d", CGF_NAME_MAX - 13, p->name, (int)getpid());
	snprintf(cg, sizeof(cg), "%s/cgfence-%s", base, name);
	if (mkdir(cg, 0755)) {
		cgf_error(-errno, "run: cannot create cgroup %s: %m", cg);
		cgf_report_error(cgf_last_error());
		ret = EXIT_FAIL;
		goto out;
	}
	struct cgf_apply_opts o = { .cgroup = cg, .name = name, .source = file,
				    .mode = audit ? CGF_MODE_AUDIT : p->mode };

	if (cgf_pipeline_apply(c, &o, &r)) {
		cgf_report_error(cgf_last_error());
		rmdir(cg);
		ret = EXIT_FAIL;
		goto out;
	}
	cgf_unlock();	/* others may apply while CMD runs */

	fflush(NULL);
	pid_t me = getpid();

	pid = fork();
	if (pid == 0)
		run_child(cg, cmd, me, &oldmask, pw);
	child_pid = pid;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (pid < 0) {
		cgf_error(-errno, "run: fork: %m");
		cgf_report_error(cgf_last_error());
		ret = EXIT_FAIL;
	} else {
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				break;
			if (got_signal == -1)	/* grace period over */
				kill_cgroup(cg);
		}
		ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	alarm(0);
	kill_cgroup(cg);
	cgf_clear_error();
	if (remove_cgroup(cg) | cgf_detach(name)) {
		cgf_report_error(cgf_last_error());
		if (!ret)
			ret = EXIT_FAIL;
	}
out:
	cgf_compiled_free(c);
	cgf_policy_free(p);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return ret;
}
