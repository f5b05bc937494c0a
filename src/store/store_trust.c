/*
 * store_trust.c: what the store refuses to open, before SQLite does
 * (store_refuse_untrusted() in store_int.h): a database with two names, a
 * database another user could have planted or changed, and files beside it
 * that SQLite would trust (issue 20: inputs in shared folders).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "store/store_int.h"

/*
 * SQLite names its write-ahead log, shared memory and journal after the
 * path it was given, not after the file: through a second hard link a
 * process sees neither the other's log nor its journal, re-sends answered
 * rows and corrupts the file (sqlite.org/howtocorrupt.html, "Multiple
 * links to the same file"). A symlink is fine: SQLite resolves it.
 */
static int refuse_hard_links(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink > 1)
		return error("database '%s' has %lu hard links; SQLite keeps its log beside the "
			     "name it is opened by, so two names for one database lose answers "
			     "and corrupt it: keep one name (a symlink is fine)",
			     path, (unsigned long)sb.st_nlink);
	return 0;
}

/*
 * SQLite trusts the files it finds beside the database: a "hot" -journal is
 * rolled back into it by the first process that writes, a -wal's frames
 * are read as the newest pages. In a shared folder (mode 1777) another user
 * can plant either, and one page of zeros in a planted journal wiped a
 * database whole. SQLite makes these files itself, owned by the database's
 * owner (as root, it gives them to that owner). So each one must be a
 * regular file, not a link, owned by the database's owner or by this
 * process's user; anything else is refused before SQLite opens the
 * database (issue 20: inputs in shared folders). name is the database's
 * own path (db_name()).
 */
static int refuse_foreign_sidecars(const char *path, const char *name)
{
	static const char *const suffixes[] = {"-journal", "-wal", "-shm"};
	struct stat db, sb;
	uid_t owner = stat(name, &db) == 0 ? db.st_uid : geteuid();
	struct strbuf side = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes) && !ret; i++) {
		strbuf_reset(&side);
		strbuf_addf(&side, "%s%s", name, suffixes[i]);
		if (lstat(side.buf, &sb) < 0)
			continue;
		if (!S_ISREG(sb.st_mode))
			ret =
			    error("database '%s': '%s' beside it is not a regular file (a link, a "
				  "FIFO?); SQLite would read it as the database's own: refusing "
				  "to open it",
				  path, side.buf);
		else if (sb.st_uid != owner && sb.st_uid != geteuid())
			ret =
			    error("database '%s': '%s' beside it belongs to uid %lu, not to the "
				  "database's owner (uid %lu): another user may have put it there "
				  "to change the database, which SQLite would do on opening it; "
				  "refusing (look at it, then remove it)",
				  path, side.buf, (unsigned long)sb.st_uid, (unsigned long)owner);
	}
	strbuf_release(&side);
	return ret;
}

/*
 * The database holds every connect link the export hands out, so its
 * contents must be as trusted as the links, and opening it must not block:
 * - it must be a regular file (a FIFO planted at --db hung every reader);
 * - a database every user can write (mode o+w) is refused;
 * - so is one owned by neither this process's user nor root that another
 *   user could have put where it is, with links of their choosing, for
 *   this user's credentials and export: a folder on its path can be
 *   written by every user (unless it is sticky, like /tmp, and what is in
 *   it on the path belongs to this user or root), or belongs to a third
 *   user. A service's own folder holding its own database passes.
 * ssh's rule for authorized_keys, with the folder walk of the trusted-link
 * rule (safepath.h). name is the database's own path (db_name()); a
 * missing file is for create_private().
 */
static int refuse_untrusted_db(const char *path, const char *name)
{
	struct stat sb, dir;
	uid_t me = geteuid(), below;
	char *folder;
	int ret = 0;

	if (!*name || !strcmp(name, ":memory:") || lstat(name, &sb) < 0)
		return 0;
	if (!S_ISREG(sb.st_mode))
		return error("database '%s' is not a regular file (a FIFO, a device?); refusing "
			     "to open it",
			     path);
	if (sb.st_mode & S_IWOTH)
		return error(
		    "database '%s' can be written by every user (mode %04o): anyone could "
		    "change the links it exports; refusing (if it is yours: chmod 600 '%s')",
		    path, (unsigned)(sb.st_mode & 07777), path);
	if (sb.st_uid == me || sb.st_uid == 0)
		return 0;
	below = sb.st_uid;
	folder = realpath(name, NULL);
	for (char *slash = folder ? strrchr(folder, '/') : NULL; slash && !ret;
	     slash = strrchr(folder, '/')) {
		const char *f = slash == folder ? "/" : folder;

		*slash = '\0';
		if (stat(f, &dir) < 0)
			break;
		if ((dir.st_mode & S_IWOTH) &&
		    !((dir.st_mode & S_ISVTX) && (below == me || below == 0)))
			ret = error("database '%s' belongs to uid %lu, and the folder '%s' on its "
				    "path can be written by every user: another user may have put "
				    "it there; refusing (keep the database in a folder of yours)",
				    path, (unsigned long)sb.st_uid, f);
		else if (dir.st_uid != me && dir.st_uid != 0 && dir.st_uid != sb.st_uid)
			ret = error("database '%s' belongs to uid %lu, and the folder '%s' on its "
				    "path to uid %lu: either may have put it there; refusing (keep "
				    "the database in a folder of yours)",
				    path, (unsigned long)sb.st_uid, f, (unsigned long)dir.st_uid);
		below = dir.st_uid;
		if (slash == folder)
			break;
	}
	free(folder);
	return ret;
}

int store_refuse_untrusted(const char *path, const char *name)
{
	if (refuse_hard_links(name) < 0 || refuse_untrusted_db(path, name) < 0 ||
	    refuse_foreign_sidecars(path, name) < 0)
		return -1;
	return 0;
}
