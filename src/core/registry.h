/* The service registry: a tree of keys holding typed values, persisted under --root. */
#ifndef FM_CORE_REGISTRY_H
#define FM_CORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Key paths are UTF-8, backslash-separated, absolute, compared case-insensitively as Windows
 * does, e.g. "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\nullfilter\\Instances".
 * Value names are case-insensitive too; "" is the key's default value.  Value data is stored
 * exactly as Windows stores it: REG_SZ / REG_EXPAND_SZ / REG_MULTI_SZ as UTF-16LE including
 * terminators, REG_DWORD as 4 little-endian bytes, REG_QWORD as 8, REG_BINARY as given.
 * Types use the Windows numbers (REG_SZ 1, REG_EXPAND_SZ 2, REG_BINARY 3, REG_DWORD 4,
 * REG_MULTI_SZ 7, REG_QWORD 11).
 *
 * All functions are thread-safe (one lock over the tree) and return 0 or -errno:
 * -ENOENT missing key/value (or a deleted key), -ENOSPC buffer too small (for raw values the
 * needed size is stored in *len), -EINVAL bad path / name / wrong type for a typed getter,
 * -E2BIG value data over 4 MiB, -ENOMEM, -ENODEV before fm_reg_init.
 * Key name components are 1..255 bytes without control characters or backslashes; keys nest
 * at most 512 deep.  Case
 * folding is ASCII only (docs/registry.md).  Subkeys enumerate in case-insensitive order,
 * values in creation order.  The file format is described in docs/registry.md.
 */

#define FM_REG_SZ 1u
#define FM_REG_EXPAND_SZ 2u
#define FM_REG_BINARY 3u
#define FM_REG_DWORD 4u
#define FM_REG_MULTI_SZ 7u
#define FM_REG_QWORD 11u

/* Where a service's key lives, without a trailing backslash. */
#define FM_REG_SERVICES "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services"

struct fm_regkey;

/* Load the registry from `file` (a missing file is an empty registry) and remember it for
 * fm_reg_flush.  NULL file: in memory only (unit tests).  A malformed file gives -EINVAL
 * and an error log line naming the file and line number; the registry stays uninitialised.
 * -EBUSY if already initialised (call fm_reg_fini first).  Handles still open at fm_reg_fini
 * become dead (-ENOENT) and must still be closed. */
int fm_reg_init(const char *file);
void fm_reg_fini(void);
/* Write the whole tree to the file atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory).  On failure the previous file is untouched and the
 * error logged.  No-op for an in-memory registry. */
int fm_reg_flush(void);

/* Open (and with `create`, make, including missing parents) a key.  Release with close. */
int fm_reg_open(const char *path, int create, struct fm_regkey **out);
/* Open a subkey of an open key by relative path. */
int fm_reg_open_sub(struct fm_regkey *parent, const char *rel, int create, struct fm_regkey **out);
void fm_reg_close(struct fm_regkey *key);
/* Delete a key and everything below it; the handle stays valid but dead (-ENOENT after). */
int fm_reg_delete_key(struct fm_regkey *key);
/* The key's own name (last component; "" for the root), into buf; -ENOSPC if it does not fit. */
int fm_reg_key_name(struct fm_regkey *key, char *buf, size_t cap);
/* The key's full path ("\\REGISTRY\\MACHINE\\...", "\\" for the root), into buf. */
int fm_reg_key_path(struct fm_regkey *key, char *buf, size_t cap);

/* Raw values.  get: *len is capacity in, size out (buf may be NULL with *len 0 to ask the
 * size: -ENOSPC); type may be NULL.  enum_value: type, buf and len may be NULL (no data). */
int fm_reg_get_value(struct fm_regkey *key, const char *name, uint32_t *type, void *buf,
		     size_t *len);
int fm_reg_set_value(struct fm_regkey *key, const char *name, uint32_t type, const void *data,
		     size_t len);
int fm_reg_delete_value(struct fm_regkey *key, const char *name);
/* Enumerate by index (0..): -ENOENT past the end.  name buffers get UTF-8. */
int fm_reg_enum_key(struct fm_regkey *key, unsigned int index, char *name, size_t cap);
int fm_reg_enum_value(struct fm_regkey *key, unsigned int index, char *name, size_t cap,
		      uint32_t *type, void *buf, size_t *len);

/* Conveniences with UTF-8 strings: REG_SZ/REG_EXPAND_SZ converted, DWORD as uint32_t. */
int fm_reg_get_string(struct fm_regkey *key, const char *name, char *buf, size_t cap);
int fm_reg_set_string(struct fm_regkey *key, const char *name, const char *utf8);
int fm_reg_get_dword(struct fm_regkey *key, const char *name, uint32_t *out);
int fm_reg_set_dword(struct fm_regkey *key, const char *name, uint32_t v);
/* type FM_REG_SZ or FM_REG_EXPAND_SZ. */
int fm_reg_set_string_type(struct fm_regkey *key, const char *name, uint32_t type,
			   const char *utf8);
int fm_reg_get_qword(struct fm_regkey *key, const char *name, uint64_t *out);
int fm_reg_set_qword(struct fm_regkey *key, const char *name, uint64_t v);
/* REG_MULTI_SZ from/to UTF-8: get fills buf with "a\0b\0\0" (each string NUL-terminated,
 * then an empty string); set takes n non-empty strings. */
int fm_reg_get_multi_sz(struct fm_regkey *key, const char *name, char *buf, size_t cap);
int fm_reg_set_multi_sz(struct fm_regkey *key, const char *name, const char *const *strs, size_t n);

/* Text forms (the CLI and the file format): "sz", "expand_sz", "multi_sz", "dword", "qword",
 * "hex"/"binary" -> type; type -> "REG_SZ" etc. */
int fm_reg_type_from_name(const char *name, uint32_t *type);
const char *fm_reg_type_name(uint32_t type);
/*
 * Build a value's Windows data layout from text arguments: sz/expand_sz one UTF-8 string,
 * multi_sz any number of non-empty strings, dword/qword one number (C syntax: 10, 0x1f, 017),
 * binary one string of hex byte pairs optionally separated by commas ("01,02,ff").
 * *out is allocated with fm_malloc (release with fm_free; NULL for empty data).
 * -EINVAL on bad input.
 */
int fm_reg_encode(uint32_t type, const char *const *argv, size_t argc, void **out, size_t *len);

#endif
