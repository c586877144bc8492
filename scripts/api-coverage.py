#!/usr/bin/env python3
"""docs/api-coverage.md from the headers and the built library.

Every kernel-side routine we ship is listed: each function libfltmgr exports under a WDK name
(everything but the library's internal fm_* interface), each routine the kernel headers in
include/ declare (Flt*, FsRtl*, Rtl*, Ex*, Ke*, Kd*, Zw*, Nt*, Io*, Ps*, Ob*, Mm*, Se*, Cm*,
Tm*, Dbg*, Interlocked*, ...) and each one they implement inline or as a macro.  Status:

  complete       exported (or in the header) and behaves as documented
  partial        exported, with a note saying what is missing (docs/api-notes.tsv)
  not supported  exported, but Linux cannot have the feature; the note says why
  missing        declared so that filters compile, but nothing provides it yet

Notes and the partial / not supported statuses come from docs/api-notes.tsv
(name<TAB>status<TAB>note; status "implemented" or "complete" only adds a note).

  api-coverage.py LIBFLTMGR.so SOURCE_ROOT          print the document
  api-coverage.py LIBFLTMGR.so SOURCE_ROOT --check  TAP: the document is current, every export
                                                    is declared by a header, every note names a
                                                    routine, every partial / not supported
                                                    routine says why
"""
import os
import re
import subprocess
import sys

# The WDK routine families, by name.
FAMILY = re.compile(r'(Flt|FsRtl|Rtlx|Rtl|Ex|Ke|Kf|Kd|Zw|Nt|Iof|Io|Ps|Obf|Ob|Mm|Se|Cm|Tm|v?Dbg|'
                    r'Interlocked|InitializeSListHead|QueryDepthSList|ProbeFor)'
                    r'(?=[A-Z0-9_]|\b)[A-Za-z0-9_]*$')
# User-mode headers (libfltlib): not part of this document.
USER_HEADERS = {'fltuser.h', 'fltuserstructures.h', 'windows.h', 'strsafe.h', 'crtdbg.h'}
CALL = re.compile(r'\b([A-Za-z_][A-Za-z0-9_]*)\s*\(')
INLINE = re.compile(r'(?:static\s+inline|FORCEINLINE|__inline)[^;{]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(')
MACRO = re.compile(r'^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)\(', re.M)
STATUSES = ('complete', 'partial', 'not supported', 'missing')


def is_routine(name):
    return FAMILY.match(name) is not None


def kernel_headers(root):
    inc = os.path.join(root, 'include')
    for h in sorted(os.listdir(inc)):
        if h.endswith('.h') and h.lower() not in USER_HEADERS:
            yield h, open(os.path.join(inc, h), encoding='utf-8').read()


def strip(text):
    """Comments and preprocessor lines (with their continuations) removed."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', '', text, flags=re.M)


def in_headers(root):
    """Routines the headers themselves implement (inline functions and function-like macros)."""
    names = set()
    for _, text in kernel_headers(root):
        names.update(m.group(1) for m in INLINE.finditer(text))
        names.update(m.group(1) for m in MACRO.finditer(text))
    return {n for n in names if is_routine(n)}


def declared(root):
    """Every name the kernel headers declare as a function (a name then '(' in a declaration)."""
    names = set()
    for _, text in kernel_headers(root):
        for chunk in re.split(r'[;{}]', strip(text)):
            for m in CALL.finditer(chunk):
                before = chunk[:m.start()].strip()
                if before and before[-1] in '=,(|&!?:+-*/' and not before.endswith('*'):
                    continue
                names.add(m.group(1))
    return names


CRT_ALIAS = re.compile(r'^#define[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+((?:fm_)?[A-Za-z_][A-Za-z0-9_]*)[ \t]*$',
                       re.M)


def crt_aliases(root):
    """The wide CRT filters call (wcslen, _wcsicmp, swprintf, ...): name -> what provides it."""
    text = open(os.path.join(root, 'include', 'fm_wcrt.h'), encoding='utf-8').read()
    return {m.group(1): m.group(2) for m in CRT_ALIAS.finditer(text)
            if m.group(1)[0].islower() or m.group(1).startswith('_w') or
            m.group(1).startswith('_s')}


def exported(lib, internal=False):
    """(functions, data) libfltmgr exports under WDK names (with internal: all of them)."""
    out = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True,
                         check=True).stdout
    funcs, data = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 3 or (not internal and f[-1].startswith(('fm_', '_'))):
            continue
        (funcs if f[-2] in ('T', 'W', 'i') else data).add(f[-1])
    return funcs, data


def notes(root):
    table = {}
    path = os.path.join(root, 'docs', 'api-notes.tsv')
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        if not line.strip() or line.startswith('#'):
            continue
        name, status, note = (line.rstrip('\n').split('\t') + ['', ''])[:3]
        table[name] = (status.strip(), note.strip(), n)
    return table


def family(name):
    m = FAMILY.match(name)
    f = m.group(1) if m else 'other'
    return {'Iof': 'Io', 'Obf': 'Ob', 'Kf': 'Ke', 'Rtlx': 'Rtl', 'vDbg': 'Dbg', 'InitializeSListHead':
            'Interlocked', 'QueryDepthSList': 'Interlocked', 'ProbeFor': 'Mm'}.get(f, f)


def build(lib, root):
    """The rows (name, status, note, where) and the problems the check reports."""
    decl, inline = declared(root), in_headers(root)
    funcs, data = exported(lib)
    all_funcs = exported(lib, internal=True)[0]
    nts = notes(root)
    problems = []
    names = funcs | inline | {n for n in decl if is_routine(n)}
    rows = []
    for name in sorted(names):
        status, note, _ = nts.get(name, ('', '', 0))
        if status in ('', 'implemented'):
            status = 'complete'
        if name in funcs:
            where = 'libfltmgr'
        elif name in inline:
            where = 'header'
        else:
            where = ''
            status = 'missing'
        if status not in STATUSES:
            problems.append(f'{name}: unknown status "{status}" in docs/api-notes.tsv')
        if status in ('partial', 'not supported') and not note:
            problems.append(f'{name}: {status} without a note saying what is missing or why')
        if name in funcs and name not in decl and name not in inline:
            problems.append(f'{name}: exported by libfltmgr but declared by no header')
        rows.append((name, status, note, where))
    crt = []
    for name, target in sorted(crt_aliases(root).items()):
        status, note, _ = nts.get(name, ('', '', 0))
        if status in ('', 'implemented'):
            status = 'complete'
        if target.startswith('fm_'):
            if target not in all_funcs:
                status = 'missing'
            where = f'libfltmgr (`{target}`)'
        else:
            where = f'libc (`{target}`)'
        crt.append((name, status, note, where))
        names.add(name)
    for name, (_, _, line) in sorted(nts.items()):
        if name not in names:
            problems.append(f'docs/api-notes.tsv:{line}: {name} is neither exported nor declared')
    return rows, crt, sorted(data), problems


def render(rows, crt, data):
    counts, fams = {}, {}
    for name, status, _, _ in rows:
        counts[status] = counts.get(status, 0) + 1
        fam = fams.setdefault(family(name), {})
        fam[status] = fam.get(status, 0) + 1
    out = ['# API coverage', '',
           'Generated by `scripts/api-coverage.py` from the kernel headers in `include/` and the '
           'exports of the built `libfltmgr.so`; notes from `docs/api-notes.tsv`. The '
           '`api-coverage` test fails when this file is stale, when the library exports a routine '
           'no header declares, or when a partial or unsupported routine has no note: '
           'regenerate it with',
           '`python3 scripts/api-coverage.py build/libfltmgr.so . > docs/api-coverage.md`.', '',
           'Every function `libfltmgr` exports under a WDK name is listed, with every routine '
           'the headers declare or implement inline. Status:', '',
           '- **complete**: behaves as the WDK documents (a note may say how Linux shapes it);',
           '- **partial**: works, with the note saying what is missing;',
           '- **not supported**: Linux cannot have the feature; the routine fails cleanly '
           '(`STATUS_NOT_SUPPORTED`) and the note says why;',
           '- **missing**: declared so that filters compile, but a filter that calls it does '
           'not load yet (the loader names the symbol).', '',
           'The user-mode API (`fltUser.h`, libfltlib) is described in `docs/ports.md`.', '',
           'Summary: ' + ', '.join(f'{counts.get(s, 0)} {s}' for s in STATUSES) +
           f' ({len(rows)} routines).', '',
           '| family | ' + ' | '.join(STATUSES) + ' |',
           '|---|' + '---|' * len(STATUSES)]
    for fam in sorted(fams):
        out.append(f'| `{fam}` | ' + ' | '.join(str(fams[fam].get(s, 0)) for s in STATUSES) +
                   ' |')
    out += ['', '| routine | status | from | notes |', '|---|---|---|---|']
    for name, status, note, where in rows:
        out.append(f'| `{name}` | {status} | {where} | {note} |')
    if crt:
        out += ['', '## The wide C runtime', '',
                'Minifilters are compiled with 2-byte `wchar_t`, so glibc\'s `wcs*` functions '
                '(4-byte) must not see their strings: `fm_wcrt.h` (included by `fltKernel.h`) '
                'maps each name to a UTF-16 implementation.', '',
                '| routine | status | from | notes |', '|---|---|---|---|']
        for name, status, note, where in crt:
            out.append(f'| `{name}` | {status} | {where} | {note} |')
    if data:
        out += ['', 'Exported data (object types, ECP GUIDs, debugger flags): ' +
                ', '.join(f'`{d}`' for d in data) + '.']
    return '\n'.join(out) + '\n'


def main():
    if len(sys.argv) < 3:
        sys.stderr.write('usage: api-coverage.py LIBFLTMGR.so SOURCE_ROOT [--check]\n')
        return 2
    lib, root = sys.argv[1], sys.argv[2]
    rows, crt, data, problems = build(lib, root)
    doc = render(rows, crt, data)
    if '--check' not in sys.argv:
        sys.stdout.write(doc)
        return 0
    path = os.path.join(root, 'docs', 'api-coverage.md')
    cur = open(path, encoding='utf-8').read() if os.path.exists(path) else ''
    fails = 0
    if cur == doc:
        print('ok 1 - docs/api-coverage.md matches the headers and the library')
    else:
        fails += 1
        print('not ok 1 - docs/api-coverage.md matches the headers and the library')
        print('# stale: regenerate with scripts/api-coverage.py (see the file header)')
    decl_problems = [p for p in problems if 'declared by no header' in p]
    note_problems = [p for p in problems if p not in decl_problems]
    for n, (desc, probs) in enumerate((
            ('every exported routine is declared by a header', decl_problems),
            ('every note names a routine; partial / not supported ones say why',
             note_problems)), 2):
        if probs:
            fails += 1
            print(f'not ok {n} - {desc}')
            for p in probs:
                print(f'# {p}')
        else:
            print(f'ok {n} - {desc}')
    print('1..3')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
