#!/usr/bin/env bash
# The house's shape, checked: no source file over 600 lines, no function over
# 80, no circle of includes, and no include from a lower layer of
# docs/design.md's layout to a higher one. One "ok"/"not ok" line per check.
set -u
cd "$(dirname "$0")/.."
exec python3 - <<'EOF'
import glob, os, re, sys

MAX_FILE, MAX_FUNC = 600, 80
files = sorted(glob.glob("src/*.[ch]") + glob.glob("bpf/*.[ch]") + glob.glob("bpf/lib/*.h")
               + glob.glob("include/cgfence/*.h"))
bad = 0

def check(ok, what):
    global bad
    print(("ok - " if ok else "not ok - ") + what)
    bad += not ok

# sizes
big = [(f, n) for f in files for n in [sum(1 for _ in open(f))] if n > MAX_FILE]
check(not big, "no source file over %d lines%s" % (MAX_FILE, "".join(
    " (%s: %d)" % b for b in big)))

# functions: a body opens with "{" at column 0 and closes with "}" at column 0;
# its length runs from the first line of its signature
long = []
for f in files:
    lines = open(f).read().split("\n")
    for i, l in enumerate(lines):
        if l != "{":
            continue
        j = i
        while j > 0 and lines[j - 1].strip() and not lines[j - 1].startswith(("}", "#")) \
                and not lines[j - 1].rstrip().endswith((";", "*/")):
            j -= 1
        k = i
        while k < len(lines) and lines[k] != "}":
            k += 1
        m = re.search(r"(\w+)\s*\(", " ".join(lines[j:i]))
        if k - j + 1 > MAX_FUNC:
            long.append("%s:%d %s (%d lines)" % (f, j + 1, m.group(1) if m else "?", k - j + 1))
check(not long, "no function over %d lines%s" % (MAX_FUNC, "".join(" " + x for x in long)))

# includes between the modules of src/ (foo.c and foo.h are one module)
def module(path):	# foo_int.h: the insides of module foo
    return re.sub(r"_int$", "", os.path.splitext(os.path.basename(path))[0])

LAYERS = [
    ("util", {"util"}),
    ("policy", {"policy", "policy_int", "policy_util", "policy_net", "policy_sock",
                "policy_sockopt", "policy_devices", "policy_tcp", "policy_sysctl",
                "policy_vis", "addr", "names", "sockdefs", "yamltree"}),
    ("compile", {"compile", "compile_names", "compile_lookup", "image", "eval", "hook"}),
    ("library", {"pipeline", "apply", "version", "settle", "store", "store_bpffs", "pins", "layout", "env",
                 "list", "report", "stats", "metrics", "events", "rundir", "cgroup",
                 "container", "target", "fault", "loader", "jsonout", "outside", "learn", "learn_yaml",
                 "staged"}),
    ("cli", None),	# main, cli, cmd_*, daemon*: the top
]

def layer(mod):
    for i, (_, mods) in enumerate(LAYERS):
        if mods is None or mod in mods:
            return i

edges = {}
for f in glob.glob("src/*.[ch]"):
    a = module(f)
    for inc in re.findall(r'^#include "([^"/]+)\.h"', open(f).read(), re.M):
        inc = module(inc + ".h")
        if inc != a and os.path.exists("src/%s.h" % inc):
            edges.setdefault(a, set()).add(inc)

up = sorted("%s -> %s" % (a, b) for a in edges for b in edges[a] if layer(b) > layer(a))
check(not up, "no include from a lower layer to a higher one%s" % "".join(" " + u for u in up))

# circles: Tarjan's strongly connected components
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = n[0]; n[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v:
                break
        if len(c) > 1:
            sccs.append(sorted(c))
sys.setrecursionlimit(10000)
for v in sorted(set(edges) | {w for s in edges.values() for w in s}):
    if v not in index:
        strong(v)
check(not sccs, "no circle of includes%s" % "".join(" (" + " ".join(c) + ")" for c in sccs))
print("%d modules, %d include edges" % (len(set(edges) | {w for s in edges.values() for w in s}),
                                         sum(len(s) for s in edges.values())))
sys.exit(1 if bad else 0)
EOF
