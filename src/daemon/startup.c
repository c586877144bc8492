/* What fltmgrd does when it starts: mount the configured volumes, load the autostart services. */
#include "daemon/daemon.h"
#include "common/alloc.h"
#include "common/log.h"
#include "core/core_i.h"
#include "core/registry.h"
#include "volume/volume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * <root>/volumes.conf: one volume per line, "<backing-dir> [<mount-point>] [fstype=<type>]
 * [cache=auto|cached|direct] [transport=dev|uring]", '#' starts a comment.  Without a mount
 * point the volume is mounted over its backing directory.
 */

struct vol_line {
	char backing[4096];
	char mount_point[4096];
	char fs_type[16];
	char cache[16], transport[16];
	char type_opts[64]; /* what the mount request carries: "TYPE[,cache=P][,transport=T]" */
};

/* A "key=value" option of a line into `dst`, checked by `valid`; false (msg set) if bad. */
static bool take_option(const char *tok, size_t keylen, char *dst, size_t cap,
			bool (*valid)(const char *), const char **msg, const char *bad)
{
	const char *val = tok + keylen;

	if (!*val || strlen(val) >= cap || (valid && !valid(val))) {
		*msg = bad;
		return false;
	}
	snprintf(dst, cap, "%s", val);
	return true;
}

static bool cache_ok(const char *v)
{
	enum fm_cache_policy p;

	return fm_vol_cache_policy_parse(v, &p) == 0;
}

static bool transport_ok(const char *v)
{
	enum fm_transport t;

	return fm_vol_transport_parse(v, &t) == 0;
}

/* Parse one line; 0 ok, 1 blank, -EINVAL malformed (msg says why). */
static int parse_line(char *line, struct vol_line *v, const char **msg)
{
	char *tok, *save = NULL;
	int n = 0;

	memset(v, 0, sizeof(*v));
	line[strcspn(line, "#\r\n")] = '\0';
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "fstype=", 7) == 0) {
			if (!take_option(tok, 7, v->fs_type, sizeof(v->fs_type), NULL, msg,
					 "bad fstype="))
				return -EINVAL;
		} else if (strncmp(tok, "cache=", 6) == 0) {
			if (!take_option(tok, 6, v->cache, sizeof(v->cache), cache_ok, msg,
					 "bad cache= (auto, cached or direct)"))
				return -EINVAL;
		} else if (strncmp(tok, "transport=", 10) == 0) {
			if (!take_option(tok, 10, v->transport, sizeof(v->transport), transport_ok,
					 msg, "bad transport= (dev or uring)"))
				return -EINVAL;
		} else if (n == 0 || n == 1) {
			char *dst = n == 0 ? v->backing : v->mount_point;
			if (tok[0] != '/' || strlen(tok) >= sizeof(v->backing)) {
				*msg = "paths must be absolute";
				return -EINVAL;
			}
			snprintf(dst, sizeof(v->backing), "%s", tok);
			n++;
		} else {
			*msg = "too many fields";
			return -EINVAL;
		}
	}
	if (n == 0) {
		if (v->fs_type[0] || v->cache[0] || v->transport[0]) {
			*msg = "no backing directory";
			return -EINVAL;
		}
		return 1;
	}
	fm_proto_mount_type(v->type_opts, sizeof(v->type_opts), v->fs_type, v->cache, v->transport);
	return 0;
}

/* Walk volumes.conf; with `apply`, mount each volume.  Returns the number of problems. */
static int walk_volumes(const char *root, bool apply)
{
	char path[4096], line[8400];
	unsigned int lineno = 0;
	int problems = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/volumes.conf", root);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct vol_line v;
		const char *msg = "";
		int rc;

		lineno++;
		rc = parse_line(line, &v, &msg);
		if (rc == 1)
			continue;
		if (rc < 0) {
			fprintf(stderr, "fltmgrd: %s:%u: %s\n", path, lineno, msg);
			fm_err("%s:%u: %s", path, lineno, msg);
			problems++;
			continue;
		}
		if (!apply) {
			printf("volume %s%s%s%s%s%s%s%s%s\n", v.backing,
			       v.mount_point[0] ? " at " : "", v.mount_point,
			       v.fs_type[0] ? " as " : "", v.fs_type, v.cache[0] ? ", cache " : "",
			       v.cache, v.transport[0] ? ", transport " : "", v.transport);
			continue;
		}
		{
			struct fm_request req = {.type = FM_MSG_MOUNT};
			struct fm_daemon_reply r;

			req.backing = v.backing;
			req.mount_point = v.mount_point;
			req.fs_type = v.type_opts;
			fm_daemon_reply_init(&r);
			fm_daemon_handle(&req, &r);
			if (r.rep.status) {
				fm_err("%s:%u: cannot mount %s: %s", path, lineno, v.backing,
				       r.msg);
				problems++;
			}
			fm_daemon_reply_fini(&r);
		}
	}
	fclose(f);
	return problems;
}

/* ---- Autostart services ---- */

/* Load order groups, bottom of the stack first (R20): lower groups load earlier. */
static const char *const groups[] = {
    "FSFilter Infrastructure",
    "FSFilter System",
    "FSFilter Bottom",
    "FSFilter Copy Protection",
    "FSFilter Security Enhancer",
    "FSFilter Open File",
    "FSFilter Physical Quota Management",
    "FSFilter Virtualization",
    "FSFilter Encryption",
    "FSFilter Compression",
    "FSFilter Imaging",
    "FSFilter HSM",
    "FSFilter Cluster File System",
    "FSFilter System Recovery",
    "FSFilter Quota Management",
    "FSFilter Content Screener",
    "FSFilter Continuous Backup",
    "FSFilter Replication",
    "FSFilter Anti-Virus",
    "FSFilter Undelete",
    "FSFilter Activity Monitor",
    "FSFilter Top",
    "Filter",
};

struct autostart {
	char name[160];
	char group[128];
	char altitude[FM_ALTITUDE_MAX];
	unsigned int group_rank;
	uint32_t start;
};

static int by_order(const void *a, const void *b)
{
	const struct autostart *x = a, *y = b;

	if (x->group_rank != y->group_rank)
		return x->group_rank < y->group_rank ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return fm__altitude_cmp(x->altitude, y->altitude);
}

/* Services with Start 0, 1 or 2, in load order.  *out is fm_malloc'ed. */
static int autostart_list(struct autostart **out, size_t *n)
{
	struct fm_regkey *services, *svc, *inst;
	struct autostart *a = NULL, *grown;
	char name[160], def[160], alt[FM_ALTITUDE_MAX];
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (fm_reg_open(FM_REG_SERVICES, 0, &services))
		return 0;
	for (unsigned int i = 0; fm_reg_enum_key(services, i, name, sizeof(name)) == 0; i++) {
		uint32_t start = 3;
		struct autostart *e;

		if (fm_reg_open_sub(services, name, 0, &svc))
			continue;
		if (fm_reg_get_dword(svc, "Start", &start) || start > 2) {
			fm_reg_close(svc);
			continue;
		}
		grown = fm_realloc(a, (cnt + 1) * sizeof(*a));
		if (!grown) {
			fm_reg_close(svc);
			break;
		}
		a = grown;
		e = &a[cnt++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->start = start;
		(void)fm_reg_get_string(svc, "Group", e->group, sizeof(e->group));
		e->group_rank = sizeof(groups) / sizeof(groups[0]);
		for (unsigned int g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
			if (strcasecmp(groups[g], e->group) == 0)
				e->group_rank = g;
		snprintf(e->altitude, sizeof(e->altitude), "0");
		if (fm_reg_open_sub(svc, "Instances", 0, &inst) == 0) {
			if (fm_reg_get_string(inst, "DefaultInstance", def, sizeof(def)) == 0) {
				struct fm_regkey *d;
				if (fm_reg_open_sub(inst, def, 0, &d) == 0) {
					if (fm_reg_get_string(d, "Altitude", alt, sizeof(alt)) == 0)
						(void)fm__altitude_normalize(alt, e->altitude,
									     sizeof(e->altitude));
					fm_reg_close(d);
				}
			}
			fm_reg_close(inst);
		}
		fm_reg_close(svc);
	}
	fm_reg_close(services);
	if (cnt)
		qsort(a, cnt, sizeof(*a), by_order);
	*out = a;
	*n = cnt;
	return 0;
}

int fm_daemon_startup(const char *root)
{
	struct autostart *a;
	size_t n;
	int problems = walk_volumes(root, true);

	autostart_list(&a, &n);
	for (size_t i = 0; i < n; i++) {
		struct fm_request req = {.type = FM_MSG_LOAD};
		struct fm_daemon_reply r;

		req.service = a[i].name;
		fm_info("autostart: loading %s (start type %u, group '%s', altitude %s)", a[i].name,
			a[i].start, a[i].group, a[i].altitude);
		fm_daemon_reply_init(&r);
		fm_daemon_handle(&req, &r);
		if (r.rep.status) {
			fm_err("autostart: %s did not load: %s", a[i].name, r.msg);
			problems++;
		}
		fm_daemon_reply_fini(&r);
	}
	fm_free(a);
	return problems;
}

int fm_daemon_check_startup(const char *root)
{
	struct autostart *a;
	size_t n;
	int problems = walk_volumes(root, false);

	autostart_list(&a, &n);
	for (size_t i = 0; i < n; i++)
		printf("autostart %zu: %s (start type %u, group '%s', altitude %s)\n", i + 1,
		       a[i].name, a[i].start, a[i].group, a[i].altitude);
	fm_free(a);
	return problems;
}
