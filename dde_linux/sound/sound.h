/* The sound class glue's parts: PCM streams (glue.c), the mixer (mixer.c). */
#ifndef DDE_SOUND_H
#define DDE_SOUND_H

#include <sound/core.h>
#include <lx_kit/snd.h>

/* Answer a CTL_* request of sndd's about @card's controls (NULL: it is gone). */
void lx_snd_serve_ctl(struct snd_card *card, const struct lx_kit_snd_request *req);

#endif
