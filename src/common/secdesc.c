/* POSIX owner, group and mode <-> Windows security descriptors: see secdesc.h. */
#include "common/secdesc.h"

#include <ntifs.h>

#include <stddef.h>
#include <string.h>

/* The on-disk (self-relative) forms, as the WDK lays them out. */
struct sd_rel {
	UCHAR Revision;
	UCHAR Sbz1;
	USHORT Control;
	ULONG Owner, Group, Sacl, Dacl; /* offsets from the start, 0 = none */
};

struct ace_hdr {
	UCHAR AceType;
	UCHAR AceFlags;
	USHORT AceSize;
};

enum {
	SE_OWNER_DEFAULTED_ = 0x0001,
	SE_DACL_PRESENT_ = 0x0004,
	SE_SACL_PRESENT_ = 0x0010,
	SE_DACL_PROTECTED_ = 0x1000,
	SE_SELF_RELATIVE_ = 0x8000,
	ACL_REVISION_ = 2,
	ACCESS_ALLOWED_ACE_TYPE_ = 0,
	ACCESS_DENIED_ACE_TYPE_ = 1,
	INHERIT_ONLY_ACE_ = 0x08,
};

#define F_READ_DATA 0x0001u
#define F_WRITE_DATA 0x0002u
#define F_EXECUTE 0x0020u
#define F_READ_ATTRIBUTES 0x0080u
#define F_WRITE_ATTRIBUTES 0x0100u
#define F_GENERIC_READ 0x00120089u
#define F_GENERIC_WRITE 0x00120116u
#define F_GENERIC_EXECUTE 0x001200A0u
#define F_READ_CONTROL 0x00020000u
#define F_WRITE_DAC 0x00040000u
#define F_WRITE_OWNER 0x00080000u
#define F_SYNCHRONIZE 0x00100000u
#define F_GENERIC_ALL_BITS 0x10000000u

/* A SID with at most two sub-authorities is all we make: 8 + 4 * n bytes. */
static ULONG sid_put(UCHAR *p, UCHAR auth, ULONG n, const ULONG *sub)
{
	if (p) {
		p[0] = 1; /* SID_REVISION */
		p[1] = (UCHAR)n;
		memset(p + 2, 0, 6);
		p[7] = auth;
		memcpy(p + 8, sub, n * sizeof(ULONG));
	}
	return 8 + 4 * n;
}

static ULONG unix_sid(UCHAR *p, ULONG kind, uint32_t id)
{
	ULONG sub[2] = {kind, id};

	return sid_put(p, 22, 2, sub);
}

static ULONG everyone_sid(UCHAR *p)
{
	ULONG sub[1] = {0};

	return sid_put(p, 1, 1, sub);
}

static ULONG rwx_mask(uint32_t bits)
{
	ULONG m = 0;

	if (bits & 4)
		m |= F_GENERIC_READ;
	if (bits & 2)
		m |= F_GENERIC_WRITE;
	if (bits & 1)
		m |= F_GENERIC_EXECUTE;
	return m;
}

static ULONG ace_put(UCHAR *p, ULONG mask, ULONG sid_len, const UCHAR *sid)
{
	ULONG size = 8 + sid_len;

	if (p) {
		struct ace_hdr h = {ACCESS_ALLOWED_ACE_TYPE_, 0, (USHORT)size};
		memcpy(p, &h, sizeof(h));
		memcpy(p + 4, &mask, sizeof(mask));
		memcpy(p + 8, sid, sid_len);
	}
	return size;
}

ULONG fm_sd_build(uint32_t uid, uint32_t gid, uint32_t mode, ULONG si, void *buf, ULONG cap)
{
	UCHAR osid[16], gsid[16], esid[12], acl[8 + 3 * 24];
	ULONG olen = unix_sid(osid, 1, uid), glen = unix_sid(gsid, 2, gid);
	ULONG elen = everyone_sid(esid), alen = 8, need = sizeof(struct sd_rel);
	struct sd_rel h = {SECURITY_DESCRIPTOR_REVISION, 0, SE_SELF_RELATIVE_, 0, 0, 0, 0};
	UCHAR *out = buf;

	if (si & DACL_SECURITY_INFORMATION) {
		ULONG owner = rwx_mask(mode >> 6) | F_READ_CONTROL | F_WRITE_DAC | F_WRITE_OWNER |
			      F_READ_ATTRIBUTES | F_WRITE_ATTRIBUTES | F_SYNCHRONIZE;
		ULONG always = F_READ_CONTROL | F_READ_ATTRIBUTES | F_SYNCHRONIZE;
		USHORT count = 3, size;

		alen += ace_put(acl + alen, owner, olen, osid);
		alen += ace_put(acl + alen, rwx_mask(mode >> 3) | always, glen, gsid);
		alen += ace_put(acl + alen, rwx_mask(mode) | always, elen, esid);
		size = (USHORT)alen;
		acl[0] = ACL_REVISION_;
		acl[1] = 0;
		memcpy(acl + 2, &size, 2);
		memcpy(acl + 4, &count, 2);
		memset(acl + 6, 0, 2);
	}
	if (si & OWNER_SECURITY_INFORMATION) {
		h.Owner = need;
		need += olen;
	}
	if (si & GROUP_SECURITY_INFORMATION) {
		h.Group = need;
		need += glen;
	}
	if (si & DACL_SECURITY_INFORMATION) {
		/* Mode bits are not inherited from the parent: the DACL is protected. */
		h.Control |= SE_DACL_PRESENT_ | SE_DACL_PROTECTED_;
		h.Dacl = need;
		need += alen;
	}
	if (!out || cap < need)
		return need;
	memcpy(out, &h, sizeof(h));
	if (h.Owner)
		memcpy(out + h.Owner, osid, olen);
	if (h.Group)
		memcpy(out + h.Group, gsid, glen);
	if (h.Dacl)
		memcpy(out + h.Dacl, acl, alen);
	return need;
}

/* ---- Parsing ---- */

struct view {
	const UCHAR *base;
	ULONG len; /* 0: unknown (an absolute descriptor's parts are wherever they point) */
};

/* A SID at p: its length, or 0 if malformed / outside the descriptor. */
static ULONG sid_len(const struct view *v, const UCHAR *p)
{
	ULONG n;

	if (!p)
		return 0;
	if (v->len && (p < v->base || p + 8 > v->base + v->len))
		return 0;
	if (p[0] != 1 || p[1] > 15)
		return 0;
	n = 8 + 4u * p[1];
	if (v->len && p + n > v->base + v->len)
		return 0;
	return n;
}

/* Is the SID S-1-22-<kind>-<id>?  Then *id. */
static bool sid_unix(const UCHAR *p, ULONG n, ULONG kind, uint32_t *id)
{
	static const UCHAR auth[6] = {0, 0, 0, 0, 0, 22};
	ULONG k;

	if (n != 16 || p[1] != 2 || memcmp(p + 2, auth, 6))
		return false;
	memcpy(&k, p + 8, 4);
	if (k != kind)
		return false;
	memcpy(id, p + 12, 4);
	return true;
}

static bool sid_everyone(const UCHAR *p, ULONG n)
{
	static const UCHAR want[12] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};

	return n == 12 && !memcmp(p, want, 12);
}

static uint32_t mask_rwx(ULONG m)
{
	uint32_t b = 0;

	if (m & F_GENERIC_ALL_BITS)
		return 7;
	if (m & F_READ_DATA)
		b |= 4;
	if (m & F_WRITE_DATA)
		b |= 2;
	if (m & F_EXECUTE)
		b |= 1;
	return b;
}

static NTSTATUS parse_dacl(const struct view *v, const UCHAR *acl, uint32_t uid, uint32_t gid,
			   uint32_t *mode)
{
	uint32_t u = 0, g = 0, o = 0, id;
	USHORT size, count;
	ULONG off = 8;

	if (!acl) { /* a NULL DACL: everyone may do everything */
		*mode = 0777;
		return STATUS_SUCCESS;
	}
	if (v->len && (acl < v->base || acl + 8 > v->base + v->len))
		return STATUS_INVALID_SECURITY_DESCR;
	memcpy(&size, acl + 2, 2);
	memcpy(&count, acl + 4, 2);
	if ((acl[0] != 2 && acl[0] != 4) || size < 8 || (v->len && acl + size > v->base + v->len))
		return STATUS_INVALID_SECURITY_DESCR;
	for (USHORT i = 0; i < count; i++) {
		struct ace_hdr h;
		struct view av = {acl, size};
		ULONG mask, n;
		const UCHAR *sid;

		if (off + 8 > size)
			return STATUS_INVALID_SECURITY_DESCR;
		memcpy(&h, acl + off, sizeof(h));
		if (h.AceSize < 8 || off + h.AceSize > size)
			return STATUS_INVALID_SECURITY_DESCR;
		if (h.AceFlags & INHERIT_ONLY_ACE_) { /* for children only: nothing to map */
			off += h.AceSize;
			continue;
		}
		if (h.AceType != ACCESS_ALLOWED_ACE_TYPE_)
			return STATUS_NOT_SUPPORTED;
		memcpy(&mask, acl + off + 4, 4);
		sid = acl + off + 8;
		n = sid_len(&av, sid);
		if (!n || 8 + n > h.AceSize)
			return STATUS_INVALID_SECURITY_DESCR;
		if (sid_unix(sid, n, 1, &id) && id == uid)
			u |= mask_rwx(mask);
		else if (sid_unix(sid, n, 2, &id) && id == gid)
			g |= mask_rwx(mask);
		else if (sid_everyone(sid, n))
			o |= mask_rwx(mask);
		else
			return STATUS_NOT_SUPPORTED;
		off += h.AceSize;
	}
	/* Everyone includes the owner and the group. */
	*mode = ((u | o) << 6) | ((g | o) << 3) | o;
	return STATUS_SUCCESS;
}

NTSTATUS fm_sd_parse(const void *sd, ULONG len, ULONG si, uint32_t owner_uid, uint32_t group_gid,
		     struct fm_sd_posix *out)
{
	const UCHAR *b = sd;
	struct view v = {b, 0};
	const UCHAR *owner = NULL, *group = NULL, *dacl = NULL;
	USHORT control;
	ULONG n;

	memset(out, 0, sizeof(*out));
	if (!sd || (len && len < 20) || b[0] != SECURITY_DESCRIPTOR_REVISION)
		return STATUS_INVALID_SECURITY_DESCR;
	memcpy(&control, b + 2, 2);
	if (control & SE_SELF_RELATIVE_) {
		struct sd_rel r;

		memcpy(&r, b, sizeof(r));
		v.len = len;
		owner = r.Owner ? b + r.Owner : NULL;
		group = r.Group ? b + r.Group : NULL;
		dacl = r.Dacl ? b + r.Dacl : NULL;
	} else {
		const SECURITY_DESCRIPTOR *a = sd;

		owner = a->Owner;
		group = a->Group;
		dacl = (const UCHAR *)a->Dacl;
	}
	if (si & (SACL_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION))
		return STATUS_NOT_SUPPORTED;
	if (si & OWNER_SECURITY_INFORMATION) {
		n = sid_len(&v, owner);
		if (!n)
			return STATUS_INVALID_OWNER;
		if (!sid_unix(owner, n, 1, &out->uid))
			return STATUS_INVALID_OWNER;
		out->has_uid = true;
		owner_uid = out->uid;
	}
	if (si & GROUP_SECURITY_INFORMATION) {
		n = sid_len(&v, group);
		if (!n)
			return STATUS_INVALID_PRIMARY_GROUP;
		if (!sid_unix(group, n, 2, &out->gid))
			return STATUS_INVALID_PRIMARY_GROUP;
		out->has_gid = true;
		group_gid = out->gid;
	}
	if ((si & DACL_SECURITY_INFORMATION) && (control & SE_DACL_PRESENT_)) {
		NTSTATUS st = parse_dacl(&v, dacl, owner_uid, group_gid, &out->mode);

		if (st != STATUS_SUCCESS)
			return st;
		out->has_mode = true;
	}
	return STATUS_SUCCESS;
}
