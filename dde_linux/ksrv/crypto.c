/*
 * The crypto API as binary modules see it here: a kernel with no crypto
 * algorithm registered. Modules that prefer an accelerated algorithm and
 * fall back to a generic one (crc-t10dif under nvme-core's t10-pi) ask,
 * learn there is none, and use their fallback; no algorithm ever comes,
 * so no notifier ever fires.
 */
#include <crypto/hash.h>
#include <linux/crypto.h>
#include <linux/export.h>
#include <linux/jump_label.h>
#include <linux/notifier.h>

int crypto_register_notifier(struct notifier_block *nb)
{
	return 0;
}

int crypto_unregister_notifier(struct notifier_block *nb)
{
	return 0;
}

struct crypto_shash *crypto_alloc_shash(const char *alg_name, u32 type, u32 mask)
{
	return ERR_PTR(-ENOENT);
}

/* only ever given what an allocation returned: none succeeds */
void crypto_destroy_tfm(void *mem, struct crypto_tfm *tfm)
{
	WARN_ON_ONCE(!IS_ERR_OR_NULL(mem));
}

int crypto_shash_update(struct shash_desc *desc, const u8 *data, unsigned int len)
{
	WARN_ONCE(1, "crypto_shash_update without an algorithm");
	return -ENOENT;
}

/*
 * Static keys: a module's jump labels are not patched (the loader leaves
 * each branch as compiled, docs/ko.md), so a key may not change state
 * under module code. Changing one stops the driver, naming the key's place.
 */
static void key_changes(struct static_key *key, const char *what)
{
	panic("%s(%ps): binary module code keeps its static branches as compiled; "
	      "this key cannot change", what, key);
}

void static_key_disable(struct static_key *key)
{
	if (static_key_enabled(key))
		key_changes(key, "static_key_disable");
}

void static_key_enable(struct static_key *key)
{
	if (!static_key_enabled(key))
		key_changes(key, "static_key_enable");
}
