/* fltlib_tool: calls libfltlib's management routines from the command line (for e2e tests). */
#include <windows.h>
#include <fltUser.h>

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

int main(int argc, char **argv)
{
	WCHAR a[256], b[256], c[256], d[256], created[64];
	HRESULT hr;

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
	} else {
		fprintf(stderr, "fltlib_tool: unknown command %s\n", argv[1]);
		return 2;
	}
	printf("0x%08X\n", (unsigned int)hr);
	return SUCCEEDED(hr) ? 0 : 1;
}
