/* Security descriptors, ACLs, SIDs and SeExports; the DACL check that communication ports apply to Linux peers. */
#include "nt/security.h"

#include <string.h>

/* ---- SIDs ------------------------------------------------------------------------------------ */

BOOLEAN RtlValidSid(PSID Sid)
{
	const SID *s = Sid;

	return s && s->Revision == SID_REVISION && s->SubAuthorityCount <= SID_MAX_SUB_AUTHORITIES;
}

ULONG RtlLengthRequiredSid(ULONG SubAuthorityCount)
{
	return (ULONG)(offsetof(SID, SubAuthority) + SubAuthorityCount * sizeof(ULONG));
}

ULONG RtlLengthSid(PSID Sid)
{
	return RtlLengthRequiredSid(((const SID *)Sid)->SubAuthorityCount);
}

NTSTATUS RtlInitializeSid(PSID Sid, PSID_IDENTIFIER_AUTHORITY IdentifierAuthority,
			  UCHAR SubAuthorityCount)
{
	SID *s = Sid;

	if (!s || !IdentifierAuthority || SubAuthorityCount > SID_MAX_SUB_AUTHORITIES)
		return STATUS_INVALID_PARAMETER;
	s->Revision = SID_REVISION;
	s->SubAuthorityCount = SubAuthorityCount;
	s->IdentifierAuthority = *IdentifierAuthority;
	return STATUS_SUCCESS;
}

PULONG RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority)
{
	/* As documented, the index is not checked against SubAuthorityCount. */
	return &((SID *)Sid)->SubAuthority[SubAuthority];
}

BOOLEAN RtlEqualSid(PSID Sid1, PSID Sid2)
{
	const SID *a = Sid1, *b = Sid2;

	return a->Revision == b->Revision && a->SubAuthorityCount == b->SubAuthorityCount &&
	       memcmp(a, b, RtlLengthSid(Sid1)) == 0;
}

NTSTATUS RtlCopySid(ULONG DestinationSidLength, PSID DestinationSid, PSID SourceSid)
{
	ULONG len = RtlLengthSid(SourceSid);

	if (DestinationSidLength < len)
		return STATUS_BUFFER_TOO_SMALL;
	memmove(DestinationSid, SourceSid, len);
	return STATUS_SUCCESS;
}

/* ---- ACLs ------------------------------------------------------------------------------------ */

NTSTATUS RtlCreateAcl(PACL Acl, ULONG AclLength, ULONG AclRevision)
{
	if (AclLength < sizeof(ACL))
		return STATUS_BUFFER_TOO_SMALL;
	if (AclRevision < MIN_ACL_REVISION || AclRevision > MAX_ACL_REVISION || AclLength > 0xffff)
		return STATUS_INVALID_PARAMETER;
	memset(Acl, 0, sizeof(ACL));
	Acl->AclRevision = (UCHAR)AclRevision;
	/* ACEs are DWORD-aligned; the usable size is rounded down to that. */
	Acl->AclSize = (USHORT)(AclLength & ~3u);
	return STATUS_SUCCESS;
}

/* The end of the ACEs in use (offset from the ACL), or 0 if the ACL is malformed. */
static ULONG acl_used(const ACL *acl)
{
	ULONG at = sizeof(ACL);

	for (USHORT i = 0; i < acl->AceCount; i++) {
		const ACE_HEADER *h = (const ACE_HEADER *)((const UCHAR *)acl + at);

		if (at + sizeof(ACE_HEADER) > acl->AclSize || h->AceSize < sizeof(ACE_HEADER) ||
		    at + h->AceSize > acl->AclSize)
			return 0;
		at += h->AceSize;
	}
	return at;
}

bool fm_sec_valid_acl(const ACL *acl)
{
	ULONG at = sizeof(ACL);

	if (!acl || acl->AclSize < sizeof(ACL) || acl->AclRevision < MIN_ACL_REVISION ||
	    acl->AclRevision > MAX_ACL_REVISION || !acl_used(acl))
		return false;
	for (USHORT i = 0; i < acl->AceCount; i++) {
		const ACE_HEADER *h = (const ACE_HEADER *)((const UCHAR *)acl + at);

		if (h->AceType == ACCESS_ALLOWED_ACE_TYPE || h->AceType == ACCESS_DENIED_ACE_TYPE) {
			const ACCESS_ALLOWED_ACE *a = (const ACCESS_ALLOWED_ACE *)h;
			const SID *sid = (const SID *)&a->SidStart;
			ULONG room = h->AceSize - (ULONG)offsetof(ACCESS_ALLOWED_ACE, SidStart);

			if (h->AceSize < sizeof(ACCESS_ALLOWED_ACE) ||
			    room < offsetof(SID, SubAuthority) || !RtlValidSid((PSID)sid) ||
			    RtlLengthSid((PSID)sid) > room)
				return false;
		}
		at += h->AceSize;
	}
	return true;
}

NTSTATUS RtlAddAccessAllowedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
				  ACCESS_MASK AccessMask, PSID Sid)
{
	ACCESS_ALLOWED_ACE *ace;
	ULONG used, size;

	if (!Acl || !acl_used(Acl))
		return STATUS_INVALID_ACL;
	if (!RtlValidSid(Sid))
		return STATUS_INVALID_SID;
	if (AceRevision < MIN_ACL_REVISION || AceRevision > MAX_ACL_REVISION)
		return STATUS_REVISION_MISMATCH;
	if (AceFlags & ~0x1fu)
		return STATUS_INVALID_PARAMETER;
	used = acl_used(Acl);
	size = (ULONG)offsetof(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(Sid);
	size = (size + 3) & ~3u;
	if (used + size > Acl->AclSize)
		return STATUS_ALLOTTED_SPACE_EXCEEDED;
	ace = (ACCESS_ALLOWED_ACE *)((UCHAR *)Acl + used);
	memset(ace, 0, size);
	ace->Header.AceType = ACCESS_ALLOWED_ACE_TYPE;
	ace->Header.AceFlags = (UCHAR)AceFlags;
	ace->Header.AceSize = (USHORT)size;
	ace->Mask = AccessMask;
	memcpy(&ace->SidStart, Sid, RtlLengthSid(Sid));
	Acl->AceCount++;
	/* The ACL takes the higher revision of the two. */
	if (AceRevision > Acl->AclRevision)
		Acl->AclRevision = (UCHAR)AceRevision;
	return STATUS_SUCCESS;
}

NTSTATUS RtlAddAccessAllowedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid)
{
	return RtlAddAccessAllowedAceEx(Acl, AceRevision, 0, AccessMask, Sid);
}

NTSTATUS RtlGetAce(PACL Acl, ULONG AceIndex, PVOID *Ace)
{
	ULONG at = sizeof(ACL);

	if (!Acl || !Ace || !acl_used(Acl))
		return STATUS_INVALID_PARAMETER;
	if (AceIndex >= Acl->AceCount)
		return STATUS_INVALID_PARAMETER;
	for (ULONG i = 0; i < AceIndex; i++)
		at += ((const ACE_HEADER *)((const UCHAR *)Acl + at))->AceSize;
	*Ace = (UCHAR *)Acl + at;
	return STATUS_SUCCESS;
}

/* ---- Security descriptors -------------------------------------------------------------------- */

NTSTATUS RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Revision)
{
	PISECURITY_DESCRIPTOR sd = SecurityDescriptor;

	if (Revision != SECURITY_DESCRIPTOR_REVISION)
		return STATUS_UNKNOWN_REVISION;
	memset(sd, 0, sizeof(*sd));
	sd->Revision = (UCHAR)Revision;
	return STATUS_SUCCESS;
}

NTSTATUS RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN DaclPresent,
				      PACL Dacl, BOOLEAN DaclDefaulted)
{
	PISECURITY_DESCRIPTOR sd = SecurityDescriptor;

	if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
		return STATUS_UNKNOWN_REVISION;
	if (sd->Control & SE_SELF_RELATIVE)
		return STATUS_INVALID_SECURITY_DESCR;
	sd->Control = (USHORT)((sd->Control & ~(SE_DACL_PRESENT | SE_DACL_DEFAULTED)) |
			       (DaclPresent ? SE_DACL_PRESENT : 0) |
			       (DaclPresent && DaclDefaulted ? SE_DACL_DEFAULTED : 0));
	sd->Dacl = DaclPresent ? Dacl : NULL;
	return STATUS_SUCCESS;
}

int fm_sec_dacl_of(const void *sdp, const ACL **dacl)
{
	const SECURITY_DESCRIPTOR *sd = sdp;

	*dacl = NULL;
	if (!sd || sd->Revision != SECURITY_DESCRIPTOR_REVISION)
		return -1;
	if (!(sd->Control & SE_DACL_PRESENT))
		return 0;
	if (sd->Control & SE_SELF_RELATIVE) {
		const SECURITY_DESCRIPTOR_RELATIVE *r = sdp;

		/* Offsets from the descriptor's start; 0 is a NULL DACL. */
		if (r->Dacl)
			*dacl = (const ACL *)((const UCHAR *)sdp + r->Dacl);
		return 1;
	}
	*dacl = sd->Dacl;
	return 1;
}

NTSTATUS RtlGetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PBOOLEAN DaclPresent,
				      PACL *Dacl, PBOOLEAN DaclDefaulted)
{
	const ACL *dacl;
	int rc = fm_sec_dacl_of(SecurityDescriptor, &dacl);

	if (rc < 0)
		return STATUS_UNKNOWN_REVISION;
	*DaclPresent = rc == 1;
	if (rc == 1) {
		*Dacl = (PACL)dacl;
		*DaclDefaulted =
		    (((PISECURITY_DESCRIPTOR)SecurityDescriptor)->Control & SE_DACL_DEFAULTED) != 0;
	}
	return STATUS_SUCCESS;
}

ULONG RtlLengthSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
	PISECURITY_DESCRIPTOR sd = SecurityDescriptor;

	return sizeof(*sd) + (sd->Dacl ? sd->Dacl->AclSize : 0) +
	       (sd->Sacl ? sd->Sacl->AclSize : 0);
}

BOOLEAN RtlValidSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
	return SecurityDescriptor && ((PISECURITY_DESCRIPTOR)SecurityDescriptor)->Revision ==
					 SECURITY_DESCRIPTOR_REVISION;
}

/* ---- Well-known SIDs and privileges (SeExports) ---------------------------------------------- */

/* A SID with up to two sub-authorities, as static data. */
struct sid2 {
	UCHAR Revision;
	UCHAR SubAuthorityCount;
	SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
	ULONG SubAuthority[2];
};

#define SID1(auth, a)                                                                              \
	{                                                                                          \
		SID_REVISION, 1, {{0, 0, 0, 0, 0, auth}},                                          \
		{                                                                                  \
			a, 0                                                                       \
		}                                                                                  \
	}
#define SID2(auth, a, b)                                                                           \
	{                                                                                          \
		SID_REVISION, 2, {{0, 0, 0, 0, 0, auth}},                                          \
		{                                                                                  \
			a, b                                                                       \
		}                                                                                  \
	}

static struct sid2 null_sid = SID1(0, SECURITY_NULL_RID), world_sid = SID1(1, SECURITY_WORLD_RID),
		   local_sid = SID1(2, SECURITY_LOCAL_RID),
		   creator_owner_sid = SID1(3, SECURITY_CREATOR_OWNER_RID),
		   creator_group_sid = SID1(3, SECURITY_CREATOR_GROUP_RID),
		   nt_authority_sid = {SID_REVISION, 0, {{0, 0, 0, 0, 0, 5}}, {0, 0}},
		   dialup_sid = SID1(5, SECURITY_DIALUP_RID),
		   network_sid = SID1(5, SECURITY_NETWORK_RID),
		   batch_sid = SID1(5, SECURITY_BATCH_RID),
		   interactive_sid = SID1(5, SECURITY_INTERACTIVE_RID),
		   system_sid = SID1(5, SECURITY_LOCAL_SYSTEM_RID),
		   admins_sid = SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS),
		   users_sid = SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_USERS),
		   guests_sid = SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_GUESTS),
		   power_users_sid =
		       SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_POWER_USERS),
		   account_ops_sid =
		       SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ACCOUNT_OPS),
		   system_ops_sid =
		       SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_SYSTEM_OPS),
		   print_ops_sid = SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_PRINT_OPS),
		   backup_ops_sid =
		       SID2(5, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_BACKUP_OPS),
		   auth_users_sid = SID1(5, SECURITY_AUTHENTICATED_USER_RID),
		   restricted_sid = SID1(5, SECURITY_RESTRICTED_CODE_RID),
		   anonymous_sid = SID1(5, SECURITY_ANONYMOUS_LOGON_RID),
		   local_service_sid = SID1(5, SECURITY_LOCAL_SERVICE_RID),
		   network_service_sid = SID1(5, SECURITY_NETWORK_SERVICE_RID);

#define PRIV(n)                                                                                    \
	{                                                                                          \
		(n), 0                                                                             \
	}

static SE_EXPORTS se_exports = {
    .SeCreateTokenPrivilege = PRIV(2),
    .SeAssignPrimaryTokenPrivilege = PRIV(3),
    .SeLockMemoryPrivilege = PRIV(4),
    .SeIncreaseQuotaPrivilege = PRIV(5),
    .SeUnsolicitedInputPrivilege = PRIV(6),
    .SeTcbPrivilege = PRIV(7),
    .SeSecurityPrivilege = PRIV(8),
    .SeTakeOwnershipPrivilege = PRIV(9),
    .SeLoadDriverPrivilege = PRIV(10),
    .SeSystemProfilePrivilege = PRIV(11),
    .SeSystemtimePrivilege = PRIV(12),
    .SeProfileSingleProcessPrivilege = PRIV(13),
    .SeIncreaseBasePriorityPrivilege = PRIV(14),
    .SeCreatePagefilePrivilege = PRIV(15),
    .SeCreatePermanentPrivilege = PRIV(16),
    .SeBackupPrivilege = PRIV(17),
    .SeRestorePrivilege = PRIV(18),
    .SeShutdownPrivilege = PRIV(19),
    .SeDebugPrivilege = PRIV(20),
    .SeAuditPrivilege = PRIV(21),
    .SeSystemEnvironmentPrivilege = PRIV(22),
    .SeChangeNotifyPrivilege = PRIV(23),
    .SeRemoteShutdownPrivilege = PRIV(24),
    .SeUndockPrivilege = PRIV(25),
    .SeSyncAgentPrivilege = PRIV(26),
    .SeEnableDelegationPrivilege = PRIV(27),
    .SeNullSid = &null_sid,
    .SeWorldSid = &world_sid,
    .SeLocalSid = &local_sid,
    .SeCreatorOwnerSid = &creator_owner_sid,
    .SeCreatorGroupSid = &creator_group_sid,
    .SeNtAuthoritySid = &nt_authority_sid,
    .SeDialupSid = &dialup_sid,
    .SeNetworkSid = &network_sid,
    .SeBatchSid = &batch_sid,
    .SeInteractiveSid = &interactive_sid,
    .SeLocalSystemSid = &system_sid,
    .SeAliasAdminsSid = &admins_sid,
    .SeAliasUsersSid = &users_sid,
    .SeAliasGuestsSid = &guests_sid,
    .SeAliasPowerUsersSid = &power_users_sid,
    .SeAliasAccountOpsSid = &account_ops_sid,
    .SeAliasSystemOpsSid = &system_ops_sid,
    .SeAliasPrintOpsSid = &print_ops_sid,
    .SeAliasBackupOpsSid = &backup_ops_sid,
    .SeAuthenticatedUsersSid = &auth_users_sid,
    .SeRestrictedSid = &restricted_sid,
    .SeAnonymousLogonSid = &anonymous_sid,
    .SeLocalServiceSid = &local_service_sid,
    .SeNetworkServiceSid = &network_service_sid,
};

PSE_EXPORTS SeExports = &se_exports;

/* ---- Access checks for Linux peers ----------------------------------------------------------- */

/* S-1-22-<kind>-<id>: the Unix user (kind 1) and group (kind 2) SIDs. */
static bool is_unix_sid(const SID *sid, ULONG kind, ULONG id)
{
	static const SID_IDENTIFIER_AUTHORITY unix_auth = {{0, 0, 0, 0, 0, 22}};

	return sid->SubAuthorityCount == 2 &&
	       memcmp(&sid->IdentifierAuthority, &unix_auth, sizeof(unix_auth)) == 0 &&
	       sid->SubAuthority[0] == kind && sid->SubAuthority[1] == id;
}

bool fm_sec_holds_sid(const struct fm_sec_subject *who, const SID *sid)
{
	if (RtlEqualSid((PSID)sid, &world_sid) || RtlEqualSid((PSID)sid, &auth_users_sid) ||
	    RtlEqualSid((PSID)sid, &users_sid))
		return true;
	if (who->system &&
	    (RtlEqualSid((PSID)sid, &system_sid) || RtlEqualSid((PSID)sid, &admins_sid)))
		return true;
	if (is_unix_sid(sid, 1, (ULONG)who->uid) || is_unix_sid(sid, 2, (ULONG)who->gid))
		return true;
	for (size_t i = 0; i < who->ngroups; i++)
		if (is_unix_sid(sid, 2, (ULONG)who->groups[i]))
			return true;
	return false;
}

bool fm_sec_access_check(const ACL *dacl, const struct fm_sec_subject *who, ACCESS_MASK desired,
			 ACCESS_MASK all_access)
{
	ACCESS_MASK granted = 0;
	ULONG at = sizeof(ACL);

	if (!dacl)
		return true;
	for (USHORT i = 0; i < dacl->AceCount && (granted & desired) != desired; i++) {
		const ACE_HEADER *h = (const ACE_HEADER *)((const UCHAR *)dacl + at);
		const ACCESS_ALLOWED_ACE *a = (const ACCESS_ALLOWED_ACE *)h;
		ACCESS_MASK mask;

		at += h->AceSize;
		if (h->AceFlags & INHERIT_ONLY_ACE)
			continue;
		if (h->AceType != ACCESS_ALLOWED_ACE_TYPE && h->AceType != ACCESS_DENIED_ACE_TYPE)
			continue;
		if (!fm_sec_holds_sid(who, (const SID *)&a->SidStart))
			continue;
		mask = a->Mask;
		if (mask & GENERIC_ALL)
			mask |= all_access;
		if (h->AceType == ACCESS_DENIED_ACE_TYPE) {
			if (mask & desired & ~granted)
				return false;
		} else {
			granted |= mask & desired;
		}
	}
	return (granted & desired) == desired;
}
