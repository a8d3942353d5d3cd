/* auth.h — the emulator's front door: TLS, client certificates, bearer tokens.
 *
 * What the real front end checked before any request reached the service:
 * a bearer token (a fixed one from --token, or one this emulator issued at
 * /_emulator/token that has not expired) or a management certificate
 * (a TLS client certificate issued by --client-ca). Expired tokens get 401
 * ExpiredAuthenticationToken so clients can refresh; everything else that
 * fails gets 403 AuthenticationFailed. It also holds the HTTPS material
 * (--tls-cert, --tls-key, --client-ca) that libmicrohttpd serves with. */
#ifndef RABULK_EMU_AUTH_H
#define RABULK_EMU_AUTH_H

#include "emulator/emu.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth {
	const char *token;     /* a fixed token that never expires, or NULL; borrowed */
	long token_ttl_ms;     /* > 0: issued tokens expire after this; also requires a token */
	long token_skew_ms;    /* front ends' clocks run up to this far ahead (--token-skew) */
	bool client_ca;	       /* a client certificate from the CA is required */
	bool idp;	       /* the identity provider is on: a token is required */
	unsigned char key[32]; /* signs issued tokens */
	char *pem_cert, *pem_key, *pem_ca; /* the PEM files' text, owned; NULL when not given */
};

/* Fills a from c (a's strings borrowed until auth_release()): a fresh
 * signing key, the token settings, the PEM files read. Returns 0, or
 * ERR_INVAL (a TLS option without its partner) or ERR_IO (a file that cannot
 * be read) with err set; call auth_release() either way. */
int auth_init(struct auth *a, const struct emu_config *c, char *err, size_t errlen);
/* Frees the PEM text, wiping the key's. A zeroed struct is fine. */
void auth_release(struct auth *a);
/* Checks one API request: 0 to go ahead, or 401/403 with code and message
 * set (static strings). skew (0 to 1) picks how far ahead, within
 * token_skew_ms, the clock of the front end answering it runs: an issued
 * token expires that much sooner for this request. Thread-safe. */
int auth_check(const struct auth *a, struct MHD_Connection *c, double skew, const char **code,
	       const char **message);
/* A new token valid for token_ttl_ms (1 h when unset): a JWT with exp, or
 * with opaque an `emu.<exp>.<sig>` string a client cannot read the expiry
 * from. Caller frees; NULL when out of memory. Thread-safe. */
char *auth_issue(const struct auth *a, bool opaque, int64_t now_ms);
/* Checks a token this emulator may have issued, on a clock reading now_ms:
 * 0 good, 401 expired, 403 not ours (or not a token). Thread-safe. */
int auth_verify(const struct auth *a, const char *tok, int64_t now_ms);

#endif
