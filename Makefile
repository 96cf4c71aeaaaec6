# cgfence build.  `make V=1` shows the full commands.
#
#   make deps     install Debian packages that are missing (needs root)
#   make          build ./cgfence
#   make demo     deps + build + run the demo on a shipped example
#   make check    deps + build + every test; ends with "N passed, N failed"
#   make bench    deps + build + benchmarks (not part of check)
#   make check-sanitize   unit + integration tests built with ASan and UBSan

OUTPUT  ?= .output
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VERSION := 0.1.0

DEB_PKGS := clang llvm libclang-rt-dev bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev \
	    libcmocka-dev libjson-c-dev pkg-config iproute2 nftables util-linux \
	    valgrind make gcc libsystemd-dev go-md2man python3-yaml curl libmicrohttpd-dev \
	    python3 socat dnsutils dnsmasq-base iputils-ping libseccomp-dev podman runc busybox-static

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers -Wno-format-truncation \
	   -Iinclude -Isrc -I$(OUTPUT) -DCGF_VERSION='"$(VERSION)"'
CFLAGS  += $(SANITIZE) $(if $(LAYOUT),-DCGF_LAYOUT=$(LAYOUT))
LDFLAGS += $(SANITIZE)
LDLIBS  += -lbpf -lelf -lz -lyaml -ljson-c -lsystemd -lmicrohttpd -lseccomp

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -D__bpf__ -Ibpf \
	      -Wall -Werror -Iinclude -I$(OUTPUT)

LIB_SRCS := src/yamltree.c src/addr.c src/names.c src/policy.c src/policy_util.c src/policy_net.c src/policy_sock.c \
	    src/policy_sockopt.c src/policy_devices.c \
	    src/policy_tcp.c src/policy_sysctl.c src/policy_vis.c \
	    src/sockdefs.c \
	    src/compile.c src/compile_names.c src/compile_lookup.c src/eval.c \
	    src/util.c src/cgroup.c src/container.c src/jsonout.c \
	    src/target.c src/stats.c src/layout.c src/hook.c src/pins.c src/env.c src/settle.c src/staged.c \
	    src/list.c src/apply.c src/version.c src/fault.c src/image.c src/pipeline.c src/report.c \
	    src/rundir.c src/events.c src/store_bpffs.c src/metrics.c src/outside.c src/learn.c src/learn_yaml.c
LIB_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
CLI_SRCS := src/main.c src/cli.c src/cmd_apply.c src/cmd_list.c src/cmd_stats.c src/cmd_explain.c \
	    src/cmd_run.c src/cmd_learn.c src/cmd_stage.c src/cmd_oci.c src/cmd_doctor.c src/cmd_tree.c src/cmd_events.c src/daemon.c \
	    src/daemon_files.c src/daemon_cgroups.c src/daemon_oci.c
CLI_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(CLI_SRCS))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
HELPERS    := $(OUTPUT)/netprobe $(OUTPUT)/difftest $(OUTPUT)/statetest $(OUTPUT)/foreign.bpf.o $(OUTPUT)/cgfence-faults

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps demo check check-sanitize test-artifacts san-artifacts upgrade-artifacts bench fuzz clean man install uninstall

all: cgfence

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h bpf/lib/*.h) $(wildcard include/cgfence/*.h) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(OUTPUT)/$*.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(OUTPUT)/$*.tmp.bpf.o

$(OUTPUT)/foreign.bpf.o: tests/helpers/foreign.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/apply.o $(OUTPUT)/version.o: $(OUTPUT)/cgfence.skel.h

$(OUTPUT)/%.o: src/%.c $(wildcard src/*.h) $(wildcard include/cgfence/*.h) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libcgfence.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

cgfence: $(CLI_OBJS) $(OUTPUT)/libcgfence.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# test programs
$(OUTPUT)/tests/%: tests/unit/%.c tests/helpers/randpolicy.h $(OUTPUT)/libcgfence.a | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/netprobe: tests/helpers/netprobe.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUTPUT)/difftest $(OUTPUT)/statetest: $(OUTPUT)/%: tests/helpers/%.c tests/helpers/randpolicy.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/helpers $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -o $@

demo: deps
	$(Q)$(MAKE) --no-print-directory cgfence $(OUTPUT)/netprobe
	$(Q)./examples/demo.sh

# make check: every test twice, on the plain build and on one built with ASan
# and UBSan (in $(SAN_OUT)); CHECK_SANITIZE=0 skips the second pass.
SAN_OUT   := .output-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CHECK_SANITIZE ?= 1

test-artifacts: $(OUTPUT)/cgfence $(UNIT_TESTS) $(HELPERS)

# the crash and failure tests' cgfence: the same objects, with fault injection (fault.h)
$(OUTPUT)/fault-on.o: src/fault.c src/fault.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DCGF_FAULTS -c $< -o $@

$(OUTPUT)/cgfence-faults: $(CLI_OBJS) $(OUTPUT)/fault-on.o $(OUTPUT)/libcgfence.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/cgfence: $(CLI_OBJS) $(OUTPUT)/libcgfence.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

san-artifacts:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(SAN_OUT) SANITIZE='$(SAN_FLAGS)' test-artifacts

check: deps
	$(Q)$(MAKE) --no-print-directory cgfence $(UNIT_TESTS) $(HELPERS) $(OUTPUT)/fuzz/fuzz_policy \
		$(OUTPUT)/fuzz/fuzz_dns
	$(Q)$(MAKE) --no-print-directory upgrade-artifacts
	$(Q)[ "$(CHECK_SANITIZE)" = 0 ] || $(MAKE) --no-print-directory san-artifacts
	$(Q)CHECK_SANITIZE=$(CHECK_SANITIZE) SAN_OUT=$(SAN_OUT) tests/check.sh

check-sanitize: deps
	$(Q)$(MAKE) --no-print-directory san-artifacts upgrade-artifacts
	$(Q)OUTPUT=$(SAN_OUT) CGF=$(CURDIR)/$(SAN_OUT)/cgfence CGF_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-all.sh

# tests/kernel/t_upgrade.sh: the release of 2026-12-01 (main at efe2968) built
# from git, and this tree with the next pin layout (what this cgfence meets
# after a downgrade); t_upgrade_stage.sh: the last release of pin layout 6
# (main at 8e5f0e3), staging across the upgrade
UPGRADE_FROM := efe2968
UPGRADE_STAGE_FROM := 8e5f0e3
# tests/kernel/t_upgrade_names.sh: the last release of pin layout 7 (main at
# 4e81127), its learnt addresses across the upgrade to layout 8
UPGRADE_NAMES_FROM := 4e81127
UPGRADE_OUT  := .output-upgrade
NEXT_LAYOUT  := $(shell echo $$(( $$(sed -n 's/^\#define CGF_LAYOUT \([0-9]*\)$$/\1/p' include/cgfence/abi.h) + 1 )))

upgrade-artifacts:
	$(Q)tests/helpers/build-release.sh $(UPGRADE_FROM) $(UPGRADE_OUT)/$(UPGRADE_FROM)
	$(Q)tests/helpers/build-release.sh $(UPGRADE_STAGE_FROM) $(UPGRADE_OUT)/$(UPGRADE_STAGE_FROM)
	$(Q)tests/helpers/build-release.sh $(UPGRADE_NAMES_FROM) $(UPGRADE_OUT)/$(UPGRADE_NAMES_FROM)
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(UPGRADE_OUT)/next SANITIZE= LAYOUT=$(NEXT_LAYOUT) \
		$(UPGRADE_OUT)/next/cgfence

# fuzzing (clang libFuzzer, ASan, UBSan): make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS ?= 60
FUZZ_SRCS := src/yamltree.c src/addr.c src/names.c src/policy.c src/policy_util.c src/policy_net.c src/policy_sock.c \
	     src/policy_sockopt.c src/policy_devices.c src/policy_vis.c \
	     src/policy_tcp.c src/policy_sysctl.c src/sockdefs.c src/compile.c src/compile_names.c src/compile_lookup.c src/image.c src/eval.c src/hook.c \
	     src/util.c
FUZZ_FLAGS := -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      -Iinclude -Isrc -DCGF_VERSION='"$(VERSION)"'

$(OUTPUT)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(FUZZ_SRCS) $(wildcard src/*.h) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(OUTPUT)/fuzz
	$(Q)$(CLANG) $(FUZZ_FLAGS) tests/fuzz/fuzz_policy.c $(FUZZ_SRCS) -lyaml -o $@

$(OUTPUT)/fuzz/fuzz_dns: tests/fuzz/fuzz_dns.c src/names.c include/cgfence/dns.h include/cgfence/abi.h | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(OUTPUT)/fuzz
	$(Q)$(CLANG) $(FUZZ_FLAGS) tests/fuzz/fuzz_dns.c src/names.c -o $@

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/fuzz/fuzz_policy $(OUTPUT)/fuzz/fuzz_dns
	$(Q)$(OUTPUT)/fuzz/fuzz_dns -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-artifact_prefix=$(OUTPUT)/fuzz/ $$(mkdir -p $(OUTPUT)/fuzz/dns-corpus; echo $(OUTPUT)/fuzz/dns-corpus)
	$(Q)mkdir -p $(OUTPUT)/fuzz/corpus && cp examples/*.yaml $(OUTPUT)/fuzz/corpus/
	$(Q)$(OUTPUT)/fuzz/fuzz_policy -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-dict=tests/fuzz/policy.dict -artifact_prefix=$(OUTPUT)/fuzz/ $(OUTPUT)/fuzz/corpus

# benchmarks
$(OUTPUT)/bench_egress: bench/bench_egress.c bench/benchlib.h $(OUTPUT)/ref.skel.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_sock: bench/bench_sock.c bench/benchlib.h $(OUTPUT)/ref.skel.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_redirect: bench/bench_redirect.c bench/benchlib.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_names: bench/bench_names.c bench/benchlib.h $(OUTPUT)/ref.skel.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_acct: bench/bench_acct.c bench/benchlib.h $(OUTPUT)/ref.skel.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_daemon: bench/bench_daemon.c bench/benchlib.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/bench_stall: bench/bench_stall.c bench/benchlib.h $(OUTPUT)/libcgfence.a | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench $(LDFLAGS) $< $(OUTPUT)/libcgfence.a $(LDLIBS) -o $@

$(OUTPUT)/ref.bpf.o: bench/ref.bpf.c include/cgfence/abi.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(OUTPUT)/ref.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(OUTPUT)/ref.tmp.bpf.o

bench: deps
	$(Q)$(MAKE) --no-print-directory cgfence $(OUTPUT)/bench_egress $(OUTPUT)/bench_sock \
		$(OUTPUT)/bench_redirect $(OUTPUT)/bench_daemon $(OUTPUT)/bench_acct $(OUTPUT)/bench_stall \
		$(OUTPUT)/bench_names
	$(Q)bench/run.sh $(BENCH_ARGS)

# installation: make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR    := $(PREFIX)/sbin
MANDIR     := $(PREFIX)/share/man
UNITDIR    := $(PREFIX)/lib/systemd/system
COMPDIR    := $(PREFIX)/share/bash-completion/completions
MANPAGES   := $(OUTPUT)/man/cgfence.8 $(OUTPUT)/man/cgfence-policy.5

# the Markdown references, as roff; "# cgfence(8)" becomes the .TH line
$(OUTPUT)/man/%: docs/%.md | $(OUTPUT)
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(OUTPUT)/man
	$(Q)sed '1s/^# \(.*\)(\([0-9]\))$$/# \1 \2 "" "cgfence $(VERSION)" "cgfence"/' $< | \
		go-md2man -out $@

man: $(MANPAGES)

install: deps cgfence $(MANPAGES)
	$(Q)install -D -m 0755 cgfence $(DESTDIR)$(SBINDIR)/cgfence
	$(Q)install -D -m 0644 $(OUTPUT)/man/cgfence.8 $(DESTDIR)$(MANDIR)/man8/cgfence.8
	$(Q)install -D -m 0644 $(OUTPUT)/man/cgfence-policy.5 $(DESTDIR)$(MANDIR)/man5/cgfence-policy.5
	$(Q)install -D -m 0644 contrib/bash-completion/cgfence $(DESTDIR)$(COMPDIR)/cgfence
	$(Q)mkdir -p $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g; s|/etc/cgfence|$(SYSCONFDIR)/cgfence|g' \
		contrib/systemd/cgfence.service >$(DESTDIR)$(UNITDIR)/cgfence.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/cgfence.service
	$(Q)install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/cgfence/policies
	@echo "installed under $(DESTDIR)$(PREFIX); policies go in $(SYSCONFDIR)/cgfence/policies"

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/cgfence $(DESTDIR)$(MANDIR)/man8/cgfence.8 \
		$(DESTDIR)$(MANDIR)/man5/cgfence-policy.5 $(DESTDIR)$(COMPDIR)/cgfence \
		$(DESTDIR)$(UNITDIR)/cgfence.service
	$(Q)rmdir $(DESTDIR)$(SYSCONFDIR)/cgfence/policies $(DESTDIR)$(SYSCONFDIR)/cgfence 2>/dev/null || true

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) $(SAN_OUT) $(UPGRADE_OUT) cgfence
