#!/bin/bash
# e2e: fsx (random reads, writes, truncates, mmap, hole punching, each read checked against a
# model) through the xorcrypt sample, then the backing file compared with the transform undone.
# FSX_OPS (default 50000) sets the length of the main run, FSX_SEED its seed; the documented
# long run is FSX_OPS=1000000 (docs/reliability.md).  Arguments [CACHE [OPS]]: the volume's
# cache policy (auto, cached or direct; FSX_CACHE; docs/volume.md) and the default length:
# e2e-fsx-cached runs a short one through the write-back cache.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

fsx=$FM_BUILD/tests/fsx/fsx
ops=${FSX_OPS:-${2:-50000}}
seed=${FSX_SEED:-$(date +%s)}
back=$FM_T/back
mnt=$FM_T/mnt
mkdir -p "$back" "$mnt" "$FM_T/plain"

# The exerciser itself, on a plain directory: it must find nothing wrong there.
fm_ok "fsx on the plain file system (2000 operations)" \
	"$fsx" -q -N 2000 -S "$seed" "$FM_T/plain/f"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register xorcrypt" fm_fltmc register xorcrypt "$FM_BUILD/filters/xorcrypt.so" --altitude 141000
cache=${FSX_CACHE:-${1:-auto}}
fm_ok "mount the backing dir on a separate mount point (cache $cache)" \
	fm_mount "$back" "$mnt" --cache "$cache"
fm_ok "load xorcrypt" fm_fltmc load xorcrypt

fm_diag "fsx seed $seed, $ops operations"
fm_run "$fsx" -q -N "$ops" -S "$seed" -B "$back/fsx.dat" "$mnt/fsx.dat"
if [ "$FM_RC" -eq 0 ]; then
	fm_pass "fsx through xorcrypt: $ops operations, 0 mismatches, backing file matches"
	fm_diag "$FM_OUT"
else
	fm_fail "fsx through xorcrypt: $ops operations (seed $seed)" "$FM_OUT" "$FM_ERR"
fi
# Smaller files and operations: more truncates across page and block boundaries.
fm_run "$fsx" -q -N $((ops / 5)) -S $((seed + 1)) -l 20000 -o 5000 -B "$back/small.dat" \
	"$mnt/small.dat"
if [ "$FM_RC" -eq 0 ]; then
	fm_pass "fsx with small files: 0 mismatches"
else
	fm_fail "fsx with small files (seed $((seed + 1)))" "$FM_OUT" "$FM_ERR"
fi
fm_ok "unmount" fm_fltmc unmount "$mnt"
fm_done
