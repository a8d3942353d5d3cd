/* auth.c — bearer tokens (HMAC-SHA256 signed, OpenSSL), client
 * certificates (verified by GnuTLS against libmicrohttpd's trust list) and
 * the PEM files HTTPS is served with.
 *
 * Issued tokens carry their own expiry and signature, so the emulator keeps
 * no token state: a token is good when its signature is this process's and
 * its expiry is in the future. */
#include "emulator/auth.h"
#include "engine/credential.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "engine/token.h"

#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TTL_MS 3600000L

/* Reads a whole (PEM) file for libmicrohttpd; caller frees; NULL on error. */
static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? malloc(1 << 20) : NULL;
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	if (f)
		fclose(f);
	if (!buf || n == 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

int auth_init(struct auth *a, const struct emu_config *c, char *err, size_t errlen)
{
	const char *files[] = {c->tls_cert, c->tls_key, c->client_ca};
	char **pems[] = {&a->pem_cert, &a->pem_key, &a->pem_ca};
	memset(a, 0, sizeof(*a));
	if (RAND_bytes(a->key, sizeof(a->key)) != 1)
		for (size_t i = 0; i < sizeof(a->key); i++) /* never on Linux; still a key */
			a->key[i] = (unsigned char)(clock_mono_ms() >> (i % 8));
	a->token = c->token;
	a->token_ttl_ms = c->token_ttl_ms;
	a->token_skew_ms = c->token_skew_ms;
	a->client_ca = c->client_ca != NULL;
	a->idp = c->idp;
	if (!c->tls_cert != !c->tls_key || (c->client_ca && !c->tls_cert)) {
		snprintf(err, errlen,
			 "--tls-cert and --tls-key go together (and --client-ca needs them)");
		return ERR_INVAL;
	}
	for (int i = 0; i < 3; i++)
		if (files[i] && !(*pems[i] = read_pem(files[i]))) {
			snprintf(err, errlen, "cannot read '%s'", files[i]);
			return ERR_IO;
		}
	return 0;
}

void auth_release(struct auth *a)
{
	free(a->pem_cert);
	free(a->pem_ca);
	if (a->pem_key)
		explicit_bzero(a->pem_key, strlen(a->pem_key));
	free(a->pem_key);
	a->pem_cert = a->pem_key = a->pem_ca = NULL;
}

static void sign(const struct auth *a, const char *data, size_t len, char *dst)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	HMAC(EVP_sha256(), a->key, sizeof(a->key), (const unsigned char *)data, len, md, &mdlen);
	credential_b64url(md, mdlen, dst);
}

char *auth_issue(const struct auth *a, bool opaque, int64_t now_ms)
{
	char payload[160], head[320], sig[64];
	unsigned jti = 0; /* two tokens issued in the same second differ */
	if (RAND_bytes((unsigned char *)&jti, sizeof(jti)) != 1)
		jti = (unsigned)now_ms;
	long ttl = a->token_ttl_ms > 0 ? a->token_ttl_ms : DEFAULT_TTL_MS;
	int64_t exp_ms = now_ms + ttl;
	if (opaque) {
		snprintf(head, sizeof(head), "emu.%lld", (long long)exp_ms);
	} else { /* exp is whole seconds in a JWT; round down, never past exp_ms */
		int n = snprintf(payload, sizeof(payload),
				 "{\"iss\":\"rabulk-emulator\",\"iat\":%lld,\"exp\":%lld,"
				 "\"jti\":\"%08x\"}",
				 (long long)(now_ms / 1000), (long long)(exp_ms / 1000), jti);
		char body[240];
		credential_b64url((const unsigned char *)payload, (size_t)n, body);
		snprintf(head, sizeof(head), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s", body);
	}
	sign(a, head, strlen(head), sig);
	size_t len = strlen(head) + strlen(sig) + 2;
	char *t = malloc(len);
	if (t)
		snprintf(t, len, "%s.%s", head, sig);
	return t;
}

/* 0 good, 401 expired (on a clock reading now_ms), 403 not ours. */
static int check_token(const struct auth *a, const char *tok, int64_t now_ms)
{
	char sig[64];
	int64_t exp_s, exp_ms;
	if (a->token && strcmp(tok, a->token) == 0)
		return 0;
	const char *dot = strrchr(tok, '.');
	if (!dot || dot - tok > 4096)
		return 403;
	sign(a, tok, (size_t)(dot - tok), sig);
	if (strcmp(sig, dot + 1) != 0)
		return 403;
	if (strncmp(tok, "emu.", 4) == 0)
		exp_ms = strtoll(tok + 4, NULL, 10);
	else if (token_jwt_exp(tok, &exp_s) == 0)
		exp_ms = exp_s * 1000;
	else
		return 403;
	return now_ms < exp_ms ? 0 : 401;
}

int auth_verify(const struct auth *a, const char *tok, int64_t now_ms)
{
	return check_token(a, tok, now_ms);
}

static bool good_client_cert(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned status = 0;
	return ci && ci->tls_session &&
	       gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) == 0 &&
	       status == 0;
}

int auth_check(const struct auth *a, struct MHD_Connection *c, double skew, const char **code,
	       const char **message)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	int64_t now = clock_wall_ms() + (int64_t)(skew * (double)a->token_skew_ms);
	int verdict = 0;
	if (a->client_ca && good_client_cert(c))
		verdict = 0; /* a management certificate */
	else if (a->token || a->token_ttl_ms > 0 || a->idp)
		verdict =
		    auth && strncmp(auth, "Bearer ", 7) == 0 ? check_token(a, auth + 7, now) : 403;
	else if (a->client_ca)
		verdict = 403;
	*code = verdict == 401 ? "ExpiredAuthenticationToken" : "AuthenticationFailed";
	*message = verdict == 401
		       ? "The access token has expired."
		       : "The server failed to authenticate the request. Verify that the "
			 "certificate is valid and is associated with this subscription.";
	return verdict;
}
