/*
 * EFI_DEVICE_PATH_UTILITIES_PROTOCOL: edk2's drivers build their
 * children's device paths with it (their device path library locates it
 * at start and calls through it, so a firmware without it crashes them).
 * Paths are allocated from the pool, as the spec says, and every walk is
 * bounded: a path without an end within 64 KiB or with a node shorter
 * than its header is treated as no path.
 */
#define _GNU_SOURCE
#include <string.h>

#include <efi/guids.h>

#include "host.h"

#define PATH_MAX_BYTES 65536

struct devpath_utilities {
	void *get_device_path_size, *duplicate_device_path, *append_device_path,
		*append_device_node, *append_device_path_instance, *get_next_device_path_instance,
		*is_device_path_multi_instance, *create_device_node;
};

typedef struct efi_device_path_protocol dp;

static unsigned node_len(const dp *p)
{
	const uint8_t *b = (const uint8_t *)p;

	return b[2] | b[3] << 8;
}

static bool end_entire(const dp *p)
{
	return p->type == 0x7f && p->sub_type == 0xff;
}

static bool end_any(const dp *p)
{
	return p->type == 0x7f;
}

/* the whole path's size with its end node, or 0 if it is malformed */
static uint64_t size_of(const dp *p)
{
	uint64_t n = 0;

	if (!p)
		return 0;
	for (;;) {
		const dp *q = (const dp *)((const uint8_t *)p + n);
		unsigned len = node_len(q);

		if (len < 4 || n + len > PATH_MAX_BYTES)
			return 0;
		n += len;
		if (end_entire(q))
			return n;
	}
}

static dp *end_node(dp *p)
{
	p->type = 0x7f;
	p->sub_type = 0xff;
	p->length[0] = 4;
	p->length[1] = 0;
	return p;
}

static EFIAPI uint64_t get_size(const dp *p)
{
	return size_of(p);
}

static EFIAPI dp *duplicate(const dp *p)
{
	uint64_t n = size_of(p);
	dp *q;

	if (!n || !(q = efi_pool(n)))
		return NULL;
	memcpy(q, p, n);
	return q;
}

static EFIAPI dp *append_path(const dp *a, const dp *b)
{
	uint64_t na, nb;
	dp *q;

	if (!a && !b) {
		q = efi_pool(4);
		return q ? end_node(q) : NULL;
	}
	if (!a)
		return duplicate(b);
	if (!b)
		return duplicate(a);
	na = size_of(a);
	nb = size_of(b);
	if (!na || !nb)
		return NULL;
	/* a's end node goes: b's nodes follow a's */
	q = efi_pool(na - 4 + nb);
	if (!q)
		return NULL;
	memcpy(q, a, na - 4);
	memcpy((uint8_t *)q + na - 4, b, nb);
	return q;
}

static EFIAPI dp *append_node(const dp *a, const dp *node)
{
	uint8_t buf[PATH_MAX_BYTES / 16];
	unsigned len;

	if (!node)
		return a ? duplicate(a) : append_path(NULL, NULL);
	len = node_len(node);
	if (len < 4 || len + 4 > sizeof(buf))
		return NULL;
	memcpy(buf, node, len);
	end_node((dp *)(buf + len));
	return append_path(a ? a : (const dp *)(buf + len), (const dp *)buf);
}

static EFIAPI dp *append_instance(const dp *a, const dp *instance)
{
	uint64_t na, ni;
	dp *q;

	if (!instance)
		return NULL;
	if (!a)
		return duplicate(instance);
	na = size_of(a);
	ni = size_of(instance);
	if (!na || !ni)
		return NULL;
	q = efi_pool(na + ni);
	if (!q)
		return NULL;
	memcpy(q, a, na);
	/* a's end becomes an end of instance */
	((dp *)((uint8_t *)q + na - 4))->sub_type = 0x01;
	memcpy((uint8_t *)q + na, instance, ni);
	return q;
}

static EFIAPI dp *next_instance(dp **path, uint64_t *size)
{
	dp *p, *q;
	uint64_t n = 0;

	if (!path || !*path || !size)
		return NULL;
	p = *path;
	for (;;) {
		dp *node = (dp *)((uint8_t *)p + n);
		unsigned len = node_len(node);

		if (len < 4 || n + len > PATH_MAX_BYTES)
			return NULL;
		if (end_any(node)) {
			q = efi_pool(n + 4);
			if (!q)
				return NULL;
			memcpy(q, p, n);
			end_node((dp *)((uint8_t *)q + n));
			*size = n + 4;
			*path = end_entire(node) ? NULL : (dp *)((uint8_t *)node + len);
			return q;
		}
		n += len;
	}
}

static EFIAPI uint8_t multi_instance(const dp *p)
{
	uint64_t n = 0;

	for (;;) {
		const dp *q = (const dp *)((const uint8_t *)p + n);
		unsigned len = p ? node_len(q) : 0;

		if (len < 4 || n + len > PATH_MAX_BYTES)
			return 0;
		if (q->type == 0x7f && q->sub_type == 0x01)
			return 1;
		if (end_entire(q))
			return 0;
		n += len;
	}
}

static EFIAPI dp *create_node(uint8_t type, uint8_t sub_type, uint16_t length)
{
	dp *q;

	if (length < 4 || !(q = efi_pool(length)))
		return NULL;
	memset(q, 0, length);
	q->type = type;
	q->sub_type = sub_type;
	q->length[0] = (uint8_t)length;
	q->length[1] = (uint8_t)(length >> 8);
	return q;
}

int efi_devpath_init(void)
{
	static struct devpath_utilities u;
	efi_handle h = NULL;

	u.get_device_path_size = EFI_EXPORT(get_size, 1);
	u.duplicate_device_path = EFI_EXPORT(duplicate, 1);
	u.append_device_path = EFI_EXPORT(append_path, 2);
	u.append_device_node = EFI_EXPORT(append_node, 2);
	u.append_device_path_instance = EFI_EXPORT(append_instance, 2);
	u.get_next_device_path_instance = EFI_EXPORT(next_instance, 2);
	u.is_device_path_multi_instance = EFI_EXPORT(multi_instance, 1);
	u.create_device_node = EFI_EXPORT(create_node, 3);
	return efi_install(&h, &EFI_GUID_DEVICE_PATH_UTILITIES, &u) ? -1 : 0;
}
