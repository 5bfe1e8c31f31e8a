#!/usr/bin/env python3
"""Parses expositions with prometheus_client and prints what it read, one
normalized line per family and sample, for the interop tests
(tests/src/tools.rs reads it).

stdin: any number of documents, each a header line `<format> <length>\n`
(format `text` = Prometheus 0.0.4 via prometheus_client.parser, `om` =
OpenMetrics via the strict prometheus_client.openmetrics.parser) followed by
exactly <length> bytes of UTF-8.

stdout, per document:
    =doc <index> <format>
    F<TAB><name><TAB><type><TAB><unit><TAB><escaped help>
    S<TAB><sample name><TAB><escaped labels, sorted by name><TAB><repr(float(value))>
    !<TAB><escaped error>          (instead of F/S lines when parsing failed)
Escaping: backslash, double quote, newline, carriage return and tab become
\\ \" \n \r \t, so every record is one line; labels print as k="v",...
"""
import sys

try:
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as parse_om,
    )
    from prometheus_client.parser import text_string_to_metric_families as parse_text
except ImportError as e:
    sys.stderr.write("prometheus_client is missing (%s): run ./test.sh --setup\n" % e)
    sys.exit(3)


def esc(s):
    return (
        s.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def families(fmt, doc):
    parse = parse_text if fmt == "text" else parse_om
    out = []
    for fam in parse(doc):
        out.append("F\t%s\t%s\t%s\t%s" % (fam.name, fam.type, fam.unit, esc(fam.documentation)))
        for s in fam.samples:
            labels = ",".join('%s="%s"' % (k, esc(v)) for k, v in sorted(s.labels.items()))
            out.append("S\t%s\t%s\t%r" % (s.name, labels, float(s.value)))
    return out


def main():
    data = sys.stdin.buffer.read()
    pos = 0
    index = 0
    write = sys.stdout.buffer.write
    while pos < len(data):
        nl = data.index(b"\n", pos)
        fmt, length = data[pos:nl].decode("ascii").split(" ")
        start = nl + 1
        end = start + int(length)
        doc = data[start:end].decode("utf-8")
        pos = end
        try:
            lines = families(fmt, doc)
        except Exception as e:  # the parsers raise ValueError, KeyError, ...
            lines = ["!\t%s" % esc("%s: %s" % (type(e).__name__, e))]
        write(("=doc %d %s\n" % (index, fmt)).encode("utf-8"))
        for line in lines:
            write(line.encode("utf-8") + b"\n")
        index += 1


main()
