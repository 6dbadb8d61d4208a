/* The ALSA plugins' shared part (alsa_args.c). */
#ifndef DDESND_ALSA_ARGS_H
#define DDESND_ALSA_ARGS_H

#include <alsa/asoundlib.h>

/* The fields @what ("pcm", "card") and "server" of the plugin's @conf: 0 or -errno (said). */
int ddesnd_alsa_args(snd_config_t *conf, const char *what, const char **name,
		     const char **server);

#endif
