/* xorview: print a backing file of an xorcrypt volume as the volume shows it (transform undone). */
#include "xorview.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	unsigned char buf[65536];
	uint64_t pos = 0;
	size_t n;
	FILE *f;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: xorview BACKING-FILE [KEY]\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		xorview_decode(buf, n, pos, argc == 3 ? argv[2] : XORVIEW_DEFAULT_KEY);
		if (fwrite(buf, 1, n, stdout) != n) {
			perror("xorview: write");
			return 1;
		}
		pos += n;
	}
	if (ferror(f)) {
		perror(argv[1]);
		return 1;
	}
	fclose(f);
	return 0;
}
