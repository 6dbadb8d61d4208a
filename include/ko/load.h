/*
 * ko_load: placing a checked module in memory and linking it (ko/load.c).
 */
#ifndef KO_LOAD_H
#define KO_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <ko/ko.h>

/* the address of import NAME, or 0 if the caller does not provide it */
typedef uint64_t (*ko_resolve_fn)(void *ctx, const char *name);

struct ko_module {
	uintptr_t base;			/* one mapping below 2 GiB */
	size_t size, text_size, ro_size;
	uint64_t *addr;			/* per section; 0 if not placed */
	uint64_t this_module;		/* struct module, relocated */
	unsigned relocs;		/* applied */
	unsigned patched;		/* call sites patched as Linux does (ko/load.c) */
};

/*
 * Place IMG (from ko_parse) and link it: every import through RESOLVE.
 * 0, or -1 with one line in ERR (all missing imports at once, or the
 * first relocation that does not fit) and nothing left mapped.
 */
int ko_load(const struct ko_image *img, ko_resolve_fn resolve, void *ctx, struct ko_module *m,
	    char *err, size_t errlen);
void ko_unload(struct ko_module *m);

/* where the module's own symbol NAME (or export I) ended up; 0 if nowhere */
uint64_t ko_symbol_address(const struct ko_image *img, const struct ko_module *m, const char *name);
uint64_t ko_export_address(const struct ko_image *img, const struct ko_module *m, unsigned i);

/* where symbol I is if it is a function placed with the code, whole; else 0 */
uint64_t ko_function_address(const struct ko_image *img, const struct ko_module *m, unsigned i);

#endif
