/*
 * journal.c: the answers journal; see journal.h.
 */
#define _GNU_SOURCE /* fallocate(2) and FALLOC_FL_KEEP_SIZE */
#include "store/journal.h"
#include "store/store_outcome.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/digest.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* Integers in JSON are doubles: every time and id we write stays below 2^53. */
#define JSON_INT_MAX 9007199254740992.0

char *journal_path(const char *db_file)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, db_file);
	strbuf_addstr(&sb, JOURNAL_SUFFIX);
	return strbuf_detach(&sb, NULL);
}

char *journal_path_of_db(const char *db)
{
	char real[PATH_MAX];

	return journal_path(realpath(db, real) ? real : db);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_int(cJSON *o, const char *key, int64_t v, int null_if_zero)
{
	if (null_if_zero && !v)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, (double)v);
}

void journal_encode(const struct store_outcome *o, const char *db_id, const char *line_id,
		    struct strbuf *out)
{
	cJSON *j = cJSON_CreateObject();

	add_int(j, "v", JOURNAL_VERSION, 0);
	add_str(j, "db", db_id);
	add_int(j, "schema", store_schema_version(), 0);
	add_str(j, "line_id", line_id);
	add_str(j, "outcome", outcome_kind_name(o->kind));
	add_str(j, "customer_id", o->customer_id);
	add_int(j, "customer_row", o->customer_row, 0);
	add_int(j, "run_id", o->run_id, 1);
	add_int(j, "attempt_no", o->attempt_no, 0);
	add_str(j, "kind", o->req_kind == REQUEST_REAUTH ? "reauth" : "create");
	add_int(j, "started_at", o->started_ms, 0);
	add_int(j, "elapsed_ms", o->elapsed_ms, 0);
	add_int(j, "http_status", o->http_status, 1);
	add_str(j, "transport_error", o->transport_error);
	add_str(j, "finch_code", o->finch_code);
	add_str(j, "request_id", o->request_id);
	add_str(j, "message", o->message);
	add_str(j, "session_id", o->session_id);
	add_str(j, "connect_url", o->connect_url);
	add_str(j, "connection_id", o->connection_id);
	add_int(j, "expires_at", o->expires_at_ms, 1);
	add_int(j, "next_attempt_at", o->next_attempt_ms, 1);
	add_int(j, "first_transient_at", o->first_transient_ms, 1);
	add_int(j, "give_up_at", o->give_up_ms, 1);
	add_int(j, "minutes_to_expire", o->minutes_to_expire, 1);
	if (o->kind == OUTCOME_UNCONFIRMED)
		add_str(j, "body", o->body);
	json_add_line_delete(out, j);
}

/* A string member, or NULL member; anything else is an error. */
static int get_str(const cJSON *j, const char *key, char **out, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, key);

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsString(item))
		return set_why(why, size, "%s: not a string", key);
	*out = xstrdup(item->valuestring);
	return 0;
}

/* An integer member (null or absent reads as 0 unless required). */
static int get_int(const cJSON *j, const char *key, int required, int64_t *out, char *why,
		   size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, key);
	double v;

	*out = 0;
	if (!item || cJSON_IsNull(item))
		return required ? set_why(why, size, "%s: missing", key) : 0;
	if (!cJSON_IsNumber(item))
		return set_why(why, size, "%s: not a number", key);
	v = item->valuedouble;
	if (v != floor(v) || fabs(v) > JSON_INT_MAX)
		return set_why(why, size, "%s: not an integer", key);
	*out = (int64_t)v;
	return 0;
}

/* 1 when s is exactly STORE_ID_HEX lowercase hex digits. */
static int is_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == STORE_ID_HEX;
}

/* The stamp of a line: its database, schema and ledger key (journal.h). */
static int decode_stamp(const cJSON *j, int64_t version, const char *line, size_t len,
			struct journal_stamp *stamp, char *why, size_t size)
{
	char *db = NULL, *id = NULL;
	int ret = -1;

	memset(stamp, 0, sizeof(*stamp));
	stamp->version = (int)version;
	if (version == 1) {
		struct sha256 c;
		char hex[65];

		sha256_init(&c);
		sha256_update(&c, line, len);
		sha256_final_hex(&c, hex);
		snprintf(stamp->line_id, sizeof(stamp->line_id), "sha256:%.*s", STORE_ID_HEX, hex);
		return 0;
	}
	if (get_str(j, "db", &db, why, size) < 0 || get_str(j, "line_id", &id, why, size) < 0 ||
	    get_int(j, "schema", 1, &stamp->schema, why, size) < 0)
		goto out;
	if (!db || !is_id(db)) {
		set_why(why, size, "db: not a database id (%d hex digits)", STORE_ID_HEX);
		goto out;
	}
	if (!id || !is_id(id)) {
		set_why(why, size, "line_id: not a line id (%d hex digits)", STORE_ID_HEX);
		goto out;
	}
	memcpy(stamp->db_id, db, STORE_ID_HEX + 1);
	memcpy(stamp->line_id, id, STORE_ID_HEX + 1);
	ret = 0;
out:
	free(db);
	free(id);
	return ret;
}

int journal_decode(const char *line, size_t len, struct store_outcome *o,
		   struct journal_stamp *stamp, char *why, size_t size)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	char *outcome = NULL, *kind = NULL;
	int64_t version, status;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	if (!j || !cJSON_IsObject(j)) {
		set_why(why, size, "not a JSON object");
		goto out;
	}
	if (get_int(j, "v", 1, &version, why, size) < 0)
		goto out;
	if (version != 1 && version != JOURNAL_VERSION) {
		set_why(why, size, "version %lld, this finch-onboard reads versions 1 and %d",
			(long long)version, JOURNAL_VERSION);
		goto out;
	}
	if (decode_stamp(j, version, line, len, stamp, why, size) < 0)
		goto out;
	if (get_str(j, "outcome", &outcome, why, size) < 0 ||
	    get_str(j, "kind", &kind, why, size) < 0 ||
	    get_str(j, "customer_id", &o->customer_id, why, size) < 0 ||
	    get_str(j, "transport_error", &o->transport_error, why, size) < 0 ||
	    get_str(j, "finch_code", &o->finch_code, why, size) < 0 ||
	    get_str(j, "request_id", &o->request_id, why, size) < 0 ||
	    get_str(j, "message", &o->message, why, size) < 0 ||
	    get_str(j, "session_id", &o->session_id, why, size) < 0 ||
	    get_str(j, "connect_url", &o->connect_url, why, size) < 0 ||
	    get_str(j, "connection_id", &o->connection_id, why, size) < 0 ||
	    get_str(j, "body", &o->body, why, size) < 0 ||
	    get_int(j, "customer_row", 1, &o->customer_row, why, size) < 0 ||
	    get_int(j, "run_id", 0, &o->run_id, why, size) < 0 ||
	    get_int(j, "attempt_no", 1, &o->attempt_no, why, size) < 0 ||
	    get_int(j, "started_at", 1, &o->started_ms, why, size) < 0 ||
	    get_int(j, "elapsed_ms", 0, &o->elapsed_ms, why, size) < 0 ||
	    get_int(j, "http_status", 0, &status, why, size) < 0 ||
	    get_int(j, "expires_at", 0, &o->expires_at_ms, why, size) < 0 ||
	    get_int(j, "next_attempt_at", 0, &o->next_attempt_ms, why, size) < 0 ||
	    get_int(j, "first_transient_at", 0, &o->first_transient_ms, why, size) < 0 ||
	    get_int(j, "give_up_at", 0, &o->give_up_ms, why, size) < 0 ||
	    get_int(j, "minutes_to_expire", 0, &o->minutes_to_expire, why, size) < 0)
		goto out;
	o->http_status = (long)status;
	if (!outcome || outcome_kind_from_name(outcome, &o->kind) < 0) {
		set_why(why, size,
			"outcome: '%s' is not one of created, exists, failed, retry, unsent, "
			"unconfirmed",
			outcome ? outcome : "");
		goto out;
	}
	if (!kind || (strcmp(kind, "create") && strcmp(kind, "reauth"))) {
		set_why(why, size, "kind: '%s' is not create or reauth", kind ? kind : "");
		goto out;
	}
	o->req_kind = !strcmp(kind, "reauth") ? REQUEST_REAUTH : REQUEST_CREATE;
	if (!o->customer_id || !*o->customer_id) {
		set_why(why, size, "customer_id: missing");
		goto out;
	}
	if (o->kind == OUTCOME_CREATED && (!o->session_id || !o->connect_url)) {
		set_why(why, size, "a created outcome without session_id and connect_url");
		goto out;
	}
	if (o->kind == OUTCOME_EXISTS && !o->connection_id) {
		set_why(why, size, "an exists outcome without connection_id");
		goto out;
	}
	ret = 0;
out:
	if (ret)
		store_outcome_release(o);
	free(outcome);
	free(kind);
	cJSON_Delete(j);
	return ret;
}

/* fsyncs the folder that holds path, so a created or removed name survives a crash. */
static int sync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0 || fsync(fd) < 0)
		ret = error_errno("cannot sync the folder of '%s'", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int journal_open(struct journal *j, struct store *st, size_t reserve_bytes)
{
	const char *id = store_database_id(st);

	if (!id)
		return -1;
	snprintf(j->db_id, sizeof(j->db_id), "%s", id);
	j->path = journal_path(store_filename(st));
	j->appended = 0;
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0)
		return error_errno("cannot open the answers journal '%s'", j->path);
	/*
	 * Reserved now, while there is room: on a full disk the journal is the
	 * only place left for the answers. KEEP_SIZE: the file stays empty.
	 */
	if (reserve_bytes && fallocate(j->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)reserve_bytes) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS) {
		/* No request goes out unless its answer has a place to go. */
		int err = errno;
		struct statvfs vfs;
		struct stat sb;
		char avail[32] = "unknown";

		if (statvfs(j->path, &vfs) == 0)
			snprintf(avail, sizeof(avail), "%llu",
				 (unsigned long long)vfs.f_bavail *
				     (unsigned long long)vfs.f_frsize);
		if (fstat(j->fd, &sb) == 0 && sb.st_size == 0)
			unlink(j->path); /* ours, and empty: leave nothing behind */
		close(j->fd);
		j->fd = -1;
		return error("cannot reserve %zu bytes for the answers journal '%s' (%s; %s bytes "
			     "free): nothing was sent, since an answer the database could not take "
			     "would have no place to go; free some space and run again",
			     reserve_bytes, j->path, strerror(err), avail);
	}
	return sync_dir_of(j->path);
}

int journal_append(struct journal *j, const struct store_outcome *o, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	size_t left;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		char line_id[STORE_ID_HEX + 1];

		if (store_random_id(line_id) < 0) {
			ret = -1;
			goto out;
		}
		journal_encode(&o[i], j->db_id, line_id, &sb);
	}
	p = sb.buf;
	left = sb.len;
	while (left) {
		ssize_t w = write(j->fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = error_errno("cannot write the answers journal '%s'", j->path);
			goto out;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fdatasync(j->fd) < 0) {
		ret = error_errno("cannot sync the answers journal '%s'", j->path);
		goto out;
	}
	j->appended += (int64_t)n;
out:
	strbuf_release(&sb);
	return ret;
}

void journal_close(struct journal *j)
{
	struct stat sb;

	if (j->fd >= 0) {
		if (!j->appended && fstat(j->fd, &sb) == 0 && sb.st_size == 0 &&
		    unlink(j->path) == 0)
			sync_dir_of(j->path);
		close(j->fd);
	}
	free(j->path);
	j->fd = -1;
	j->path = NULL;
}

/*
 * Reads the journal of db_file into *buf: 1 when it has bytes, 0 when it is
 * absent or empty, -1 after reporting.
 */
static int read_journal(const char *path, struct strbuf *buf, struct stat *sb)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0
				       : error_errno("cannot open the answers journal '%s'", path);
	if (fstat(fd, sb) < 0) {
		error_errno("cannot read the answers journal '%s'", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) { /* a FIFO or a device planted there: never read */
		error("the answers journal '%s' is not a regular file", path);
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_errno("cannot read the answers journal '%s'", path);
			close(fd);
			return -1;
		}
		strbuf_add(buf, chunk, (size_t)n);
	}
	close(fd);
	return buf->len > 0;
}

int64_t journal_waiting_file(const char *path)
{
	struct strbuf buf = STRBUF_INIT;
	struct stat sb;
	int64_t lines = 0;
	int r = read_journal(path, &buf, &sb);

	for (size_t i = 0; r > 0 && i < buf.len; i++)
		lines += buf.buf[i] == '\n';
	strbuf_release(&buf);
	return r < 0 ? -1 : lines;
}

int64_t journal_waiting(const char *db_file)
{
	char *path = journal_path(db_file);
	int64_t lines = journal_waiting_file(path);

	free(path);
	return lines;
}

int journal_load(const char *path, struct journal_entries *out)
{
	struct strbuf buf = STRBUF_INIT;
	int64_t lineno = 0;
	size_t pos = 0, alloc = 0;
	struct stat sb = {0};
	int r = read_journal(path, &buf, &sb), ret = r;

	memset(out, 0, sizeof(*out));
	out->owner = sb.st_uid;
	out->mode = sb.st_mode;
	while (r > 0 && pos < buf.len) {
		const char *line = buf.buf + pos, *nl = memchr(line, '\n', buf.len - pos);
		struct journal_entry *e;
		char why[256];

		lineno++;
		if (!nl) {
			out->torn = 1;
			break;
		}
		pos = (size_t)(nl - buf.buf) + 1;
		if (nl == line)
			continue;
		if (out->n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			out->v = xrealloc(out->v, alloc * sizeof(*out->v));
		}
		e = &out->v[out->n];
		if (journal_decode(line, (size_t)(nl - line), &e->o, &e->stamp, why, sizeof(why)) <
		    0) {
			ret = error("%s:%lld: %s; the journal is left in place", path,
				    (long long)lineno, why);
			break;
		}
		e->lineno = lineno;
		out->n++;
	}
	strbuf_release(&buf);
	return ret;
}

void journal_entries_release(struct journal_entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		store_outcome_release(&e->v[i].o);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/*
 * Says what a journal that cannot be applied holds, why, and the ways out;
 * returns -1. The journal is left as it is.
 */
static int refuse(struct store *st, const char *path, const struct journal_entries *e,
		  const char *why)
{
	int64_t created = 0, first_ms = 0, last_ms = 0;
	struct strbuf who = STRBUF_INIT;

	for (size_t i = 0; i < e->n; i++) {
		const struct store_outcome *o = &e->v[i].o;

		created += o->kind == OUTCOME_CREATED || o->kind == OUTCOME_UNCONFIRMED;
		if (!first_ms || o->started_ms < first_ms)
			first_ms = o->started_ms;
		if (o->started_ms > last_ms)
			last_ms = o->started_ms;
		if (i < 3) {
			strbuf_addstr(&who, i ? ", '" : "'");
			strbuf_add_inert(&who, o->customer_id, 80);
			strbuf_addch(&who, '\'');
		}
	}
	if (e->n > 3)
		strbuf_addstr(&who, ", ...");
	{
		char a[32], b[32];

		error("the answers journal '%s' cannot be applied to the database '%s': %s. It "
		      "holds %zu answers (%lld created sessions; customers %s) sent from %s to %s. "
		      "It is kept, and nothing was sent or changed. The ways out: apply it to "
		      "the database it belongs to (put it beside that database, named after it "
		      "plus '" JOURNAL_SUFFIX "', and run any writer there); read it, or save it "
		      "as CSV, with 'finch-onboard journal %s --csv'; or, once its answers are "
		      "safe, move it aside ('mv %s %s.aside')",
		      path, store_filename(st), why, e->n, (long long)created, who.buf,
		      format_iso8601_ms(first_ms, a, sizeof(a)),
		      format_iso8601_ms(last_ms, b, sizeof(b)), path, path, path);
	}
	strbuf_release(&who);
	return -1;
}

const char *journal_entries_foreign(const struct journal_entries *e, const char *ours)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].stamp.db_id[0] && strcmp(e->v[i].stamp.db_id, ours))
			return e->v[i].stamp.db_id;
	return NULL;
}

/* Refuses e (refuse()) when a line of it names another database than st. */
/*
 * A journal is the job's own file: journal_open() creates it 0600 with
 * O_NOFOLLOW. One that another user owns, or that others may write, was
 * planted or changed by someone else (a shared folder): its answers, links
 * included, are never applied (issue 20: inputs in shared folders).
 */
static int check_owner(struct store *st, const char *path, const struct journal_entries *e)
{
	const char *ours = store_database_id(st), *theirs;
	struct strbuf why = STRBUF_INIT;
	int ret = 0;

	if (!ours)
		return -1;
	theirs = journal_entries_foreign(e, ours);
	if (e->owner != geteuid()) {
		strbuf_addf(&why, "it belongs to uid %lu, not to this job's user (uid %lu)",
			    (unsigned long)e->owner, (unsigned long)geteuid());
		ret = refuse(st, path, e, why.buf);
	} else if (e->mode & (S_IWGRP | S_IWOTH)) {
		strbuf_addf(&why, "others may write it (mode %04o; the job makes it 0600)",
			    (unsigned)(e->mode & 07777));
		ret = refuse(st, path, e, why.buf);
	} else if (theirs) {
		strbuf_addf(&why, "it was written for another database (id %s; this one is %s)",
			    theirs, ours);
		ret = refuse(st, path, e, why.buf);
	}
	strbuf_release(&why);
	return ret;
}

int journal_replay_path(struct store *st, const char *path, int remove, int64_t *count)
{
	struct journal_entries e;
	struct strbuf missing = STRBUF_INIT;
	int64_t moved_on = 0, gone = 0, seen = 0, now = clock_now_ms();
	int r, ret = -1;

	*count = 0;
	r = journal_load(path, &e);
	if (r <= 0) {
		/* an empty journal is a crash's leftover reservation */
		if (r == 0 && remove && unlink(path) == 0)
			sync_dir_of(path);
		ret = r;
		goto out;
	}
	if (e.torn)
		warning("%s: an incomplete last line (an append cut short by a crash, never "
			"acknowledged); ignored",
			path);
	if (check_owner(st, path, &e) < 0)
		goto out;
	if (store_begin(st) < 0)
		goto out;
	for (size_t i = 0; i < e.n; i++) {
		int fresh, applied;

		if (store_ledger_add(st, e.v[i].stamp.line_id, now, &fresh) < 0)
			goto rollback;
		if (!fresh) {
			seen++; /* recorded by a replay whose removal of the file a crash cut */
			continue;
		}
		if (store_replay_outcome(st, &e.v[i].o, &applied) < 0)
			goto rollback;
		*count += 1;
		moved_on += applied == 0;
		if (applied < 0 && gone++ < 3) {
			strbuf_addstr(&missing, gone > 1 ? ", '" : "'");
			strbuf_add_inert(&missing, e.v[i].o.customer_id, 80);
			strbuf_addch(&missing, '\'');
		}
	}
	if (gone) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "%lld of its customers are not in it (%s%s)", (long long)gone,
			    missing.buf, gone > 3 ? ", ..." : "");
		store_rollback(st);
		refuse(st, path, &e, why.buf);
		strbuf_release(&why);
		*count = 0;
		goto out;
	}
	if (store_commit(st) < 0)
		goto rollback;
	if (remove && unlink(path) < 0)
		warning("cannot remove the replayed answers journal '%s': %s", path,
			strerror(errno));
	else if (remove)
		sync_dir_of(path);
	log_event(LOG_WARN, "journal_replayed",
		  "recorded the answers a stopped run kept in the answers journal",
		  LOG_S("journal", path), LOG_I("answers", *count), LOG_I("history_only", moved_on),
		  LOG_I("already_recorded", seen), LOG_END);
	ret = 0;
	goto out;
rollback:
	store_rollback(st);
	*count = 0;
out:
	journal_entries_release(&e);
	strbuf_release(&missing);
	return ret;
}

int journal_replay(struct store *st, int64_t *count)
{
	char *path = journal_path(store_filename(st));
	int ret = journal_replay_path(st, path, 1, count);

	free(path);
	return ret;
}
