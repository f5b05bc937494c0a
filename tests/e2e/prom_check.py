#!/usr/bin/env python3
"""tests/e2e/prom_check.py FILE: checks a Prometheus text-format file (the
exposition format of https://prometheus.io/docs/instrumenting/exposition_formats/,
as node_exporter's textfile collector reads it) and prints its samples as
JSON: {"name{label=\"v\"}": value, ...}. Exits 1 naming the first problem.

Checked: every line is a # HELP, a # TYPE or a sample; metric and label
names are valid; label values are quoted with only \\\\, \\" and \\n escapes;
values are floats; each metric has one HELP and one TYPE, before its
samples, and its samples are contiguous; no series appears twice; counters
end in _total (the naming guide); the file ends with a newline; every
sample or none carries the onboard_job label, all with one value (issue 16:
two databases' files in one textfile folder must never collide). Then
Prometheus' own `promtool check metrics` (Debian's prometheus package) must
accept the file too. The keys printed leave the onboard_job label out; its
value is printed as "onboard_job".
"""
import json
import re
import subprocess
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?,?\})? (\S+)(?: (-?\d+))?$" % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(lineno, why):
    print("line %d: %s" % (lineno, why), file=sys.stderr)
    sys.exit(1)


def main(path):
    text = open(path, encoding="utf-8").read()
    if not text.endswith("\n"):
        fail(text.count("\n") + 1, "the file does not end with a newline")
    helps, types, samples, done = {}, {}, {}, set()
    jobs, labeled = set(), 0
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
        if m:
            kind, name, rest = m.groups()
            table = helps if kind == "HELP" else types
            if name in table:
                fail(n, "a second # %s for %s" % (kind, name))
            if name in done or any(k.split("{")[0] == name for k in samples):
                fail(n, "# %s for %s after its samples" % (kind, name))
            if kind == "TYPE" and rest not in TYPES:
                fail(n, "unknown type '%s'" % rest)
            table[name] = rest
            if current and current != name:
                done.add(current)
            current = name
            continue
        if line.startswith("#") or not line:
            fail(n, "neither a comment of the format nor a sample: %r" % line)
        m = SAMPLE.match(line)
        if not m:
            fail(n, "not a valid sample: %r" % line)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if name not in types or name not in helps:
            fail(n, "%s has no # HELP or # TYPE before it" % name)
        if name != current:
            fail(n, "the samples of %s are not together under its # TYPE" % name)
        if types[name] == "counter" and not name.endswith("_total"):
            fail(n, "counter %s does not end in _total" % name)
        try:
            v = float(value)
        except ValueError:
            fail(n, "value %r is not a number" % value)
        key = name + labels
        if key in samples:
            fail(n, "series %s appears twice" % key)
        jm = re.match(r'^\{onboard_job="((?:[^"\\\n]|\\[\\"n])*)",?(.*)$', labels)
        if jm:
            if jobs and jm.group(1) not in jobs:
                fail(n, "a second onboard_job value %r (%r before)" % (jm.group(1), sorted(jobs)))
            jobs.add(jm.group(1))
            labeled += 1
            key = name + ("{" + jm.group(2) if jm.group(2) != "}" else "")
        samples[key] = v
    for name in types:
        if not any(k.split("{")[0] == name for k in samples):
            fail(0, "%s has a # TYPE but no sample" % name)
    if labeled and labeled != len(samples):
        fail(0, "%d of %d samples carry no onboard_job label" % (len(samples) - labeled, len(samples)))
    promtool = subprocess.run(["promtool", "check", "metrics"], stdin=open(path, "rb"),
                              capture_output=True, text=True)
    if promtool.returncode != 0:
        fail(0, "promtool check metrics: %s%s" % (promtool.stdout, promtool.stderr))
    if jobs:
        samples["onboard_job"] = jobs.pop()
    json.dump(samples, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
