/*
 * Linked into every program of a SANITIZE build (see the Makefile).
 *
 * GCC's UBSan runtime (libubsan) sits beside ASan's (libasan) and each has
 * its own report file. libubsan sets its file from UBSAN_OPTIONS=log_path
 * by calling __sanitizer_set_report_path, which binds to libasan's copy:
 * ASan's reports go to that path and UBSan's stay on stderr. Here we set
 * libubsan's own to the same path + ".ubsan" (one file each: PATH.PID and
 * PATH.ubsan.PID; a shared file would be truncated by the second writer).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void ubsan_report_path(void)
{
	const char *opts = getenv("UBSAN_OPTIONS"), *p;
	char path[4096];
	void *ubsan;
	void (*set_path)(const char *);
	size_t n;

	if (!opts || !(p = strstr(opts, "log_path=")))
		return;
	p += strlen("log_path=");
	n = strcspn(p, ": ");
	if (n == 0 || n + sizeof(".ubsan") > sizeof(path))
		return;
	memcpy(path, p, n);
	memcpy(path + n, ".ubsan", sizeof(".ubsan"));
	ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!ubsan)
		return;
	*(void **)&set_path = dlsym(ubsan, "__sanitizer_set_report_path");
	if (set_path)
		set_path(path);
	dlclose(ubsan);
}
