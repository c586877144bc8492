/* FsRtl name helpers filters use: wildcard matching with the Windows DOS wildcard rules. */
#include "core/core_i.h"

/* The DOS wildcards a Windows file system sees in FileName patterns. */
#define DOS_STAR_W u'<'
#define DOS_QM_W u'>'
#define DOS_DOT_W u'"'

struct wc_match {
	const WCHAR *e, *n;
	size_t elen, nlen, last_dot; /* last_dot: index of the name's final '.', or nlen */
	bool icase;
	unsigned long budget; /* bounds backtracking on pathological patterns */
};

static WCHAR fold(const struct wc_match *m, WCHAR c)
{
	return m->icase ? RtlUpcaseUnicodeChar(c) : c;
}

static bool wc(struct wc_match *m, size_t ei, size_t ni)
{
	for (;;) {
		WCHAR c;

		if (m->budget-- == 0)
			return false;
		if (ei == m->elen)
			return ni == m->nlen;
		c = m->e[ei];
		switch (c) {
		case u'*':
			/* Collapse runs of '*': they match the same as one. */
			while (ei + 1 < m->elen && m->e[ei + 1] == u'*')
				ei++;
			if (ei + 1 == m->elen)
				return true;
			for (size_t k = ni; k <= m->nlen; k++)
				if (wc(m, ei + 1, k))
					return true;
			return false;
		case DOS_STAR_W:
			/* Any run of characters that stops short of the name's final period. */
			for (size_t k = ni; k <= (m->last_dot < ni ? ni : m->last_dot); k++)
				if (wc(m, ei + 1, k))
					return true;
			return false;
		case u'?':
			if (ni == m->nlen)
				return false;
			ei++;
			ni++;
			continue;
		case DOS_QM_W:
			/* One character, or nothing at a period or the end of the name. */
			if (ni == m->nlen || m->n[ni] == u'.') {
				ei++;
				continue;
			}
			ei++;
			ni++;
			continue;
		case DOS_DOT_W:
			/* A period, or nothing at the end of the name. */
			if (ni < m->nlen && m->n[ni] == u'.') {
				ei++;
				ni++;
				continue;
			}
			if (ni == m->nlen) {
				ei++;
				continue;
			}
			return false;
		default:
			if (ni == m->nlen || fold(m, m->n[ni]) != c)
				return false;
			ei++;
			ni++;
			continue;
		}
	}
}

BOOLEAN NTAPI FsRtlIsNameInExpression(PUNICODE_STRING Expression, PUNICODE_STRING Name,
				      BOOLEAN IgnoreCase, PWCH UpcaseTable)
{
	struct wc_match m;

	(void)UpcaseTable;
	if (!Expression || !Name)
		return FALSE;
	m.e = Expression->Buffer;
	m.elen = Expression->Length / sizeof(WCHAR);
	m.n = Name->Buffer;
	m.nlen = Name->Length / sizeof(WCHAR);
	m.icase = IgnoreCase != FALSE;
	m.budget = 1000000;
	m.last_dot = m.nlen;
	for (size_t i = m.nlen; i > 0; i--) {
		if (m.n[i - 1] == u'.') {
			m.last_dot = i - 1;
			break;
		}
	}
	return wc(&m, 0, 0) ? TRUE : FALSE;
}

BOOLEAN NTAPI FsRtlDoesNameContainWildCards(PUNICODE_STRING Name)
{
	if (!Name)
		return FALSE;
	for (size_t i = 0; i < Name->Length / sizeof(WCHAR); i++) {
		WCHAR c = Name->Buffer[i];
		if (c == u'*' || c == u'?' || c == DOS_STAR_W || c == DOS_QM_W || c == DOS_DOT_W)
			return TRUE;
	}
	return FALSE;
}
