/* fltlib_tool: calls libfltlib's management and enumeration routines from the command line (for e2e tests). */
#include <windows.h>
#include <fltUser.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ASCII argument -> UTF-16 (test names are ASCII); NULL for "-" or a missing argument. */
static LPCWSTR wide(int argc, char **argv, int i, WCHAR *buf, size_t cap)
{
	size_t n;

	if (i >= argc || strcmp(argv[i], "-") == 0)
		return NULL;
	for (n = 0; argv[i][n] && n + 1 < cap; n++)
		buf[n] = (WCHAR)(unsigned char)argv[i][n];
	buf[n] = 0;
	return buf;
}

/* Print n bytes of UTF-16 (ASCII expected) at base + offset. */
static void pr(const char *label, const void *base, USHORT offset, USHORT bytes)
{
	const WCHAR *w = (const WCHAR *)((const char *)base + offset);

	printf(" %s=", label);
	for (USHORT i = 0; i < bytes / sizeof(WCHAR); i++)
		putchar(w[i] < 128 ? (int)w[i] : '?');
}

/* filters | volumes | instances FILTER | volinstances VOLUME: one line per entry. */
static HRESULT listing(int argc, char **argv)
{
	WCHAR a[256];
	union {
		ULONGLONG align;
		unsigned char b[4096];
	} u;
	DWORD ret = 0;
	HANDLE h = INVALID_HANDLE_VALUE;
	HRESULT hr;
	int n = 0;
	const char *what = argv[1];

	for (;;) {
		if (strcmp(what, "filters") == 0) {
			PFILTER_AGGREGATE_BASIC_INFORMATION bi = (PVOID)u.b;
			hr = n == 0 ? FilterFindFirst(FilterAggregateBasicInformation, u.b,
						      sizeof(u.b), &ret, &h)
				    : FilterFindNext(h, FilterAggregateBasicInformation, u.b,
						     sizeof(u.b), &ret);
			if (FAILED(hr))
				break;
			printf("filter");
			pr("name", bi, bi->Type.MiniFilter.FilterNameBufferOffset,
			   bi->Type.MiniFilter.FilterNameLength);
			pr("altitude", bi, bi->Type.MiniFilter.FilterAltitudeBufferOffset,
			   bi->Type.MiniFilter.FilterAltitudeLength);
			printf(" instances=%lu\n",
			       (unsigned long)bi->Type.MiniFilter.NumberOfInstances);
		} else if (strcmp(what, "volumes") == 0) {
			PFILTER_VOLUME_STANDARD_INFORMATION vs = (PVOID)u.b;
			hr = n == 0 ? FilterVolumeFindFirst(FilterVolumeStandardInformation, u.b,
							    sizeof(u.b), &ret, &h)
				    : FilterVolumeFindNext(h, FilterVolumeStandardInformation, u.b,
							   sizeof(u.b), &ret);
			if (FAILED(hr))
				break;
			printf("volume");
			pr("name", vs,
			   FIELD_OFFSET(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName),
			   vs->FilterVolumeNameLength);
			printf(" fstype=%d\n", (int)vs->FileSystemType);
		} else {
			PINSTANCE_FULL_INFORMATION fi = (PVOID)u.b;
			bool byvol = strcmp(what, "volinstances") == 0;
			if (n == 0 && argc < 3)
				return E_INVALIDARG;
			if (n == 0)
				hr = byvol
					 ? FilterVolumeInstanceFindFirst(
					       wide(argc, argv, 2, a, 256), InstanceFullInformation,
					       u.b, sizeof(u.b), &ret, &h)
					 : FilterInstanceFindFirst(wide(argc, argv, 2, a, 256),
								   InstanceFullInformation, u.b,
								   sizeof(u.b), &ret, &h);
			else
				hr = byvol ? FilterVolumeInstanceFindNext(
						 h, InstanceFullInformation, u.b, sizeof(u.b), &ret)
					   : FilterInstanceFindNext(h, InstanceFullInformation, u.b,
								    sizeof(u.b), &ret);
			if (FAILED(hr))
				break;
			printf("instance");
			pr("name", fi, fi->InstanceNameBufferOffset, fi->InstanceNameLength);
			pr("altitude", fi, fi->AltitudeBufferOffset, fi->AltitudeLength);
			pr("volume", fi, fi->VolumeNameBufferOffset, fi->VolumeNameLength);
			pr("filter", fi, fi->FilterNameBufferOffset, fi->FilterNameLength);
			printf("\n");
		}
		n++;
	}
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	printf("entries=%d\n", n);
	return hr == HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS) ? S_OK : hr;
}

/* info FILTER: FilterCreate + FilterGetInformation(AggregateStandard). */
static HRESULT filter_info(int argc, char **argv)
{
	WCHAR a[256];
	union {
		ULONGLONG align;
		unsigned char b[1024];
	} u;
	PFILTER_AGGREGATE_STANDARD_INFORMATION si = (PVOID)u.b;
	HFILTER f;
	DWORD ret = 0;
	HRESULT hr = FilterCreate(wide(argc, argv, 2, a, 256), &f);

	if (FAILED(hr))
		return hr;
	hr = FilterGetInformation(f, FilterAggregateStandardInformation, u.b, sizeof(u.b), &ret);
	if (SUCCEEDED(hr)) {
		printf("filter");
		pr("name", si, si->Type.MiniFilter.FilterNameBufferOffset,
		   si->Type.MiniFilter.FilterNameLength);
		pr("altitude", si, si->Type.MiniFilter.FilterAltitudeBufferOffset,
		   si->Type.MiniFilter.FilterAltitudeLength);
		printf(" instances=%lu\n", (unsigned long)si->Type.MiniFilter.NumberOfInstances);
	}
	FilterClose(f);
	return hr;
}

/* instinfo FILTER VOLUME [INSTANCE]: FilterInstanceCreate + FilterInstanceGetInformation. */
static HRESULT instance_info(int argc, char **argv)
{
	WCHAR a[256], b[256], c[256];
	union {
		ULONGLONG align;
		unsigned char b[1024];
	} u;
	PINSTANCE_AGGREGATE_STANDARD_INFORMATION ia = (PVOID)u.b;
	HFILTER_INSTANCE i;
	DWORD ret = 0;
	HRESULT hr = FilterInstanceCreate(wide(argc, argv, 2, a, 256), wide(argc, argv, 3, b, 256),
					  wide(argc, argv, 4, c, 256), &i);

	if (FAILED(hr))
		return hr;
	hr = FilterInstanceGetInformation(i, InstanceAggregateStandardInformation, u.b, sizeof(u.b),
					  &ret);
	if (SUCCEEDED(hr)) {
		printf("instance");
		pr("name", ia, ia->Type.MiniFilter.InstanceNameBufferOffset,
		   ia->Type.MiniFilter.InstanceNameLength);
		pr("altitude", ia, ia->Type.MiniFilter.AltitudeBufferOffset,
		   ia->Type.MiniFilter.AltitudeLength);
		pr("volume", ia, ia->Type.MiniFilter.VolumeNameBufferOffset,
		   ia->Type.MiniFilter.VolumeNameLength);
		pr("filter", ia, ia->Type.MiniFilter.FilterNameBufferOffset,
		   ia->Type.MiniFilter.FilterNameLength);
		printf(" fstype=%d\n", (int)ia->Type.MiniFilter.VolumeFileSystemType);
	}
	FilterInstanceClose(i);
	return hr;
}

int main(int argc, char **argv)
{
	WCHAR a[256], b[256], c[256], d[256], created[64];
	HRESULT hr;

	if (argc >= 2 &&
	    (strcmp(argv[1], "filters") == 0 || strcmp(argv[1], "volumes") == 0 ||
	     strcmp(argv[1], "instances") == 0 || strcmp(argv[1], "volinstances") == 0)) {
		hr = listing(argc, argv);
		printf("0x%08X\n", (unsigned int)hr);
		return SUCCEEDED(hr) ? 0 : 1;
	}
	if (argc >= 3 && strcmp(argv[1], "dosname") == 0) {
		WCHAR dos[256];
		hr = FilterGetDosName(wide(argc, argv, 2, a, 256), dos, 256);
		if (SUCCEEDED(hr)) {
			printf("dos=");
			for (int i = 0; dos[i]; i++)
				putchar(dos[i] < 128 ? (int)dos[i] : '?');
			printf("\n");
		}
		printf("0x%08X\n", (unsigned int)hr);
		return SUCCEEDED(hr) ? 0 : 1;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: fltlib_tool load|unload NAME | attach FILTER VOLUME "
				"[INSTANCE|-] [ALTITUDE] | detach FILTER VOLUME [INSTANCE]\n");
		return 2;
	}
	if (strcmp(argv[1], "load") == 0) {
		hr = FilterLoad(wide(argc, argv, 2, a, 256));
	} else if (strcmp(argv[1], "unload") == 0) {
		hr = FilterUnload(wide(argc, argv, 2, a, 256));
	} else if (strcmp(argv[1], "attach") == 0) {
		created[0] = 0;
		if (argc > 5)
			hr = FilterAttachAtAltitude(
			    wide(argc, argv, 2, a, 256), wide(argc, argv, 3, b, 256),
			    wide(argc, argv, 5, d, 256), wide(argc, argv, 4, c, 256),
			    sizeof(created), created);
		else
			hr = FilterAttach(wide(argc, argv, 2, a, 256), wide(argc, argv, 3, b, 256),
					  wide(argc, argv, 4, c, 256), sizeof(created), created);
	} else if (strcmp(argv[1], "detach") == 0) {
		hr = FilterDetach(wide(argc, argv, 2, a, 256), wide(argc, argv, 3, b, 256),
				  wide(argc, argv, 4, c, 256));
	} else if (strcmp(argv[1], "connect") == 0) {
		/* connect NAME: FilterConnectCommunicationPort(L"\\NAME"), then close. */
		HANDLE port = INVALID_HANDLE_VALUE;
		a[0] = '\\';
		wide(argc, argv, 2, a + 1, 255);
		hr = FilterConnectCommunicationPort(a, 0, NULL, 0, NULL, &port);
		if (SUCCEEDED(hr))
			CloseHandle(port);
	} else if (strcmp(argv[1], "info") == 0) {
		hr = filter_info(argc, argv);
	} else if (strcmp(argv[1], "instinfo") == 0) {
		hr = instance_info(argc, argv);
	} else {
		fprintf(stderr, "fltlib_tool: unknown command %s\n", argv[1]);
		return 2;
	}
	printf("0x%08X\n", (unsigned int)hr);
	return SUCCEEDED(hr) ? 0 : 1;
}
