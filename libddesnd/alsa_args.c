/*
 * The ALSA plugins' configuration (pcm.dde, ctl.dde): what to open (the
 * PCM's or the card's name, field @what) and the server, both strings,
 * "" when not given; every other field is refused in one line.
 */
#include <errno.h>
#include <string.h>

#include <alsa/asoundlib.h>

#include <ddesnd/ddesnd.h>
#include "alsa_args.h"

int ddesnd_alsa_args(snd_config_t *conf, const char *what, const char **name,
		     const char **server)
{
	snd_config_iterator_t i, next;

	*name = *server = "";
	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id, **v = NULL;

		if (snd_config_get_id(n, &id) < 0 || !strcmp(id, "comment") ||
		    !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, what))
			v = name;
		else if (!strcmp(id, "server"))
			v = server;
		if (!v) {
			SNDERR("dde: unknown field '%s' (the plugin takes %s and server)", id, what);
			return -EINVAL;
		}
		if (snd_config_get_string(n, v) < 0) {
			SNDERR("dde: %s must be a string", id);
			return -EINVAL;
		}
	}
	if (strlen(*name) >= DDESND_NAME) {
		SNDERR("dde: no %s has a name as long as '%s'", !strcmp(what, "pcm") ? "PCM" : what,
		       *name);
		return -ENOENT;
	}
	return 0;
}
