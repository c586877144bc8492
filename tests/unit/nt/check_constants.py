#!/usr/bin/env python3
# Cross-checks the numeric constants of include/ against Debian's mingw-w64 headers (TAP output).
#
# Only values are compared: the script reads mingw's simple "#define NAME value" and
# "#define NAME CTL_CODE(...)" lines, keeps the names our headers also define, and compiles a
# small C program that compares our value with theirs.  Nothing of mingw's text is copied.
import glob
import os
import re
import subprocess
import sys
import tempfile

MINGW = '/usr/share/mingw-w64/include'


def main():
    inc = sys.argv[1]
    if not os.path.isdir(MINGW + '/ddk'):
        print('1..0 # SKIP mingw-w64 headers not installed (apt-get install mingw-w64-x86-64-dev)')
        return 0
    ref = {}
    files = glob.glob(MINGW + '/ddk/*.h') + [MINGW + '/' + f for f in
                                              ('ntstatus.h', 'winnt.h', 'ntdef.h', 'winioctl.h')]
    num = re.compile(r'^\s*#\s*define\s+([A-Z][A-Z0-9_]+)\s+\(?\s*(?:\(\s*NTSTATUS\s*\)\s*)?'
                     r'(0x[0-9A-Fa-f]+|\d+)[uUlL]*\s*\)?\s*$', re.M)
    ctl = re.compile(r'^\s*#\s*define\s+((?:FSCTL|IOCTL)_\w+)\s+CTL_CODE\s*\(\s*(\w+)\s*,'
                     r'\s*(\w+)\s*,\s*(\w+)\s*,\s*([\w\s|()]+?)\)\s*$', re.M)
    for f in files:
        try:
            text = open(f, errors='ignore').read()
        except OSError:
            continue
        for m in num.finditer(text):
            ref.setdefault(m.group(1), set()).add(int(m.group(2), 0))
        for m in ctl.finditer(text):
            ref.setdefault(m.group(1), set()).add(('CTL',) + m.groups()[1:])
    ours = set()
    for f in glob.glob(inc + '/*.h'):
        ours |= set(re.findall(r'^#define\s+([A-Z_][A-Z0-9_]+)\s', open(f).read(), re.M))
    checks = []
    for name, vals in sorted(ref.items()):
        if name not in ours or len(vals) != 1:
            continue
        v = next(iter(vals))
        if isinstance(v, tuple):
            dev = v[1] if not v[1].startswith('VOLSNAP') else '0x53'
            expr = 'CTL_CODE(%s,%s,%s,%s)' % (dev, v[2], v[3], v[4])
            checks.append('{unsigned long long a=(ULONG)(%s),b=(ULONG)(%s);'
                          'n++;if(a!=b){bad++;printf("# %s: ours 0x%%llx, expected 0x%%llx\\n",a,b);}}'
                          % (name, expr, name))
        else:
            checks.append('{unsigned long long a=(ULONG)(%s);n++;'
                          'if(a!=%dULL&&(unsigned long long)(%s)!=%dULL){bad++;'
                          'printf("# %s: ours 0x%%llx, expected 0x%x\\n",a);}}'
                          % (name, v, name, v, name, v))
    prog = ['#include <windows.h>', '#include <fltKernel.h>', '#include <ntdddisk.h>', '#include <ntstrsafe.h>', '#include <wsk.h>', '#include <ntintsafe.h>', '#include <stdio.h>',
            'int main(void){int n=0,bad=0;'] + checks + [
        'printf("%s 1 - %d constants match mingw-w64\\n", bad ? "not ok" : "ok", n-bad);',
        'printf("1..1\\n");return bad?1:0;}']
    with tempfile.TemporaryDirectory() as d:
        src, exe = d + '/c.c', d + '/c'
        open(src, 'w').write('\n'.join(prog))
        cc = os.environ.get('CC', 'cc')
        r = subprocess.run([cc, '-w', '-I', inc, src, '-o', exe], capture_output=True, text=True)
        if r.returncode != 0:
            print('not ok 1 - the checker does not compile')
            for line in r.stderr.splitlines()[:20]:
                print('# ' + line)
            print('1..1')
            return 1
        r = subprocess.run([exe], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        return r.returncode


sys.exit(main())
