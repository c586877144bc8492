/* POSIX owner, group and mode as Windows security descriptors (owner/group SIDs, a DACL). */
#ifndef FM_COMMON_SECDESC_H
#define FM_COMMON_SECDESC_H

#include <ntdef.h>

#include <stdbool.h>
#include <stdint.h>

/*
 * Owner and group are the SIDs Samba and WSL use for Unix identities: S-1-22-1-<uid> and
 * S-1-22-2-<gid>.  The DACL has three ACCESS_ALLOWED ACEs, for the owner, the group and
 * Everyone (S-1-1-0), carrying the rwx bits of the mode as FILE_GENERIC_READ / WRITE / EXECUTE
 * (plus what POSIX always grants: the owner may read and change the descriptor and the
 * attributes, everyone may read them).
 */

/*
 * A self-relative descriptor with the parts `si` asks for (OWNER_, GROUP_, DACL_SECURITY_
 * INFORMATION; a SACL or label is never stored, so none is returned).  Returns the length it
 * needs; writes it only when cap is large enough.
 */
ULONG fm_sd_build(uint32_t uid, uint32_t gid, uint32_t mode, ULONG si, void *buf, ULONG cap);

/* What a descriptor given to IRP_MJ_SET_SECURITY asks for. */
struct fm_sd_posix {
	bool has_uid, has_gid, has_mode;
	uint32_t uid, gid;
	uint32_t mode; /* 0777 bits */
};

/*
 * Parse an absolute or self-relative descriptor (len: its length when known, else 0) for the
 * parts `si` names.  owner_uid/group_gid: the file's current owner and group, which ACEs for
 * other Unix SIDs are compared with.  STATUS_INVALID_OWNER / STATUS_INVALID_PRIMARY_GROUP for
 * a SID that is no Unix identity, STATUS_NOT_SUPPORTED for what mode bits cannot express (deny
 * ACEs, ACEs for other SIDs, a SACL), STATUS_INVALID_SECURITY_DESCR for a malformed one.
 */
NTSTATUS fm_sd_parse(const void *sd, ULONG len, ULONG si, uint32_t owner_uid, uint32_t group_gid,
		     struct fm_sd_posix *out);

#endif
