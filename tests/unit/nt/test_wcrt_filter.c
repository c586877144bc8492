/* A minifilter's view of the wide runtime: -fshort-wchar, L"" literals, the CRT's own names. */
#include "tap.h"

#include <ntdef.h>
#include <fm_wcrt.h>

_Static_assert(sizeof(wchar_t) == 2, "built with -fshort-wchar, as minifilters are");

static void t_names_resolve_to_16bit(void)
{
	WCHAR buf[64];
	const WCHAR *path = L"\\Device\\HarddiskVolume3\\dir\\File.TXT";

	TAP_EQ_INT(wcslen(L"scanner"), 7);
	TAP_EQ_INT(wcslen(path), 36);
	TAP_CHECK(wcsrchr(path, L'\\') == path + 27);
	TAP_CHECK(wcsstr(path, L"Volume3") == path + 16);
	TAP_EQ_INT(_wcsicmp(wcsrchr(path, L'\\') + 1, L"file.txt"), 0);
	TAP_EQ_INT(_wcsnicmp(path, L"\\DEVICE\\", 8), 0);
	wcscpy(buf, L"a");
	wcscat(buf, L"bc");
	TAP_EQ_INT(wcscmp(buf, L"abc"), 0);
	TAP_EQ_INT(towupper(L'q'), L'Q');
	TAP_EQ_INT(wcstoul(L"385250", NULL, 10), 385250);
	TAP_EQ_INT(_wtoi(L"-12"), -12);
}

static void t_ms_printf_from_a_filter(void)
{
	WCHAR buf[64];
	char nbuf[64];
	UNICODE_STRING name = {8, 8, L"abcd"};

	/* minispy's shape: _snwprintf with %wZ and %ws, -1 on truncation. */
	TAP_EQ_INT(_snwprintf(buf, 64, L"%wZ:%ws:%S:%I64x", &name, L"w", "n", 0x10ull), 11);
	TAP_EQ_INT(wcscmp(buf, L"abcd:w:n:10"), 0);
	TAP_EQ_INT(_snwprintf(buf, 4, L"%s", L"toolong"), -1);
	TAP_EQ_INT(swprintf_s(buf, 64, L"%d-%s", 7, L"x"), 3);
	TAP_EQ_INT(wcscmp(buf, L"7-x"), 0);
	TAP_EQ_INT(_snprintf(nbuf, sizeof(nbuf), "%ws=%lu", L"k", 5u), 3);
	TAP_EQ_STR(nbuf, "k=5");
	TAP_EQ_INT(sprintf_s(nbuf, sizeof(nbuf), "%S", L"wide"), 4);
	TAP_EQ_STR(nbuf, "wide");
}

int main(void)
{
	TAP_RUN(t_names_resolve_to_16bit);
	TAP_RUN(t_ms_printf_from_a_filter);
	return tap_done();
}
