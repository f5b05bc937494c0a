/*
 * standalone.c: runs a libFuzzer harness over files without libFuzzer, so
 * the seed corpus and every crash found so far are regression tests in a
 * build without -DFUZZ=ON (gcc, ASan, CI). Each argument is a file, or a
 * folder whose regular files are run in name order. Exits 0 when every
 * input ran; a crash aborts, as it would under libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strbuf.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	uint8_t *copy;

	if (!f)
		return error_errno("cannot open '%s'", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	if (ferror(f)) {
		fclose(f);
		strbuf_release(&sb);
		return error_errno("cannot read '%s'", path);
	}
	fclose(f);
	/* an exact-size copy, so ASan sees a read past the end */
	copy = xmalloc(sb.len ? sb.len : 1);
	memcpy(copy, sb.buf, sb.len);
	LLVMFuzzerTestOneInput(copy, sb.len);
	free(copy);
	strbuf_release(&sb);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	size_t runs = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **names;
		int n;

		if (stat(argv[i], &st) < 0) {
			error_errno("cannot stat '%s'", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			runs++;
			continue;
		}
		n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			error_errno("cannot read folder '%s'", argv[i]);
			return 1;
		}
		for (int k = 0; k < n; k++) {
			struct strbuf path = STRBUF_INIT;

			strbuf_addf(&path, "%s/%s", argv[i], names[k]->d_name);
			if (names[k]->d_name[0] != '.' && stat(path.buf, &st) == 0 &&
			    S_ISREG(st.st_mode)) {
				if (run_file(path.buf) < 0)
					return 1;
				runs++;
			}
			strbuf_release(&path);
			free(names[k]);
		}
		free(names);
	}
	printf("%zu inputs ran\n", runs);
	return 0;
}
