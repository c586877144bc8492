/* Rtl string routines, ntstrsafe truncation, conversions, numbers and time fields. */
#include <ntifs.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>

#include "tap.h"
#include "nt/pool.h"

static void t_init_and_compare(void)
{
	UNICODE_STRING a, b, c;

	RtlInitUnicodeString(&a, u"\\Device\\HarddiskVolume1\\Dir");
	TAP_EQ_INT(a.Length, 27 * 2);
	TAP_EQ_INT(a.MaximumLength, 28 * 2);
	RtlInitUnicodeString(&b, u"\\DEVICE\\harddiskvolume1\\dir");
	TAP_CHECK(!RtlEqualUnicodeString(&a, &b, FALSE));
	TAP_CHECK(RtlEqualUnicodeString(&a, &b, TRUE));
	TAP_CHECK(RtlCompareUnicodeString(&a, &b, TRUE) == 0);
	TAP_CHECK(RtlCompareUnicodeString(&a, &b, FALSE) > 0);
	RtlInitUnicodeString(&c, u"\\device\\HARDDISKVOLUME1");
	TAP_CHECK(RtlPrefixUnicodeString(&c, &a, TRUE));
	TAP_CHECK(!RtlPrefixUnicodeString(&c, &a, FALSE));
	TAP_CHECK(!RtlPrefixUnicodeString(&a, &c, TRUE));
	RtlInitUnicodeString(&c, u"\\DIR");
	TAP_CHECK(RtlSuffixUnicodeString(&c, &a, TRUE));
	RtlInitUnicodeString(&c, NULL);
	TAP_EQ_INT(c.Length, 0);
	TAP_EQ_INT(c.MaximumLength, 0);
	TAP_EQ_INT(RtlUpcaseUnicodeChar(u'a'), u'A');
	TAP_EQ_INT(RtlUpcaseUnicodeChar(0xe9), 0xc9);
}

static void t_copy_append(void)
{
	WCHAR buf[8];
	UNICODE_STRING d, s;

	RtlInitEmptyUnicodeString(&d, buf, sizeof(buf));
	RtlInitUnicodeString(&s, u"abcdefghij");
	RtlCopyUnicodeString(&d, &s);
	TAP_EQ_INT(d.Length, 16);
	TAP_CHECK(memcmp(buf, u"abcdefgh", 16) == 0);
	RtlInitEmptyUnicodeString(&d, buf, sizeof(buf));
	TAP_EQ_INT(RtlAppendUnicodeToString(&d, u"abc"), STATUS_SUCCESS);
	TAP_EQ_INT(RtlAppendUnicodeToString(&d, u"defg"), STATUS_SUCCESS);
	TAP_EQ_INT(d.Length, 14);
	TAP_EQ_INT(buf[7], 0);
	TAP_EQ_INT(RtlAppendUnicodeToString(&d, u"hi"), STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(d.Length, 14);
	RtlInitUnicodeString(&s, u"h");
	TAP_EQ_INT(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
	TAP_EQ_INT(d.Length, 16);
}

static void t_convert(void)
{
	UNICODE_STRING u, u2;
	ANSI_STRING a;
	char small[4];

	RtlInitUnicodeString(&u, u"h\u00e9llo \U0001F600");
	TAP_EQ_INT(RtlUnicodeStringToAnsiString(&a, &u, TRUE), STATUS_SUCCESS);
	TAP_EQ_STR(a.Buffer, "h\xc3\xa9llo \xf0\x9f\x98\x80");
	TAP_EQ_INT(a.Length, 11);
	TAP_EQ_INT(RtlAnsiStringToUnicodeString(&u2, &a, TRUE), STATUS_SUCCESS);
	TAP_CHECK(RtlEqualUnicodeString(&u, &u2, FALSE));
	RtlFreeUnicodeString(&u2);
	RtlFreeAnsiString(&a);
	a.Buffer = small;
	a.Length = 0;
	a.MaximumLength = sizeof(small);
	TAP_EQ_INT(RtlUnicodeStringToAnsiString(&a, &u, FALSE), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_STR(small, "h\xc3\xa9");
	TAP_EQ_INT(fm_pool_live_count(), 0);
}

static void t_numbers(void)
{
	UNICODE_STRING s;
	WCHAR buf[16];
	ULONG v = 0;

	RtlInitUnicodeString(&s, u"  1234xyz");
	TAP_EQ_INT(RtlUnicodeStringToInteger(&s, 0, &v), STATUS_SUCCESS);
	TAP_EQ_INT(v, 1234);
	RtlInitUnicodeString(&s, u"0x1F");
	TAP_EQ_INT(RtlUnicodeStringToInteger(&s, 0, &v), STATUS_SUCCESS);
	TAP_EQ_INT(v, 31);
	RtlInitUnicodeString(&s, u"-5");
	RtlUnicodeStringToInteger(&s, 10, &v);
	TAP_EQ_INT((LONG)v, -5);
	TAP_EQ_INT(RtlCharToInteger("777", 8, &v), STATUS_SUCCESS);
	TAP_EQ_INT(v, 511);
	RtlInitEmptyUnicodeString(&s, buf, sizeof(buf));
	TAP_EQ_INT(RtlIntegerToUnicodeString(255, 16, &s), STATUS_SUCCESS);
	TAP_CHECK(s.Length == 4 && buf[0] == 'F' && buf[1] == 'F');
	RtlInitEmptyUnicodeString(&s, buf, 4);
	TAP_EQ_INT(RtlIntegerToUnicodeString(12345, 10, &s), STATUS_BUFFER_OVERFLOW);
	ULONG r;
	TAP_EQ_INT(RtlULongAdd(0xffffffffu, 1, &r), STATUS_INTEGER_OVERFLOW);
	TAP_EQ_INT(r, ULONG_ERROR);
	TAP_EQ_INT(RtlULongMult(0x10000, 0x10, &r), STATUS_SUCCESS);
	TAP_EQ_INT(r, 0x100000);
	USHORT us;
	TAP_EQ_INT(RtlULongToUShort(70000, &us), STATUS_INTEGER_OVERFLOW);
	SIZE_T sz;
	TAP_EQ_INT(RtlSizeTAdd(1, 2, &sz), STATUS_SUCCESS);
	TAP_EQ_INT(sz, 3);
}

static void t_time_fields(void)
{
	TIME_FIELDS tf;
	LARGE_INTEGER t, t2;

	/* 2000-02-29 12:34:56.789, a Tuesday. */
	tf.Year = 2000;
	tf.Month = 2;
	tf.Day = 29;
	tf.Hour = 12;
	tf.Minute = 34;
	tf.Second = 56;
	tf.Milliseconds = 789;
	tf.Weekday = 0;
	TAP_CHECK(RtlTimeFieldsToTime(&tf, &t));
	RtlTimeToTimeFields(&t, &tf);
	TAP_EQ_INT(tf.Year, 2000);
	TAP_EQ_INT(tf.Month, 2);
	TAP_EQ_INT(tf.Day, 29);
	TAP_EQ_INT(tf.Hour, 12);
	TAP_EQ_INT(tf.Milliseconds, 789);
	TAP_EQ_INT(tf.Weekday, 2);
	/* The Unix epoch in NT time. */
	RtlSecondsSince1970ToTime(0, &t2);
	TAP_EQ_INT(t2.QuadPart, 116444736000000000LL);
	tf.Year = 2001;
	TAP_CHECK(!RtlTimeFieldsToTime(&tf, &t));
	KeQuerySystemTime(&t);
	TAP_CHECK(t.QuadPart > 130000000000000000LL);
}

static void t_strsafe(void)
{
	WCHAR w[6];
	char a[6];
	size_t n;
	UNICODE_STRING us;
	WCHAR ub[4];

	TAP_EQ_INT(RtlStringCchCopyW(w, 6, u"hello"), STATUS_SUCCESS);
	TAP_EQ_INT(RtlStringCchCopyW(w, 6, u"hello!"), STATUS_BUFFER_OVERFLOW);
	TAP_CHECK(memcmp(w, u"hello", 12) == 0);
	TAP_EQ_INT(RtlStringCchCopyW(w, 0, u"x"), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(RtlStringCbCopyA(a, sizeof(a), "abc"), STATUS_SUCCESS);
	TAP_EQ_INT(RtlStringCbCatA(a, sizeof(a), "def"), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_STR(a, "abcde");
	TAP_EQ_INT(RtlStringCchLengthA(a, sizeof(a), &n), STATUS_SUCCESS);
	TAP_EQ_INT(n, 5);
	TAP_EQ_INT(RtlStringCchLengthA(a, 5, &n), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(RtlStringCbLengthW(u"abc", 100, &n), STATUS_SUCCESS);
	TAP_EQ_INT(n, 6);
	TAP_EQ_INT(RtlStringCchPrintfA(a, sizeof(a), "%d-%s", 12, "x"), STATUS_SUCCESS);
	TAP_EQ_STR(a, "12-x");
	TAP_EQ_INT(RtlStringCchPrintfA(a, sizeof(a), "%d", 1234567), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_STR(a, "12345");
	TAP_EQ_INT(RtlStringCchPrintfW(w, 6, u"%ws%d", u"ab", 7), STATUS_SUCCESS);
	TAP_CHECK(memcmp(w, u"ab7", 8) == 0);
	RtlInitEmptyUnicodeString(&us, ub, sizeof(ub));
	TAP_EQ_INT(RtlUnicodeStringCopyString(&us, u"ab"), STATUS_SUCCESS);
	TAP_EQ_INT(us.Length, 4);
	TAP_EQ_INT(RtlUnicodeStringCatString(&us, u"cde"), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(us.Length, 8);
	TAP_CHECK(memcmp(ub, u"abcd", 8) == 0);
	TAP_EQ_INT(RtlUnicodeStringPrintf(&us, u"%d", 42), STATUS_SUCCESS);
	TAP_EQ_INT(us.Length, 4);
	TAP_EQ_INT(RtlUnicodeStringPrintf(&us, u"%d", 123456), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(us.Length, 8);
	TAP_CHECK(memcmp(ub, u"1234", 8) == 0);
}

static void t_pool(void)
{
	size_t before = fm_pool_live_count();
	void *p = ExAllocatePoolWithTag(NonPagedPool, 100, 'tseT');
	unsigned char *z = ExAllocatePool2(POOL_FLAG_PAGED, 64, 'tseT');
	int zero = 1;

	TAP_CHECK(p != NULL && z != NULL);
	TAP_CHECK(((uintptr_t)p & 15) == 0);
	for (int i = 0; i < 64; i++)
		zero &= z[i] == 0;
	TAP_CHECK(zero);
	TAP_EQ_INT(fm_pool_live_count(), before + 2);
	TAP_CHECK(ExAllocatePool2(POOL_FLAG_PAGED | POOL_FLAG_NON_PAGED, 8, 'tseT') == NULL);
	TAP_CHECK(ExAllocatePool2(POOL_FLAG_PAGED, 8, 0) == NULL);
	ExFreePoolWithTag(p, 'tseT');
	ExFreePool(z);
	TAP_EQ_INT(fm_pool_live_count(), before);
	char tag[5];
	fm_pool_tag_str('ypsM', tag);
	TAP_EQ_STR(tag, "Mspy");
}

int main(void)
{
	TAP_RUN(t_init_and_compare);
	TAP_RUN(t_copy_append);
	TAP_RUN(t_convert);
	TAP_RUN(t_numbers);
	TAP_RUN(t_time_fields);
	TAP_RUN(t_strsafe);
	TAP_RUN(t_pool);
	return tap_done();
}
