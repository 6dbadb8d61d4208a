/*
 * efi_rom_scan: the UEFI driver in a PCI option ROM (as QEMU's iPXE ROMs
 * carry one beside a legacy PXE image).
 *
 * A ROM file is a chain of images, each starting with 0x55 0xAA and
 * pointing (at 0x18) to its PCI Data Structure ("PCIR"), which gives the
 * image's length in 512-byte units, its code type (3: EFI) and whether it
 * is the last. An EFI image starts with the EFI expansion ROM header (the
 * PCI Firmware and UEFI specifications):
 *
 *	0x00 0xAA55			0x0c compression type (0: none)
 *	0x02 InitializationSize		0x0e reserved (8 bytes)
 *	0x04 0x0EF1 (u32)		0x16 EfiImageHeaderOffset
 *	0x08 subsystem			0x18 PCIR offset
 *	0x0a machine
 *
 * Every length and offset is checked against the file before use.
 */
#include <stdio.h>
#include <string.h>

#include <efi/pe.h>

#define ROM_UNIT		512
#define ROM_HEADER_SIZE		0x1a	/* up to and with the PCIR offset */
#define PCIR_MIN_SIZE		0x18	/* PCI 2.2's PCI Data Structure */
#define PCIR_LAST_IMAGE		0x80
#define ROM_CODE_EFI		3
#define EFI_ROM_SIGNATURE	0x0ef1

static const char *code_type_name(unsigned type)
{
	switch (type) {
	case 0: return "PC-AT BIOS";
	case 1: return "Open Firmware";
	case 2: return "PA-RISC";
	case ROM_CODE_EFI: return "EFI";
	default: return "unknown";
	}
}

/* image N's EFI header: where its PE32+ image is */
static int efi_header(const uint8_t *r, struct efi_rom *out, char *err, size_t errlen)
{
	const uint8_t *h = r + out->image_off;
	size_t init = (size_t)efi_le16(h + 2) * ROM_UNIT;
	uint16_t comp = efi_le16(h + 0x0c), pe = efi_le16(h + 0x16);

	if (efi_le32(h + 4) != EFI_ROM_SIGNATURE)
		return efi_fail(err, errlen, "option ROM image %u: EFI signature %#x, not 0x0EF1",
				out->index + 1, efi_le32(h + 4));
	if (comp == 1)
		return efi_fail(err, errlen, "option ROM image %u: the EFI image is compressed "
				"(compression type 1, UEFI compression): not supported", out->index + 1);
	if (comp)
		return efi_fail(err, errlen, "option ROM image %u: unknown compression type %u",
				out->index + 1, comp);
	/* the image proper ends at InitializationSize, within the ROM image */
	if (init > out->image_len)
		init = out->image_len;
	if (pe < ROM_HEADER_SIZE || pe >= init)
		return efi_fail(err, errlen, "option ROM image %u: EfiImageHeaderOffset %#x outside its "
				"%#zx bytes", out->index + 1, pe, init);
	out->pe_off = out->image_off + pe;
	out->pe_len = init - pe;
	return 0;
}

int efi_rom_scan(const void *rom, size_t size, struct efi_rom *out, char *err, size_t errlen)
{
	const uint8_t *r = rom;
	struct efi_rom best = { 0 }, cur;
	int have = 0;
	char kinds[128] = "";
	size_t pos = 0, klen = 0;

	memset(out, 0, sizeof(*out));
	if (size < 2 || r[0] != 0x55 || r[1] != 0xaa)
		return efi_fail(err, errlen, "not a PCI option ROM (no 0x55 0xAA signature)");
	/* N counts images from 1, as the messages name them */
	for (unsigned n = 1;; n++) {
		const uint8_t *h = r + pos, *pcir;
		size_t left = size - pos, pcir_off, len;
		unsigned type, last;

		if (left < ROM_HEADER_SIZE || h[0] != 0x55 || h[1] != 0xaa)
			return efi_fail(err, errlen, "option ROM image %u at %#zx: no 0x55 0xAA header "
					"(truncated?)", n, pos);
		pcir_off = efi_le16(h + 0x18);
		if (pcir_off > left || left - pcir_off < PCIR_MIN_SIZE)
			return efi_fail(err, errlen, "option ROM image %u: PCI data structure at %#zx beyond "
					"the end of the file", n, pos + pcir_off);
		pcir = h + pcir_off;
		if (memcmp(pcir, "PCIR", 4))
			return efi_fail(err, errlen, "option ROM image %u: no 'PCIR' structure at %#zx",
					n, pos + pcir_off);
		if (efi_le16(pcir + 0x0a) < PCIR_MIN_SIZE)
			return efi_fail(err, errlen, "option ROM image %u: PCI data structure of %u bytes",
					n, efi_le16(pcir + 0x0a));
		len = (size_t)efi_le16(pcir + 0x10) * ROM_UNIT;
		type = pcir[0x14];
		last = pcir[0x15] & PCIR_LAST_IMAGE;
		if (len < ROM_HEADER_SIZE)
			return efi_fail(err, errlen, "option ROM image %u: length 0", n);
		if (len > left)
			return efi_fail(err, errlen, "option ROM image %u: %#zx bytes at %#zx, beyond the end "
					"of the file (truncated?)", n, len, pos);
		if (pcir_off + PCIR_MIN_SIZE > len)
			return efi_fail(err, errlen, "option ROM image %u: its PCI data structure lies "
					"outside it", n);
		if (klen < sizeof(kinds))
			klen += (size_t)snprintf(kinds + klen, sizeof(kinds) - klen, "%s%s",
						 n > 1 ? ", " : "", code_type_name(type));

		memset(&cur, 0, sizeof(cur));
		cur.image_off = pos;
		cur.image_len = len;
		cur.index = n - 1;
		cur.vendor = efi_le16(pcir + 4);
		cur.device = efi_le16(pcir + 6);
		cur.subsystem = efi_le16(h + 0x08);
		cur.machine = efi_le16(h + 0x0a);
		/* the first EFI image, or a later one for a machine we run */
		if (type == ROM_CODE_EFI && (!have || (!efi_machine_supported(best.machine) &&
						       efi_machine_supported(cur.machine)))) {
			best = cur;
			have = 1;
		}
		pos += len;
		if (last || pos == size) {
			best.count = n;
			break;
		}
	}
	if (!have)
		return efi_fail(err, errlen, "no EFI image in the option ROM (%u image%s: %s)", best.count,
				best.count == 1 ? "" : "s", kinds);
	*out = best;
	return efi_header(r, out, err, errlen);
}

int efi_rom_find(const void *rom, size_t size, size_t *off, size_t *len, char *err, size_t errlen)
{
	struct efi_rom info;

	if (efi_rom_scan(rom, size, &info, err, errlen))
		return -1;
	*off = info.pe_off;
	*len = info.pe_len;
	return 0;
}
