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
 * -ENOENT missing key/value, -EEXIST, -ENOSPC buffer too small (the needed size is stored),
 * -EINVAL bad path, -ENOMEM.
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
 * fm_reg_flush.  NULL file: in memory only (unit tests). */
int fm_reg_init(const char *file);
void fm_reg_fini(void);
/* Write the whole tree to the file atomically (temp file, fsync, rename). */
int fm_reg_flush(void);

/* Open (and with `create`, make, including missing parents) a key.  Release with close. */
int fm_reg_open(const char *path, int create, struct fm_regkey **out);
/* Open a subkey of an open key by relative path. */
int fm_reg_open_sub(struct fm_regkey *parent, const char *rel, int create,
		    struct fm_regkey **out);
void fm_reg_close(struct fm_regkey *key);
/* Delete a key and everything below it; the handle stays valid but dead (-ENOENT after). */
int fm_reg_delete_key(struct fm_regkey *key);
/* The key's own name (last component) and full path, into buf; -ENOSPC if it does not fit. */
int fm_reg_key_name(struct fm_regkey *key, char *buf, size_t cap);

/* Raw values.  get: *len is capacity in, size out; type may be NULL. */
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

#endif
