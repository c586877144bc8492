/* Tests of the logger and the allocator (src/common/log.c, alloc.c; owned by the transport room). */
#include "common/alloc.h"
#include "common/log.h"

#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], logpath[128], logpath2[128];

/* Read the whole log file into a static buffer. */
static const char *slurp(const char *p)
{
	static char buf[1 << 20];
	FILE *f = fopen(p, "re");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0)
		return false;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void t_line_format(void)
{
	const char *s;

	unlink(logpath);
	TAP_EQ_INT(fm_log_open(logpath, FM_LOG_DEBUG), 0);
	fm_log(FM_LOG_INFO, "tag", "x %d\n", 1);
	fm_debug("no tag");
	fm_log(FM_LOG_WARN, NULL, "two\nlines");
	s = slurp(logpath);
	TAP_EQ_INT(count_lines(s), 3);
	TAP_CHECK(matches(s, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			     "INFO \\[tag\\] x 1$"));
	TAP_CHECK(matches(s, "Z DEBUG no tag$"));
	TAP_CHECK(matches(s, "Z WARN two lines$"));
}

static void t_level_filter(void)
{
	unlink(logpath);
	TAP_EQ_INT(fm_log_open(logpath, FM_LOG_WARN), 0);
	fm_info("hidden");
	fm_debug("hidden");
	fm_warn("shown");
	fm_err("shown");
	TAP_EQ_INT(count_lines(slurp(logpath)), 2);
	TAP_CHECK(strstr(slurp(logpath), "hidden") == NULL);
	TAP_EQ_INT(fm_log_open(logpath, (enum fm_log_level)7), -EINVAL);
}

static void t_long_message(void)
{
	static char big[20000];
	const char *s;

	memset(big, 'a', sizeof(big) - 1);
	unlink(logpath);
	TAP_EQ_INT(fm_log_open(logpath, FM_LOG_INFO), 0);
	fm_info("%s", big);
	s = slurp(logpath);
	TAP_EQ_INT(count_lines(s), 1);
	TAP_CHECK(strlen(s) > 4000 && strlen(s) < sizeof(big));
	TAP_CHECK(s[strlen(s) - 1] == '\n');
}

static void *writer(void *arg)
{
	int i;

	for (i = 0; i < 300; i++)
		fm_log(FM_LOG_INFO, "thr", "thread %ld line %d %s", (long)arg, i,
		       "padding padding padding padding padding padding padding padding");
	return NULL;
}

static void t_concurrent_lines(void)
{
	pthread_t t[4];
	const char *s, *p;
	long i;
	int bad = 0;

	unlink(logpath);
	TAP_EQ_INT(fm_log_open(logpath, FM_LOG_INFO), 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	s = slurp(logpath);
	TAP_EQ_INT(count_lines(s), 1200);
	/* Every line whole: each starts with a timestamp and ends with the padding. */
	for (p = s; *p; p = strchr(p, '\n') + 1) {
		const char *e = strchr(p, '\n');

		if (!e || strncmp(p, "20", 2) != 0 || strncmp(e - 7, "padding", 7) != 0)
			bad++;
		if (!e)
			break;
	}
	TAP_EQ_INT(bad, 0);
}

static void t_reopen_and_errno(void)
{
	unlink(logpath);
	unlink(logpath2);
	TAP_EQ_INT(fm_log_open(logpath, FM_LOG_INFO), 0);
	fm_info("first");
	TAP_EQ_INT(fm_log_open(logpath2, FM_LOG_INFO), 0);
	errno = EXDEV;
	fm_info("second");
	TAP_EQ_INT(errno, EXDEV);
	TAP_CHECK(strstr(slurp(logpath), "first") != NULL);
	TAP_CHECK(strstr(slurp(logpath), "second") == NULL);
	TAP_CHECK(strstr(slurp(logpath2), "second") != NULL);
	fm_log_close();
	fm_info("after close");
	TAP_CHECK(strstr(slurp(logpath2), "after close") == NULL);
	TAP_EQ_INT(fm_log_open("/nonexistent-dir-fm/x.log", FM_LOG_INFO), -ENOENT);
}

static void t_alloc_injection(void)
{
	void *a, *b, *c, *d;
	char *s;

	fm_alloc_fail_after(2);
	a = fm_malloc(8);
	b = fm_calloc(2, 8);
	c = fm_malloc(8);
	d = fm_malloc(8);
	TAP_CHECK(a && b);
	TAP_CHECK(c == NULL);
	TAP_CHECK(d != NULL); /* injection switched itself off */
	fm_free(a);
	fm_free(b);
	fm_free(d);
	fm_alloc_fail_after(0);
	TAP_CHECK(fm_strdup("x") == NULL);
	s = fm_strndup("abcdef", 3);
	TAP_EQ_STR(s, "abc");
	s = fm_realloc(s, 100);
	TAP_CHECK(s != NULL);
	fm_free(s);
	a = fm_malloc(0);
	TAP_CHECK(a != NULL);
	fm_free(a);
	fm_alloc_fail_after(-1);
	TAP_CHECK(fm_strdup(NULL) == NULL);
}

int main(void)
{
	strcpy(dir, "/tmp/fm-log-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(logpath, sizeof(logpath), "%s/a.log", dir);
	snprintf(logpath2, sizeof(logpath2), "%s/b.log", dir);
	/* Keep the test's stderr quiet: lines still go to the file. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	TAP_RUN(t_line_format);
	TAP_RUN(t_level_filter);
	TAP_RUN(t_long_message);
	TAP_RUN(t_concurrent_lines);
	TAP_RUN(t_reopen_and_errno);
	TAP_RUN(t_alloc_injection);
	fm_log_close();
	unlink(logpath);
	unlink(logpath2);
	rmdir(dir);
	return tap_done();
}
