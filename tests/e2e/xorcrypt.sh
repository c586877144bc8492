#!/bin/bash
# e2e: the xorcrypt sample swaps read and write buffers: scrambled on the backing store, plain
# through the volume, byte-exact at any offset and size, with mmap and concurrent readers.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

data="$FM_T/data"
mkdir -p "$data"
fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_ok "register xorcrypt" fm_fltmc register xorcrypt "$FM_BUILD/filters/xorcrypt.so" --altitude 141000
fm_ok "load xorcrypt" fm_fltmc load xorcrypt
printf 'The quick brown fox jumps over the lazy dog.\n' >"$data/plain.txt"
fm_is "reads through the volume are plain" "$(cat "$data/plain.txt")" \
	"The quick brown fox jumps over the lazy dog."
fm_ok "random I/O, truncates, mmap and concurrent readers match a model" \
	"$FM_BUILD/tests/e2e/xorcheck" "$data" 3000
dd if=/dev/zero of="$data/zeros" bs=4096 count=2 status=none
fm_is "zeros stay zeros (holes and extensions read back right)" \
	"$(od -v -An -tx1 "$data/zeros" | tr -d ' \n' | tr -d 0)" ""
fm_ok "unmount" fm_fltmc unmount "$data"
fm_run cmp -s <(printf 'The quick brown fox jumps over the lazy dog.\n') "$data/plain.txt"
fm_is "the backing file holds transformed bytes" "$FM_RC" 1
fm_is "of the same length" "$(stat -c %s "$data/plain.txt")" 45
fm_ok "mount again" fm_mount "$data"
fm_is "and it reads back plain after a remount" "$(cat "$data/plain.txt")" \
	"The quick brown fox jumps over the lazy dog."
# The same through the page cache: what the cache cannot serve reaches the filter as paging I/O.
fm_ok "unmount" fm_fltmc unmount "$data"
fm_ok "mount with the cached policy" fm_mount "$data" --cache cached
fm_ok "volumes" fm_fltmc volumes
fm_like "says the volume uses the write-back page cache" "$FM_OUT" "cached, (write-back cache \\(every file\\), passthrough off|passthrough (off \\(filtered\\)|unavailable)) +/dev/fuse$"
fm_is "it reads back plain through the page cache" "$(cat "$data/plain.txt")" \
	"The quick brown fox jumps over the lazy dog."
fm_ok "random I/O, truncates, mmap and concurrent readers match a model (cached)" \
	"$FM_BUILD/tests/e2e/xorcheck" "$data" 3000
fm_ok "unload xorcrypt" fm_fltmc unload xorcrypt
# Pages the kernel caches stay as the filter produced them until it drops them (docs/volume.md).
sync
echo 1 >/proc/sys/vm/drop_caches
fm_run cat "$data/plain.txt"
fm_unlike "without the filter the volume shows the stored bytes" "$FM_OUT" "quick brown"
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
