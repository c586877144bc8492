#!/usr/bin/env python3
"""Count test points in meson's test logs: each TAP line of a test is one point, a test
without TAP output is one point.  Prints failures by name, then 'N passed, N failed[, N skipped]'."""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b\s*\d*\s*-?\s*(.*?)(#\s*(SKIP|TODO)\b.*)?$', re.I)


def count(build):
    passed = failed = skipped = 0
    failures = []
    try:
        lines = open(f'{build}/meson-logs/testlog.json').read().splitlines()
    except OSError as e:
        print(f'summary: no test log in {build}: {e}')
        return 0, 1, 0, [f'{build}: no test log']
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        name, result, out = t.get('name', '?'), t.get('result', ''), t.get('stdout') or ''
        points = [TAP.match(l) for l in out.splitlines()]
        points = [m for m in points if m]
        if points:
            bad = 0
            for m in points:
                if m.group(4) and m.group(4).upper() == 'SKIP':
                    skipped += 1
                elif m.group(1).lower() == 'ok':
                    passed += 1
                else:
                    failed += 1
                    bad += 1
                    failures.append(f'{name}: {m.group(2).strip()}')
            if result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and bad == 0:
                # The program died or lied about its plan: count that as a failure too.
                failed += 1
                failures.append(f'{name}: exited {result}')
        elif result == 'SKIP':
            skipped += 1
        elif result in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        else:
            failed += 1
            failures.append(f'{name}: {result}')
    return passed, failed, skipped, failures


def main():
    p = f = s = 0
    allfail = []
    for b in sys.argv[1:]:
        a, b2, c, d = count(b)
        p, f, s = p + a, f + b2, s + c
        allfail += d
    for x in allfail:
        print(f'FAILED: {x}')
    tail = f', {s} skipped' if s else ''
    print(f'{p} passed, {f} failed{tail}')
    return 1 if f else 0


if __name__ == '__main__':
    sys.exit(main())
