/* setup.h — what every sending command needs before its first request:
 * the job (target, credentials, transport settings) and, with --emulator,
 * the embedded emulator it points at. */
#ifndef RABULK_SETUP_H
#define RABULK_SETUP_H

#include "cli/args.h"
#include "emulator/emu.h"
#include "engine/engine.h"
#include "input/input.h"
#include "engine/profile.h"
#include "engine/credential.h"

struct setup {
	struct engine_job job;
	struct emu *emu; /* --emulator, else NULL */
	/* Called for each row before it is sent, or NULL: --emulator without
	 * --emulator-seed gives the embedded emulator a session per row. */
	int (*row_hook)(void *arg, const struct input_row *row);
	void *row_hook_arg;
	char endpoint[512];
	char subscription[128];
	struct profile profile;
	struct token *token;
	char *cert_password;
	/* Entra ID, when the token comes from it (kind not CREDENTIAL_NONE):
	 * borrowed by token until setup_release(). */
	struct credential_config credential;
	const struct credential_cloud *cloud; /* --cloud, else AzureCloud */
};

/* Fills s from the options and the profile: picks the subscription and
 * endpoint, loads and checks the certificate, fetches the first token,
 * checks the endpoint (https, or http on loopback) with one TLS handshake,
 * or starts the embedded emulator. stop (NULL: none) may give up a
 * --token-command, now or at a later refresh (token_stop_fn). Returns 0,
 * ERR_STOPPED when stop gave up the first token (the rest is not set up),
 * or another negative error, with err set; call setup_release() either way. */
int setup_init(struct setup *s, const struct args *o, token_stop_fn *stop, char *err,
	       size_t errlen);
void setup_release(struct setup *s);

#endif
