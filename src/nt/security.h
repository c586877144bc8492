/* Access checks against a DACL for Linux peers: which SIDs a uid/gid set holds, and what a DACL grants them. */
#ifndef FM_NT_SECURITY_H
#define FM_NT_SECURITY_H

#include <ntifs.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Who asks: a peer's credentials (SO_PEERCRED and SO_PEERGROUPS). */
struct fm_sec_subject {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups, may include gid */
	size_t ngroups;
	bool system; /* root or the daemon's own uid: SYSTEM and BUILTIN\Administrators */
};

/*
 * Whether the subject holds `sid`: S-1-22-1-<uid>, S-1-22-2-<gid> of its primary or a
 * supplementary group, Everyone (S-1-1-0), Authenticated Users (S-1-5-11), BUILTIN\Users
 * (S-1-5-32-545), and for a system subject SYSTEM (S-1-5-18) and BUILTIN\Administrators
 * (S-1-5-32-544).
 */
bool fm_sec_holds_sid(const struct fm_sec_subject *who, const SID *sid);

/*
 * Check a DACL as the object manager does: ACEs in order (inherit-only ones skipped), an
 * access-denied ACE for a held SID refuses any still-wanted right it names, access-allowed
 * ACEs add rights, and the check passes once every right in `desired` is granted.
 * GENERIC_ALL in an ACE stands for `all_access`.  dacl NULL = a NULL DACL: everything
 * granted.  The DACL must have passed fm_sec_valid_acl.
 */
bool fm_sec_access_check(const ACL *dacl, const struct fm_sec_subject *who, ACCESS_MASK desired,
			 ACCESS_MASK all_access);

/* Whether an ACL is well formed: its size, every ACE inside it, every SID inside its ACE. */
bool fm_sec_valid_acl(const ACL *acl);

/*
 * The DACL of a security descriptor (absolute or self-relative): 1 and *dacl (NULL for a
 * NULL DACL) if one is present, 0 if none is, -1 if the descriptor is malformed.
 */
int fm_sec_dacl_of(const void *sd, const ACL **dacl);

#endif
