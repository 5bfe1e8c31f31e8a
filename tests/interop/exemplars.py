#!/usr/bin/env python3
"""Parses one OpenMetrics document (stdin) with prometheus_client's strict
parser and prints each exemplar it read, one line each, for the interop
tests (tests/src/tools.rs reads it):

    <sample name><TAB><labels><TAB><exemplar labels><TAB><repr(value)><TAB><timestamp>

labels sorted by name, exemplar labels as given, both as k="v",... with
backslash, double quote and newline escaped; the timestamp as
<seconds>.<9-digit nanoseconds>, or - when absent. A document the parser
refuses prints one line instead: !<TAB><error>.
"""
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError as e:
    sys.stderr.write("prometheus_client is missing (%s): run ./test.sh --setup\n" % e)
    sys.exit(3)


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def pairs(items):
    return ",".join('%s="%s"' % (k, esc(v)) for k, v in items)


def main():
    doc = sys.stdin.buffer.read().decode("utf-8")
    out = []
    try:
        for fam in text_string_to_metric_families(doc):
            for s in fam.samples:
                e = s.exemplar
                if e is None:
                    continue
                t = e.timestamp
                ts = "-" if t is None else "%d.%09d" % (t.sec, t.nsec)
                out.append(
                    "%s\t%s\t%s\t%r\t%s"
                    % (s.name, pairs(sorted(s.labels.items())), pairs(e.labels.items()), float(e.value), ts)
                )
    except Exception as e:  # the parser raises ValueError, KeyError, ...
        out = ["!\t%s" % esc("%s: %s" % (type(e).__name__, e))]
    sys.stdout.buffer.write("".join(line + "\n" for line in out).encode("utf-8"))


main()
