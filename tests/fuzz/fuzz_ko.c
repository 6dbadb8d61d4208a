/*
 * Coverage-guided fuzzing of the module reader and loader (make fuzz):
 * libFuzzer feeds arbitrary bytes to ko_parse, and whatever it accepts
 * goes on through everything else that reads a module (.modinfo,
 * sections, exports) and through ko_load, whose resolver provides every
 * import at a fixed low address. Nothing is executed. ASan and UBSan
 * watch every access: a crash, a leak or undefined behaviour is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ko/file.h>
#include <ko/load.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t resolve(void *ctx, const char *name)
{
	(void)ctx;
	/* a few names are missing, so the "imports nobody provides" path runs too */
	return name[0] == 'z' ? 0 : 0x10000000u + (uint64_t)(strlen(name) * 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ko_image img;
	struct ko_module m;
	char err[256];
	size_t sum = 0;

	if (ko_parse(data, size, &img, err, sizeof(err)) < 0)
		return 0;
	for (const char *v = ko_modinfo(&img, "alias", NULL); v; v = ko_modinfo(&img, "alias", v))
		sum += strlen(v);
	for (unsigned i = 0; i < img.nsec; i++) {
		int placed;

		sum += strlen(ko_section_treatment(&img, i, &placed)) + (unsigned)placed;
	}
	for (unsigned i = 0; i < img.nexp; i++)
		sum += ko_export_of(&img, img.exp[i].name) != NULL;
	for (unsigned i = 0; i < img.nver; i++)
		sum += ko_version_of(&img, img.ver[i].name) != NULL;
	sum += strlen(ko_machine_name(img.machine));
	if (ko_load(&img, resolve, NULL, &m, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < img.nexp; i++)
			sum += ko_export_address(&img, &m, i) != 0;
		sum += ko_symbol_address(&img, &m, "init_module") != 0;
		ko_unload(&m);
	}
	ko_free(&img);
	return sum == (size_t)-1;	/* keep the reads */
}
