/* auth.h — the emulator's front door: bearer tokens and client certificates.
 *
 * What the real front end checked before any request reached the service:
 * a bearer token (a fixed one from --token, or one this emulator issued at
 * /_emulator/token that has not expired) or a management certificate
 * (a TLS client certificate issued by --client-ca). Expired tokens get 401
 * ExpiredAuthenticationToken so clients can refresh; everything else that
 * fails gets 403 AuthenticationFailed. */
#ifndef RABULK_EMU_AUTH_H
#define RABULK_EMU_AUTH_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct emu_auth {
	const char *token;     /* a fixed token that never expires, or NULL */
	long token_ttl_ms;     /* > 0: issued tokens expire after this; also requires a token */
	long token_skew_ms;    /* front ends' clocks run up to this far ahead (--token-skew) */
	bool client_ca;	       /* a client certificate from the CA is required */
	unsigned char key[32]; /* signs issued tokens */
};

/* Fills the signing key. */
void emuauth_init(struct emu_auth *a);
/* Checks one API request: 0 to go ahead, or 401/403 with code and message
 * set. skew (0 to 1) picks how far ahead, within token_skew_ms, the clock
 * of the front end answering it runs: an issued token expires that much
 * sooner for this request. */
int emuauth_check(const struct emu_auth *a, struct MHD_Connection *c, double skew,
		  const char **code, const char **message);
/* A new token valid for token_ttl_ms (1 h when unset): a JWT with exp, or
 * with opaque an `emu.<exp>.<sig>` string a client cannot read the expiry
 * from. Caller frees; NULL when out of memory. */
char *emuauth_issue(const struct emu_auth *a, bool opaque, int64_t now_ms);
/* Reads a whole (PEM) file for libmicrohttpd; caller frees; NULL on error. */
char *emuauth_read_pem(const char *path);

#endif
