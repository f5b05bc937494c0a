/*
 * test_atomicfile.c: the target holds the old content or the new, never
 * half; the mode is the one asked for whatever the umask; an abort or a
 * failed commit leaves the target untouched and no temporary file behind.
 */
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/atomicfile.h"

static char dir[] = "/tmp/test_atomicfile.XXXXXX";

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_content(const char *path, const char *want)
{
	char got[64] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_string_equal(got, want);
}

/* Files in the folder, temporaries included. */
static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_atomicfile__commit_replaces_with_the_mode_asked(void **state)
{
	char path[256];
	struct atomic_file af;
	struct stat sb;
	mode_t old = umask(022);

	(void)state;
	path_in(path, sizeof(path), "a.csv");
	put(path, "old");
	assert_int_equal(atomic_file_begin(&af, path, 0600, NULL), 0);
	fputs("new", af.f);
	assert_content(path, "old"); /* a reader still sees the old file */
	assert_int_equal(entries(), 2);
	assert_int_equal(atomic_file_commit(&af), 0);
	umask(old);
	assert_content(path, "new");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(entries(), 1);
	unlink(path);
}

static void test_atomicfile__abort_leaves_the_target(void **state)
{
	char path[256];
	struct atomic_file af;

	(void)state;
	path_in(path, sizeof(path), "b.prom");
	put(path, "kept");
	assert_int_equal(atomic_file_begin(&af, path, 0644, "--metrics-file"), 0);
	fputs("lost", af.f);
	atomic_file_abort(&af);
	assert_content(path, "kept");
	assert_int_equal(entries(), 1);
	unlink(path);
}

static void test_atomicfile__failed_commit_leaves_the_target(void **state)
{
	char path[256], sub[256];
	struct atomic_file af;

	(void)state;
	/* The target is a folder by the time of the rename: rename(2) fails. */
	path_in(sub, sizeof(sub), "c");
	assert_int_equal(mkdir(sub, 0700), 0);
	path_in(path, sizeof(path), "c/x");
	put(path, "x");
	assert_int_equal(atomic_file_begin(&af, sub, 0600, NULL), 0);
	fputs("new", af.f);
	assert_int_equal(atomic_file_commit(&af), -1);
	assert_content(path, "x");
	assert_int_equal(entries(), 1);
	unlink(path);
	rmdir(sub);
}

static void test_atomicfile__refuses_a_folder_name(void **state)
{
	struct atomic_file af;
	char path[256];

	(void)state;
	path_in(path, sizeof(path), "d/");
	assert_int_equal(atomic_file_begin(&af, path, 0600, "--out"), -1);
	assert_int_equal(atomic_file_begin(&af, "", 0600, "--out"), -1);
	assert_int_equal(entries(), 0);
}

/*
 * The folder is opened once: swapping it for a symlink between begin and
 * commit moves nothing to the link's target (renameat, not rename).
 */
static void test_atomicfile__folder_swapped_for_a_link_midway(void **state)
{
	char sub[128], moved[128], elsewhere[128], path[256], check[256];
	struct atomic_file af;

	(void)state;
	path_in(sub, sizeof(sub), "sub");
	path_in(moved, sizeof(moved), "moved");
	path_in(elsewhere, sizeof(elsewhere), "elsewhere");
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	snprintf(path, sizeof(path), "%s/r.csv", sub);
	assert_int_equal(atomic_file_begin(&af, path, 0600, NULL), 0);
	fputs("rows", af.f);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(symlink(elsewhere, sub), 0);
	assert_int_equal(atomic_file_commit(&af), 0);
	snprintf(check, sizeof(check), "%s/r.csv", moved);
	assert_content(check, "rows");
	snprintf(check, sizeof(check), "%s/r.csv", elsewhere);
	assert_int_equal(access(check, F_OK), -1);
	unlink(sub);
	snprintf(check, sizeof(check), "%s/r.csv", moved);
	unlink(check);
	rmdir(moved);
	rmdir(elsewhere);
	assert_int_equal(entries(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_atomicfile__commit_replaces_with_the_mode_asked),
	    cmocka_unit_test(test_atomicfile__abort_leaves_the_target),
	    cmocka_unit_test(test_atomicfile__failed_commit_leaves_the_target),
	    cmocka_unit_test(test_atomicfile__refuses_a_folder_name),
	    cmocka_unit_test(test_atomicfile__folder_swapped_for_a_link_midway),
	};
	int ret;

	if (!mkdtemp(dir))
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return ret;
}
