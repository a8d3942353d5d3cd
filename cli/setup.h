/* setup.h — what every sending command needs before its first request:
 * the job (target, token, transport settings) and, with --emulator, the
 * embedded emulator it points at. */
#ifndef RABULK_SETUP_H
#define RABULK_SETUP_H

#include "cli/args.h"
#include "emulator/emu.h"
#include "engine/engine.h"

struct setup {
	struct job job;
	struct emu *emu;      /* --emulator, else NULL */
	bool seed_from_input; /* --emulator without --emulator-seed */
	char endpoint[256];
	char *token;
};

/* Fills s from the options: reads the token (--token-file must be 0600 and
 * yours, or RABULK_ACCESS_TOKEN), checks the endpoint (https, or http on
 * loopback), starts the embedded emulator. Returns 0, or a negative error
 * with err set; call setup_release() either way. */
int setup_init(struct setup *s, const struct options *o, char *err, size_t errlen);
void setup_release(struct setup *s);

#endif
