/* Replays a fuzz target over files or corpus directories without libFuzzer, as a TAP test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static void run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++n_run, path);
		return;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A violated property aborts, which fails the whole test. */
	LLVMFuzzerTestOneInput(buf, len);
	printf("ok %d - %s\n", ++n_run, path);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			run_file(argv[i]);
			continue;
		}
		struct dirent **list;
		int n = scandir(argv[i], &list, NULL, alphasort);
		for (int k = 0; k < n; k++) {
			char path[4096];

			if (list[k]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
				run_file(path);
			}
			free(list[k]);
		}
		if (n >= 0)
			free(list);
	}
	if (n_run == 0)
		printf("not ok %d - no input given\n", ++n_run);
	printf("1..%d\n", n_run);
	return 0;
}
