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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <seccomp.h>

#include "cgroup.h"
#include "cli.h"
#include "jsonout.h"
#include "env.h"
#include "events.h"
#include "learn.h"
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

/*
 * network.sockets.families, enforced for every family (the cgroup hook sees
 * only inet and inet6): a seccomp filter makes socket() and socketpair() of
 * a family not listed fail with EAFNOSUPPORT, as systemd's
 * RestrictAddressFamilies= does. Syscalls of another ABI (32-bit
 * socketcall) are refused by libseccomp's default for a foreign
 * architecture: the process is killed.
 */
static int restrict_families(uint64_t allowed)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	const int calls[] = { SCMP_SYS(socket), SCMP_SYS(socketpair) };
	int err = f ? 0 : -ENOMEM;

	for (size_t i = 0; i < ARRAY_SIZE(calls) && !err; i++) {
		for (int af = 0; af < 64 && !err; af++)
			if (!(allowed & (1ull << af)))
				err = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), calls[i], 1,
						       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af));
		err = err ?: seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), calls[i], 1,
					      SCMP_A0(SCMP_CMP_GE, 64));
	}
	err = err ?: seccomp_load(f);
	seccomp_release(f);
	return err;
}

static void run_child(const char *cg, char **argv, pid_t parent, const sigset_t *mask,
		      const struct passwd *pw, uint64_t families)
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
	if (families && restrict_families(families)) {
		fprintf(stderr, "cgfence: run: cannot restrict address families (seccomp)\n");
		_exit(125);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "cgfence: run: cannot execute '%s': %m\n", argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

struct run {
	const char *file, *parent, *user, *learn;
	int group;
	bool audit;
	char **cmd;
	struct passwd pwbuf, *pw;
	char pwstr[4096];
	char cg[600], name[CGF_NAME_MAX + 1];
	uint64_t families;	/* AF_* bits allowed (0: families not given, no filter) */
	struct cgf_event_src *src;	/* --learn: the transient policy's events */
};

/* -p POLICY [--audit] [--user USER] [--cgroup-parent PATH] [--] CMD...; 0 or a usage error */
static int parse_run_args(struct run *r, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			r->cmd = &argv[i + 1];
			break;
		} else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--policy")) {
			if (++i >= argc)
				return cgf_usage_error("run: -p needs a POLICY file");
			r->file = argv[i];
		} else if (!strcmp(argv[i], "--audit")) {
			r->audit = true;
		} else if (!strcmp(argv[i], "--learn")) {
			if (++i >= argc)
				return cgf_usage_error("run: --learn needs an OUT.yaml file");
			r->learn = argv[i];
		} else if (!strcmp(argv[i], "--group")) {
			if (++i >= argc || atoi(argv[i]) < 1 || atoi(argv[i]) > 32)
				return cgf_usage_error("run: --group needs a prefix length, 1 to 32");
			r->group = atoi(argv[i]);
		} else if (!strcmp(argv[i], "--user")) {
			if (++i >= argc)
				return cgf_usage_error("run: --user needs a USER");
			r->user = argv[i];
		} else if (!strcmp(argv[i], "--cgroup-parent")) {
			if (++i >= argc)
				return cgf_usage_error("run: --cgroup-parent needs a PATH");
			r->parent = argv[i];
		} else if (argv[i][0] == '-') {
			return cgf_usage_error("run: unknown option '%s'", argv[i]);
		} else {
			r->cmd = &argv[i];	/* no "--": CMD starts at the first non-option */
			break;
		}
	}
	if (!r->file && !r->learn)
		return cgf_usage_error("run: -p POLICY is required");
	if (r->group && !r->learn)
		return cgf_usage_error("run: --group is for --learn");
	if (!r->cmd || !r->cmd[0])
		return cgf_usage_error("run: no command given (run -p POLICY -- CMD [ARG...])");
	return 0;
}

/* --user: a user name, or a uid */
static int find_user(struct run *r)
{
	char *end;
	long uid;

	if (!r->user)
		return 0;
	uid = strtol(r->user, &end, 10);
	if (getpwnam_r(r->user, &r->pwbuf, r->pwstr, sizeof(r->pwstr), &r->pw) || !r->pw) {
		r->pw = NULL;
		if (*r->user && !*end && uid >= 0)
			getpwuid_r((uid_t)uid, &r->pwbuf, r->pwstr, sizeof(r->pwstr), &r->pw);
	}
	return r->pw ? 0 : cgf_usage_error("run: --user: no user '%s'", r->user);
}

/* The transient cgroup and policy: NAME-run-PID under the cgroup2 root or the parent. */
static int set_up(struct run *r, const struct cgf_policy *p, const struct cgf_compiled *c)
{
	char base[512];
	struct cgf_apply_result res;
	struct cgf_apply_opts o = { .cgroup = r->cg, .name = r->name, .source = r->file,
				    .mode = r->audit ? CGF_MODE_AUDIT : p->mode };

	if (cgf_env_check() || (r->parent ? cgf_cgroup_resolve(r->parent, base, sizeof(base))
					  : cgf_cgroup2_mount(base, sizeof(base))))
		return cgf_fail();
	snprintf(r->name, sizeof(r->name), "%.*s-run-%d", CGF_NAME_MAX - 13, p->name,
		 (int)getpid());
	snprintf(r->cg, sizeof(r->cg), "%s/cgfence-%s", base, r->name);
	if (mkdir(r->cg, 0755)) {
		cgf_error(-errno, "run: cannot create cgroup %s: %m", r->cg);
		return cgf_fail();
	}
	if (cgf_pipeline_apply(c, &o, &res)) {
		cgf_report_error(cgf_last_error());
		rmdir(r->cg);
		return EXIT_FAIL;
	}
	cgf_unlock();	/* others may apply while CMD runs */
	return 0;
}

/* --learn: the observing policy, from BASE's name and resolvers (learn.h) */
static int learn_load(struct run *r, struct cgf_policy **p, struct cgf_compiled **c,
		      char path[64], const char **dns, char dnsbuf[][64])
{
	struct cgf_policy *base = NULL;
	char *yaml;
	int fd, ret;

	if (r->file && (ret = cgf_load_compile(r->file, &base, c)))
		return ret;
	if (base) {
		cgf_compiled_free(*c);
		cgf_dns_server_strs(&base->dns, dnsbuf, dns);
	} else {	/* network.dns's defaults, written out */
		for (size_t i = 0; (dns[i] = cgf_dns_default_servers[i]); i++)
			;
	}
	yaml = cgf_learn_observer(base ? base->name : "learn", dns);
	cgf_policy_free(base);
	snprintf(path, 64, "/tmp/cgfence-learn-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml)) {
		free(yaml);
		cgf_error(-errno, "run --learn: cannot write the observing policy: %m");
		return cgf_fail();
	}
	close(fd);
	free(yaml);
	ret = cgf_load_compile(path, p, c);
	r->audit = true;
	return ret;
}

/* --learn: CMD's events, into OUT */
static int learn_write(struct run *r, const char *name, struct cgf_event_src *src,
		       const char *const *dns, int status)
{
	struct cgf_learn *l = cgf_learn_new();
	char note[600];
	int ret;

	snprintf(note, sizeof(note), "from: cgfence run --learn%s%s -- %s%s", r->file ? " -p " : "",
		 r->file ? r->file : "", r->cmd[0], r->cmd[1] ? " ..." : "");
	ret = src ? cgf_learn_from(src, l) : 0;
	if (!ret)
		ret = cgf_learn_write(l, name, r->learn, r->group, dns[0] ? dns : NULL, note);
	if (status && !ret)
		fprintf(stderr, "cgfence: run --learn: %s exited with status %d: %s has what it "
			"did until then\n", r->cmd[0], status, r->learn);
	cgf_learn_free(l);
	return ret;
}

/* Start CMD in the cgroup, pass signals on, wait: its exit status, as a shell says it. */
static int run_and_wait(struct run *r, const sigset_t *oldmask)
{
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGALRM };
	pid_t me = getpid(), pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		run_child(r->cg, r->cmd, me, oldmask, r->pw, r->families);
	child_pid = pid;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (pid < 0) {
		cgf_error(-errno, "run: fork: %m");
		return cgf_fail();
	}
	for (;;) {	/* --learn: the events are moved out of the ring buffer meanwhile */
		pid_t w = waitpid(pid, &status, r->src ? WNOHANG : 0);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (got_signal == -1)	/* grace period over */
			kill_cgroup(r->cg);
		if (r->src) {
			cgf_event_collect(r->src, true);
			usleep(20000);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The transient cgroup and policy go; a failure there is reported on its own. */
static int clean_up(struct run *r, int ret)
{
	CGF_DIAG_SCOPE(d);

	if (remove_cgroup(r->cg) | cgf_detach(r->name)) {
		cgf_report_error(d.msg);
		if (!ret)
			ret = EXIT_FAIL;
	}
	return ret;
}

int cgf_do_run(int argc, char **argv)
{
	struct run r = { 0 };
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	sigset_t stopsigs, oldmask;
	int ret = parse_run_args(&r, argc, argv) ?: find_user(&r);

	if (ret)
		return ret;
	/* a signal during set-up is held until CMD runs, then passed on */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGHUP);
	sigaddset(&stopsigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stopsigs, &oldmask);
	char obs[64] = "", dnsbuf[CGF_DNS_SERVERS_MAX][64];
	const char *dns[CGF_DNS_SERVERS_MAX + 1] = { NULL };
	size_t nsrc = 0;

	ret = r.learn ? learn_load(&r, &p, &c, obs, dns, dnsbuf) : cgf_load_compile(r.file, &p, &c);
	if (obs[0])
		unlink(obs);
	if (!ret && p->sockets.present && p->sockets.families_line && !r.learn)
		r.families = p->sockets.families_other |
			     (p->sockets.families & CGF_FAM_INET ? 1ull << AF_INET : 0) |
			     (p->sockets.families & CGF_FAM_INET6 ? 1ull << AF_INET6 : 0) |
			     1ull << 63;	/* (never a family: makes 0 mean "no filter") */
	ret = ret ?: set_up(&r, p, c);
	if (!ret) {
		if (r.learn && cgf_event_src_add(&r.src, &nsrc, r.name)) {
			cgf_report_error(cgf_last_error());
			free(r.src);	/* learnt from nothing: OUT says so */
			r.src = NULL;
		}
		ret = run_and_wait(&r, &oldmask);
		alarm(0);
		kill_cgroup(r.cg);
		if (r.learn && learn_write(&r, p->name, nsrc ? r.src : NULL, dns, ret))
			ret = ret ?: EXIT_FAIL;
		if (nsrc)
			cgf_event_src_close(r.src);
		free(r.src);
		ret = clean_up(&r, ret);
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return ret;
}
