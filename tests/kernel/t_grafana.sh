#!/bin/bash
# contrib/grafana: every metric the dashboard queries is served by
# `cgfence metrics`, with a sample for a policy that uses each feature
# (accounting, a rate limit, to_names, the connection log, a staged version:
# its metrics are the policy NAME@staged's).
source "$(dirname "$0")/lib.sh"

DASH=contrib/grafana/cgfence-dashboard.json
metrics=$(python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
names = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("expr", "definition") and isinstance(v, str):
                names.update(re.findall(r"cgfence_[a-z_]+", v))
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
print(" ".join(sorted(names)))' "$DASH")
check_match "the dashboard is valid JSON with queries" "cgfence_denied_total" "$metrics"

P=$(pname graf)
track_policy "$P"
mkcg CG graf
POL=$(policy_file graf <<EOF2
version: 1
name: $P
network:
  dns: {servers: [127.0.0.53]}
  sockets: {deny_types: [raw]}
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.53], ports: [53]}
      - {action: allow, to: [127.0.0.1], ports: [9000]}
      - {action: allow, to_names: [api.example.test], ports: [443], protocol: tcp}
  rate_limit: {connections_per_second: 1000}
accounting: true
log: {connections: true}
EOF2
)
"$CGF" apply --cgroup "$CG" "$POL" >/dev/null 2>&1 || not_ok "apply failed"
serve tcp 127.0.0.1 9000 graf || exit 1
in_cg "$CG" "$NP" hello tcp 127.0.0.1 9000 >/dev/null
in_cg "$CG" "$NP" connect tcp 127.0.0.2 80 >/dev/null	# a denial
sed 's/127.0.0.1], ports: \[9000\]/127.0.0.2], ports: [80]/' "$POL" >"$TMPD/staged.yaml"
"$CGF" apply --stage "$TMPD/staged.yaml" >/dev/null || not_ok "apply --stage failed"
in_cg "$CG" "$NP" connect tcp 127.0.0.1 9000 >/dev/null	# the staged version would deny
in_cg "$CG" "$NP" connect tcp 127.0.0.2 80 >/dev/null	# ... would allow

scrape_metrics "$TMPD/m" || not_ok "cgfence metrics did not answer"
in_cg "$CG" "$NP" hello tcp 127.0.0.1 9000 >/dev/null	# program stats count from now on
scrape_metrics "$TMPD/m"
for m in $metrics; do
	check_match "$m is served" "# TYPE $m (counter|gauge)" "$(grep "^# TYPE $m " "$TMPD/m")"
	check_match "$m has a sample for the policy" "^$m\{[^}]*policy=\"$P(@staged)?\"" \
		"$(grep "^$m{" "$TMPD/m" | grep -E "policy=\"$P(@staged)?\"" | head -1)"
done
t_done
