#!/usr/bin/env bash
# Accounting, the connection log, network.rate_limit and /metrics: a TCP
# exchange of a known size shows up in the cgroup's counters within a few
# percent and in the connection log with its bytes; the rate limit lets the
# burst through and refuses the next connect; /metrics is strict Prometheus
# text whose numbers are those of `stats --json`.
. "$(dirname "$0")/lib.sh"

export CGFENCE_RUN_DIR="$TMPD/run"
mkcg CG acct
mkcg CGR rate
NA=$(pname acct) NR=$(pname rate)
track_policy "$NA"; track_policy "$NR"
BYTES=100000

A=$(policy_file acct <<EOF
version: 1
name: $NA
accounting: true
log: {connections: true}
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
EOF
)
"$CGF" apply "$A" --cgroup "$CG" >/dev/null
check "apply" 0 $?
"$NP" listen tcp 127.0.0.1 9000 --stream >"$TMPD/srv" &
T_PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMPD/srv" && break; sleep 0.1; done
check "exchange: all sent and echoed" "sent=$BYTES received=$BYTES" "$(in_cg "$CG" "$NP" send 127.0.0.1 9000 $BYTES)"
check "a denied connect" EPERM "$(in_cg "$CG" "$NP" connect udp 127.0.0.3 53)"
sleep 0.3
"$CGF" stats --json "$NA" >"$TMPD/stats"
python3 - "$TMPD/stats" "$(stat -c %i "$CG")" "$BYTES" >"$TMPD/acct" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))[0]
cg = [c for c in p["accounting"] if c["cgroup_id"] == int(sys.argv[2])]
n = int(sys.argv[3])
if len(cg) != 1:
    print("bad cgroup-entry", p["accounting"]); sys.exit()
c = cg[0]
def within(v, lo, hi, what):
    print(("ok" if lo <= v <= hi else "bad") + " " + what + " " + str(v))
within(c["bytes_out"], n, n * 1.05, "bytes_out")
within(c["bytes_in"], n, n * 1.05, "bytes_in")
within(c["packets_out"], 3, 1000, "packets_out")
within(c["tcp_connects"], 1, 1, "tcp_connects")
within(c["udp_flows"], 0, 0, "udp_flows")	# the denied UDP connect is not a flow
within(c["connections_per_minute"], 1, 1, "connections_per_minute")
within(c["denied"], 1, 1, "denied")	# the UDP connect to 127.0.0.3
hits = {str(h["rule"]): h["hits"] for h in p["rule_hits"]}
within(hits.get("0", -1), 1, 1, "rule-0-hits")
within(hits.get("default", -1), 1, 10**9, "default-hits")
EOF
while read -r res what val; do check "accounting: $what within a few percent of the exchange ($val)" ok "$res"; done <"$TMPD/acct"

# the connection log
"$CGF" events --json "$NA" >"$TMPD/ev"
python3 - "$TMPD/ev" "$BYTES" "$CG" >"$TMPD/conn" <<'EOF'
import json, sys
n = int(sys.argv[2])
evs = [json.loads(l) for l in open(sys.argv[1])]
close = [e for e in evs if e["type"] == "connection-close" and e["dport"] == 9000]
opens = [e for e in evs if e["type"] == "connection-open" and e["dport"] == 9000]
print("ok" if len(opens) == 1 else "bad", "one-open", len(opens))
print("ok" if len(close) == 1 else "bad", "one-close", len(close))
if close:
    c = close[0]
    print("ok" if n <= c["bytes_sent"] <= n + 2 else "bad", "bytes_sent", c["bytes_sent"])
    print("ok" if n <= c["bytes_received"] <= n + 2 else "bad", "bytes_received", c["bytes_received"])
    print("ok" if c["direction"] == "outbound" else "bad", "direction", c["direction"])
    print("ok" if c["duration_ms"] > 0 else "bad", "duration", c["duration_ms"])
    print("ok" if c["cgroup"] == sys.argv[3] else "bad", "cgroup", c["cgroup"])
    print("ok" if c["comm"] == "netprobe" else "bad", "comm", c["comm"])
    print("ok" if c["retransmits"] == 0 and c["srtt_us"] > 0 else "bad", "retransmits-srtt", c["retransmits"])
EOF
while read -r res what val; do check "connection log: $what ($val)" ok "$res"; done <"$TMPD/conn"

# network.rate_limit: a burst of 3, then EPERM
R=$(policy_file rate <<EOF
version: 1
name: $NR
accounting: true
network:
  rate_limit: {connections_per_second: 1, burst: 3}
EOF
)
"$CGF" apply "$R" --cgroup "$CGR" >/dev/null
res=""
for i in 1 2 3 4 5; do res="$res $(in_cg "$CGR" "$NP" connect tcp 127.0.0.1 9000)"; done
check "rate limit: the burst passes, then EPERM" " ok ok ok EPERM EPERM" "$res"
check "rate limit: UDP connects are not limited" ok "$(in_cg "$CGR" "$NP" connect udp 127.0.0.1 9000)"
check "rate limit: counted" 2 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rate_limited"])' <<<"$("$CGF" stats --json "$NR")")"
check "rate limit: counted for the cgroup" 2 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["accounting"][0]["rate_limited"])' <<<"$("$CGF" stats --json "$NR")")"
check "rate limit: two events naming it" 2 "$("$CGF" events --json "$NR" | grep -c '"rule":"rate_limit"')"
check "rate limit: a token comes back after a second" ok "$(sleep 1.1; in_cg "$CGR" "$NP" connect tcp 127.0.0.1 9000)"
# the limit holds for the subtree the policy is applied to: 20 cgroups the
# workload makes below it share its bucket (each used to get a fresh burst)
sleep 3.1	# the bucket full again: 3
res=""
for i in $(seq 20); do mkdir "$CGR/sub$i"; done
t0=$(date +%s%N)
for i in $(seq 20); do res="$res $(in_cg "$CGR/sub$i" "$NP" connect tcp 127.0.0.1 9000)"; done
secs=$((($(date +%s%N) - t0) / 1000000000))
oks=$(grep -o ok <<<"$res" | wc -l)
# the burst, and one token a second while the loop ran
within=no
[ "$oks" -ge 3 ] && [ "$oks" -le $((3 + secs + 1)) ] && within=yes
check "rate limit: 20 sub-cgroups share the policy's burst of 3 (+1/s; ${secs}s; $oks ok)" \
	"yes 20" "$within $((oks + $(grep -o EPERM <<<"$res" | wc -l)))"

# stats --watch: a document per interval, with the programs' run statistics on
timeout 2.5 "$CGF" stats --watch 1 --json "$NA" >"$TMPD/watch" &
WP=$!
sleep 0.5
in_cg "$CG" "$NP" connect udp 127.0.0.3 53 >/dev/null
wait "$WP"
check "stats --watch: a JSON document per second (2 or 3 in 2.5 s)" yes "$(python3 -c '
import json,sys
n = sum(1 for l in open(sys.argv[1]) if json.loads(l)[0]["name"])
print("yes" if 2 <= n <= 3 else "no: %d" % n)' "$TMPD/watch")"
check "stats --watch: run counts while watching" yes "$(python3 -c '
import json,sys
d = json.loads(open(sys.argv[1]).readlines()[-1])[0]
print("yes" if any(p["hook"] == "connect4" and p["run_count"] > 0 and p["run_time_ns"] > 0 for p in d["programs"]) else "no")' "$TMPD/watch")"

# /metrics: strict Prometheus text, the numbers of stats --json
PORT=9464
"$CGF" metrics --listen 127.0.0.1:$PORT 2>"$TMPD/metrics.err" &
T_PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMPD/metrics" && break; sleep 0.1; done
"$CGF" stats --json >"$TMPD/all"
python3 - "$TMPD/metrics" "$TMPD/all" "$NA" "$NR" >"$TMPD/prom" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
stats = {p["name"]: p for p in json.load(open(sys.argv[2]))}
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(" + name_re + r")(\{(?:" + label + r")(?:," + label + r")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$")
families, typed, series, bad = {}, set(), set(), []
for i, l in enumerate(text.splitlines(), 1):
    if l.startswith("# HELP ") or l.startswith("# TYPE "):
        parts = l.split(" ", 3)
        if l.startswith("# TYPE "):
            if parts[3] not in ("counter", "gauge") or parts[2] in typed:
                bad.append(i)
            typed.add(parts[2])
        continue
    m = sample.match(l)
    if not m or m.group(1) not in typed or (m.group(1), m.group(2)) in series:
        bad.append(i); continue
    series.add((m.group(1), m.group(2)))
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    families.setdefault(m.group(1), []).append((labels, float(m.group(3))))
print("ok" if not bad and text.endswith("\n") else "bad", "format", bad[:5])
def val(fam, **kw):
    v = [x for lab, x in families.get(fam, []) if all(lab.get(k) == w for k, w in kw.items())]
    return v[0] if len(v) == 1 else None
na, nr = sys.argv[3], sys.argv[4]
a = stats[na]
acct = a["accounting"][0]
pairs = [
    ("denied", val("cgfence_denied_total", policy=na, hook="connect4"), a["by_hook"]["denied"]["connect4"]),
    ("bytes_out", val("cgfence_cgroup_bytes_total", policy=na, cgroup=acct["cgroup"], direction="out"), acct["bytes_out"]),
    ("bytes_in", val("cgfence_cgroup_bytes_total", policy=na, cgroup=acct["cgroup"], direction="in"), acct["bytes_in"]),
    ("tcp_connect", val("cgfence_cgroup_connections_total", policy=na, cgroup=acct["cgroup"], kind="tcp_connect"), acct["tcp_connects"]),
    ("events", val("cgfence_events_total", policy=na), a["events"]["sent"]),
    ("cgroup_denied", val("cgfence_cgroup_denied_total", policy=na, cgroup=acct["cgroup"]), acct["denied"]),
    ("rate_limited", val("cgfence_rate_limited_total", policy=nr), stats[nr]["rate_limited"]),
    ("rule_hits", val("cgfence_rule_hits_total", policy=na, rule="0", line=str(a["rule_hits"][0]["line"])), a["rule_hits"][0]["hits"]),
]
for what, m, s in pairs:
    print("ok" if m is not None and m == s else "bad", what, m, s)
EOF
while read -r res what vals; do check "metrics: $what ($vals)" ok "$res"; done <"$TMPD/prom"
check "metrics: other paths are 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")"
"$CGF" metrics --listen 127.0.0.1:99999 >/dev/null 2>&1
check "metrics: a bad port is refused (exit 1)" 1 $?
"$CGF" metrics >/dev/null 2>&1
check "metrics: no --listen (exit 2)" 2 $?

# accounting entries are made as cgroups send, and go when the cgroup goes
mkcg SUB gone "$CG"
SUBID=$(stat -c %i "$SUB")
in_cg "$SUB" "$NP" connect udp 127.0.0.1 9 >/dev/null
has_entry() { bpftool map dump pinned /sys/fs/bpf/cgfence/"$NA"/acct -j |
	python3 -c 'import json,sys; print(any(int(e["key"]) == int(sys.argv[1]) if not isinstance(e["key"], list) else int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little") == int(sys.argv[1]) for e in json.load(sys.stdin)))' "$SUBID"; }
check "a child cgroup that sent has its accounting entry" True "$(has_entry)"
rmdir "$SUB"
"$CGF" list >/dev/null
check "...and the next command takes it out once the cgroup is gone" False "$(has_entry)"

t_done
