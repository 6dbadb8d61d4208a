/*
 * Coverage-guided fuzzing of the UEFI image reader and loader (make
 * fuzz): libFuzzer feeds arbitrary bytes to efi_rom_scan and
 * efi_pe_parse (the whole input, and the PE32+ image an option ROM
 * holds), and whatever they accept goes on through efi_pe_load, which
 * places and relocates it into a buffer of its own, and the GUID scan.
 * Nothing is executed. ASan and UBSan watch every access: a crash, a
 * leak or undefined behaviour is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <efi/pe.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* above this, loading only repeats the smaller cases' work, slowly */
#define FUZZ_MAX_LOAD (16u << 20)

static void count_guid(const uint8_t guid[16], const char *name, unsigned count, void *ctx)
{
	size_t *sum = ctx;

	*sum += guid[0] + strlen(name) + count;
}

static size_t image(const uint8_t *data, size_t size)
{
	struct efi_image img;
	char err[256];
	size_t sum = 0;
	uint8_t *mem;

	if (efi_pe_parse(data, size, &img, err, sizeof(err)) < 0)
		return strlen(err);
	sum += strlen(efi_machine_name(img.machine)) + strlen(efi_subsystem_name(img.subsystem)) +
	       (unsigned)efi_machine_supported(img.machine);
	sum += efi_pe_guids(&img, count_guid, &sum);
	if (img.image_size > FUZZ_MAX_LOAD)
		return sum;
	mem = malloc(img.image_size);
	if (!mem)
		return sum;
	/* far from the link address (every fixup moves), or at it (none does) */
	if (efi_pe_load(&img, mem, size & 1 ? 0xffff800000000000ull : img.image_base,
			err, sizeof(err)) == 0)
		sum += mem[img.entry_rva];
	free(mem);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = image(data, size), off, len;
	char err[256];

	if (efi_rom_find(data, size, &off, &len, err, sizeof(err)) == 0)
		sum += image(data + off, len);
	return sum == (size_t)-1;	/* keep the reads */
}
