#!/usr/bin/env python3
"""An independent DogStatsD receiver for the hotmetrics-statsd tests.

Written from Datadog's documented datagram format (DogStatsD, "Datagram
Format and Shell Usage"), not from the encoder under test:

    <METRIC_NAME>:<VALUE>|<TYPE>|@<SAMPLE_RATE>|#<TAG_KEY_1>:<TAG_VALUE_1>,<TAG_2>

several metrics per datagram separated by newlines; metric names of ASCII
alphanumerics, underscores and periods; types c, g, ms, h, s, d; tags of
alphanumerics, underscores, minuses, colons, periods and slashes, split
on commas, a tag's key before its first colon.

Usage: dogstatsd_parse.py udp:PORT | PATH (a Unix datagram socket).
Prints "ready", then one line per datagram:
    SIZE \\t NAME \\x1f VALUE \\x1f TYPE \\x1f TAG \\x1d TAG \\x1e ...
or "error \\t REASON" for a datagram that breaks the format.
"""
import os
import re
import socket
import sys

NAME = re.compile(r"[A-Za-z0-9_.]+\Z")
VALUE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\Z")
TYPES = {"c", "g", "ms", "h", "s", "d"}
TAG = re.compile(r"[A-Za-z0-9_\-:./]+\Z")


def parse_line(line):
    name, sep, rest = line.partition(":")
    if not sep:
        raise ValueError(f"no ':' in {line!r}")
    if not NAME.match(name):
        raise ValueError(f"bad metric name {name!r} in {line!r}")
    fields = rest.split("|")
    if len(fields) < 2:
        raise ValueError(f"no type in {line!r}")
    value, kind = fields[0], fields[1]
    if not VALUE.match(value):
        raise ValueError(f"bad value {value!r} in {line!r}")
    if kind not in TYPES:
        raise ValueError(f"bad type {kind!r} in {line!r}")
    tags = []
    for field in fields[2:]:
        if field.startswith("@"):
            float(field[1:])
        elif field.startswith("#"):
            for tag in field[1:].split(","):
                if not TAG.match(tag):
                    raise ValueError(f"bad tag {tag!r} in {line!r}")
                tags.append(tag)
        elif field.startswith("T") or field.startswith("c:"):
            pass
        else:
            raise ValueError(f"unknown field {field!r} in {line!r}")
    return "\x1f".join([name, repr(float(value)), kind, "\x1d".join(tags)])


def main():
    where = sys.argv[1]
    if where.startswith("udp:"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", int(where[4:])))
    else:
        if os.path.exists(where):
            os.unlink(where)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(where)
    print("ready", flush=True)
    while True:
        data = sock.recv(65536)
        try:
            text = data.decode("ascii")
            metrics = [parse_line(l) for l in text.split("\n")]
            print(f"{len(data)}\t" + "\x1e".join(metrics), flush=True)
        except (ValueError, UnicodeDecodeError) as e:
            print(f"error\t{e}", flush=True)


main()
