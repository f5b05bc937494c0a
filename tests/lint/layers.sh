#!/usr/bin/env bash
# layers.sh: the layering rule of src/ (README "Design"), checked.
#
# The folders are layers, lowest first. A file may include headers of its
# own folder and of the folders below it, never of one above: an include
# that climbs fails this test, naming the file, the line and both layers.
# src/mock/ (the emulator) may use base/ and finch/ only; main.c may use
# anything. Since the order is strict, there can be no circle between
# folders; a circle inside a folder is a circle of includes, found below.
set -euo pipefail
src="${FINCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/src"
layers=(base finch store csv run output cmd)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

bad=0
while IFS= read -r -d '' f; do
	rel=${f#"$src"/}
	dir=${rel%%/*}
	[ "$dir" = "$rel" ] && continue # main.c: the top
	while IFS=: read -r line inc; do
		to=${inc%%/*}
		[ "$to" = "$inc" ] && { echo "$rel:$line: include \"$inc\" names no folder"; bad=1; continue; }
		if [ "$dir" = mock ]; then
			case $to in base|finch|mock) continue ;; esac
			echo "$rel:$line: the emulator includes \"$inc\" ($to/ is the program's)"; bad=1
			continue
		fi
		[ -n "${rank[$to]+x}" ] || { echo "$rel:$line: include \"$inc\": no layer $to/"; bad=1; continue; }
		if [ "${rank[$to]}" -gt "${rank[$dir]}" ]; then
			echo "$rel:$line: include \"$inc\" climbs from $dir/ (layer $((rank[$dir] + 1))) to $to/ (layer $((rank[$to] + 1)))"
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		sed -E 's/^([0-9]+):.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
done < <(find "$src" -name '*.[ch]' -print0)

# Circles of includes among headers and sources of one folder: follow each
# file's includes (a .c file stands for its .h) and report a cycle.
python3 - "$src" <<'PY' || bad=1
import os, re, sys
src = sys.argv[1]
inc = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
edges = {}
for root, _, files in os.walk(src):
    for name in files:
        if not name.endswith(('.c', '.h')):
            continue
        path = os.path.join(root, name)
        mod = os.path.relpath(path, src)[:-2]
        for to in inc.findall(open(path, encoding='utf-8').read()):
            to = to[:-2]
            if to != mod:
                edges.setdefault(mod, set()).add(to)
state, stack, found = {}, [], []
def visit(m):
    state[m] = 1
    stack.append(m)
    for t in sorted(edges.get(m, ())):
        if state.get(t) == 1:
            found.append(stack[stack.index(t):] + [t])
        elif t not in state:
            visit(t)
    stack.pop()
    state[m] = 2
for m in sorted(edges):
    if m not in state:
        visit(m)
for c in found:
    print('include circle: ' + ' -> '.join(c))
sys.exit(1 if found else 0)
PY
[ $bad -eq 0 ] && echo "layers: every include of src/ stays in its layer or goes down; no circle"
exit $bad
