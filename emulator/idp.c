/* idp.c — Entra ID's token endpoint, IMDS and App Service's identity
 * endpoint, as far as rabulk's credential chain uses them.
 *
 * Registrations are read once at start and never change, so the routes
 * read them without a lock. A client assertion is checked the way Entra ID
 * does it: the header's x5t names a registered certificate, whose public
 * key must verify the RS256 signature; then the claims (iss = sub = the
 * client, aud = this token URL, nbf/exp around now, at most 10 minutes
 * apart, with 5 minutes of clock skew allowed). The certificate's own
 * dates are checked too: an expired one is refused (AADSTS700027). */
#include "emulator/idp.h"
#include "emulator/auth.h"
#include "emulator/reply.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "engine/credential.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IDP_MAX 64
#define SKEW_S 300
#define DEFAULT_TTL_MS 3600000L

struct idp_client {
	char id[128];
	char secret[256];    /* "" when none */
	bool federated;	     /* takes /_emulator/token's tokens as assertions */
	char x5t[32];	     /* "" when no certificate */
	EVP_PKEY *key;	     /* the certificate's public key */
	int64_t not_after_s; /* the certificate's */
};

struct idp {
	struct idp_client clients[IDP_MAX];
	int n;
	const char *identity_header;
};

static struct idp_client *client(struct idp *p, const char *id, size_t len)
{
	for (int i = 0; i < p->n; i++)
		if (strlen(p->clients[i].id) == len && strncmp(p->clients[i].id, id, len) == 0)
			return &p->clients[i];
	if (p->n == IDP_MAX || len >= sizeof(p->clients[0].id))
		return NULL;
	struct idp_client *c = &p->clients[p->n++];
	memcpy(c->id, id, len);
	return c;
}

static int load_cert(struct idp_client *c, const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	struct tm tm;
	if (f)
		fclose(f);
	int len = x ? i2d_X509(x, &der) : -1;
	if (len <= 0) {
		snprintf(err, n, "--idp-client-cert: cannot read a PEM certificate from '%s'",
			 path);
		X509_free(x);
		return ERR_IO;
	}
	credential_x5t(der, (size_t)len, c->x5t);
	OPENSSL_free(der);
	c->key = X509_get_pubkey(x);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		c->not_after_s = (int64_t)timegm(&tm);
	X509_free(x);
	return 0;
}

struct idp *idp_new(const struct emu_config *cf, char *err, size_t n)
{
	struct idp *p = calloc(1, sizeof(*p));
	int rc = p ? 0 : ERR_NOMEM;
	for (int i = 0; rc == 0 && i < cf->n_idp_clients; i++) {
		const char *s = cf->idp_clients[i], *colon = strchr(s, ':');
		struct idp_client *c = colon ? client(p, s, (size_t)(colon - s)) : NULL;
		if (!c || strlen(colon + 1) >= sizeof(c->secret)) {
			snprintf(err, n, "bad --idp-client '%s': want ID:SECRET", s);
			rc = ERR_INVAL;
		} else {
			snprintf(c->secret, sizeof(c->secret), "%s", colon + 1);
		}
	}
	for (int i = 0; rc == 0 && i < cf->n_idp_certs; i++) {
		const char *s = cf->idp_certs[i], *colon = strchr(s, ':');
		struct idp_client *c = colon ? client(p, s, (size_t)(colon - s)) : NULL;
		if (!c) {
			snprintf(err, n, "bad --idp-client-cert '%s': want ID:CERT.pem", s);
			rc = ERR_INVAL;
		} else {
			rc = load_cert(c, colon + 1, err, n);
		}
	}
	for (int i = 0; rc == 0 && i < cf->n_idp_federated; i++) {
		struct idp_client *c =
		    client(p, cf->idp_federated[i], strlen(cf->idp_federated[i]));
		if (c)
			c->federated = true;
		else
			rc = ERR_INVAL, snprintf(err, n, "too many --idp-* clients");
	}
	if (rc < 0) {
		if (rc == ERR_NOMEM)
			snprintf(err, n, "out of memory");
		idp_free(p);
		return NULL;
	}
	p->identity_header = cf->idp_identity_header;
	return p;
}

void idp_free(struct idp *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		EVP_PKEY_free(p->clients[i].key);
	free(p);
}

/* ---- answers --------------------------------------------------------- */

/* Entra ID's error body. */
static void aad_error(struct reply *r, int status, const char *error, int code, const char *fmt,
		      const char *arg)
{
	char desc[1024], full[1200];
	snprintf(desc, sizeof(desc), fmt, arg ? arg : "");
	snprintf(full, sizeof(full),
		 "AADSTS%d: %s\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\n"
		 "Correlation ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: %s",
		 code, desc, "2026-12-02 00:00:00Z");
	cJSON *o = cJSON_CreateObject(), *codes = cJSON_AddArrayToObject(o, "error_codes");
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddStringToObject(o, "error_description", full);
	cJSON_AddItemToArray(codes, cJSON_CreateNumber(code));
	cJSON_AddStringToObject(o, "trace_id", "00000000-0000-0000-0000-000000000000");
	cJSON_AddStringToObject(o, "correlation_id", "00000000-0000-0000-0000-000000000000");
	reply_take(r, status, "application/json; charset=utf-8", cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
}

static long ttl_ms(const struct route_ctx *x)
{
	return x->c->token_ttl_ms > 0 ? x->c->token_ttl_ms : DEFAULT_TTL_MS;
}

/* A token: Entra ID's numbers, or managed identity's strings. */
static void issue(const struct route_ctx *x, struct reply *r, bool strings, const char *resource)
{
	int64_t now = clock_wall_ms();
	char *tok = auth_issue(x->auth, false, now), num[32];
	int64_t exp_s = (now + ttl_ms(x)) / 1000; /* the JWT's exp, as auth_issue() rounds it */
	long s = (long)((exp_s * 1000 - now) / 1000);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token_type", "Bearer");
	if (strings) {
		snprintf(num, sizeof(num), "%ld", s);
		cJSON_AddStringToObject(o, "expires_in", num);
		snprintf(num, sizeof(num), "%lld", (long long)exp_s);
		cJSON_AddStringToObject(o, "expires_on", num);
		snprintf(num, sizeof(num), "%lld", (long long)(now / 1000));
		cJSON_AddStringToObject(o, "not_before", num);
		cJSON_AddStringToObject(o, "resource", resource ? resource : "");
	} else {
		cJSON_AddNumberToObject(o, "expires_in", (double)s);
		cJSON_AddNumberToObject(o, "ext_expires_in", (double)s);
	}
	cJSON_AddStringToObject(o, "access_token", tok ? tok : "");
	reply_take(r, 200, "application/json; charset=utf-8", cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
	free(tok);
}

/* ---- form and JWT parsing -------------------------------------------- */

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The decoded value of name in a form or query (caller frees), or NULL. */
static char *form_get(const char *form, size_t len, const char *name)
{
	size_t m = strlen(name);
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && form[end] != '&')
			end++;
		if (end - i > m && strncmp(form + i, name, m) == 0 && form[i + m] == '=') {
			char *out = malloc(end - i), *o = out;
			for (size_t k = i + m + 1; out && k < end; k++) {
				if (form[k] == '+')
					*o++ = ' ';
				else if (form[k] == '%' && k + 2 < end + 1 &&
					 hexval(form[k + 1]) >= 0 && hexval(form[k + 2]) >= 0)
					*o++ =
					    (char)(hexval(form[k + 1]) * 16 + hexval(form[k + 2])),
					k += 2;
				else
					*o++ = form[k];
			}
			if (out)
				*o = '\0';
			return out;
		}
		i = end + 1;
	}
	return NULL;
}

/* base64url to bytes (dst cap bytes); the length, or -1. */
static long unb64url(const char *s, size_t len, unsigned char *dst, size_t cap)
{
	char *t = calloc(1, len + 4);
	size_t n = 0;
	if (!t || (len + 3) / 4 * 3 > cap) {
		free(t);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		t[n++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4)
		t[n++] = '=';
	int out = EVP_DecodeBlock(dst, (unsigned char *)t, (int)n);
	if (out >= 0)
		for (size_t i = len; i < n && i > 0; i++)
			out--; /* EVP_DecodeBlock counts the padding as bytes */
	free(t);
	return out;
}

/* A JWT segment's JSON; NULL when it is not one. */
static cJSON *jwt_part(const char *s, size_t len)
{
	unsigned char buf[8192];
	long n = unb64url(s, len, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return cJSON_Parse((char *)buf);
}

static bool claim_is(const cJSON *o, const char *name, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static double claim_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Checks a certificate-signed assertion; 0, or the reply is set. */
static int check_assertion(const struct idp_client *c, const char *jwt, const char *token_url,
			   struct reply *r)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	cJSON *h = d1 ? jwt_part(jwt, (size_t)(d1 - jwt)) : NULL;
	cJSON *p = d2 ? jwt_part(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
	unsigned char sig[1024];
	long siglen = d2 ? unb64url(d2 + 1, strlen(d2 + 1), sig, sizeof(sig)) : -1;
	int64_t now = clock_wall_ms() / 1000;
	int rc = -1;
	if (!h || !p || siglen <= 0) {
		aad_error(r, 400, "invalid_request", 50027, "JWT token is invalid or malformed.%s",
			  NULL);
	} else if (!claim_is(h, "alg", "RS256") || !c->x5t[0] || !claim_is(h, "x5t", c->x5t)) {
		aad_error(r, 401, "invalid_client", 700027,
			  "The certificate with identifier used to sign the client assertion is "
			  "not registered on application. [Reason - The key was not found., "
			  "Application ID: %s]",
			  c->id);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		bool good = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, c->key) == 1 &&
			    EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)jwt,
					     (size_t)(d2 - jwt)) == 1;
		EVP_MD_CTX_free(md);
		double nbf = claim_num(p, "nbf"), exp = claim_num(p, "exp");
		if (!good)
			aad_error(r, 401, "invalid_client", 700027,
				  "Client assertion contains an invalid signature. [Reason - The "
				  "key was not found., Application ID: %s]",
				  c->id);
		else if (c->not_after_s && c->not_after_s < now)
			aad_error(r, 401, "invalid_client", 700027,
				  "Client assertion failed signature validation. [Reason - The "
				  "certificate used to sign it has expired., Application ID: %s]",
				  c->id);
		else if (!claim_is(p, "iss", c->id) || !claim_is(p, "sub", c->id))
			aad_error(r, 401, "invalid_client", 700023,
				  "Client assertion issuer and subject must be the client id %s.",
				  c->id);
		else if (!claim_is(p, "aud", token_url))
			aad_error(r, 401, "invalid_client", 700021,
				  "Client assertion audience claim does not match Realm issuer %s.",
				  token_url);
		else if (exp < 0 || nbf < 0 || exp - nbf > 600 + 1 || exp + SKEW_S < (double)now ||
			 nbf - SKEW_S > (double)now)
			aad_error(r, 401, "invalid_client", 700024,
				  "Client assertion is not within its valid time range.%s", NULL);
		else
			rc = 0;
	}
	cJSON_Delete(h);
	cJSON_Delete(p);
	return rc;
}

/* POST /{tenant}/oauth2/v2.0/token */
static void token_endpoint(const struct route_ctx *x, const struct route_request *q,
			   struct reply *r)
{
	const char *body = q->body ? q->body : "";
	char *grant = form_get(body, q->body_len, "grant_type");
	char *cid = form_get(body, q->body_len, "client_id");
	char *secret = form_get(body, q->body_len, "client_secret");
	char *assertion = form_get(body, q->body_len, "client_assertion");
	char *scope = form_get(body, q->body_len, "scope");
	const char *host = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Host");
	char url[1024];
	struct idp_client *c = NULL;
	snprintf(url, sizeof(url), "%s://%s/%s/oauth2/v2.0/token",
		 x->auth->pem_cert ? "https" : "http", host ? host : "", q->seg[0]);
	for (int i = 0; cid && i < x->idp->n; i++)
		if (strcmp(x->idp->clients[i].id, cid) == 0)
			c = (struct idp_client *)&x->idp->clients[i];
	if (!grant || strcmp(grant, "client_credentials") != 0)
		aad_error(r, 400, "unsupported_grant_type", 70003,
			  "The app requested an unsupported grant type '%s'.", grant);
	else if (!scope || !strstr(scope, "/.default"))
		aad_error(r, 400, "invalid_scope", 1002012,
			  "The provided value for scope %s is not valid. Client credential flows "
			  "must have a scope value with /.default suffixed to the resource "
			  "identifier (application ID URI).",
			  scope);
	else if (!c)
		aad_error(r, 400, "unauthorized_client", 700016,
			  "Application with identifier '%s' was not found in the directory. This "
			  "can happen if the application has not been installed by the "
			  "administrator of the tenant.",
			  cid);
	else if (secret && (!c->secret[0] || strcmp(secret, c->secret) != 0))
		aad_error(r, 401, "invalid_client", 7000215,
			  "Invalid client secret provided. Ensure the secret being sent in the "
			  "request is the client secret value, not the client secret ID, for a "
			  "secret added to app '%s'.",
			  c->id);
	else if (secret)
		issue(x, r, false, NULL);
	else if (!assertion)
		aad_error(r, 401, "invalid_client", 7000218,
			  "The request body must contain the following parameter: "
			  "'client_assertion' or 'client_secret'.%s",
			  NULL);
	else if (c->federated && !c->x5t[0]) {
		int v = auth_verify(x->auth, assertion, clock_wall_ms());
		if (v == 0)
			issue(x, r, false, NULL);
		else if (v == 401)
			aad_error(r, 400, "invalid_client", 700024,
				  "Client assertion is not within its valid time range.%s", NULL);
		else
			aad_error(r, 400, "invalid_request", 700211,
				  "No matching federated identity record found for presented "
				  "assertion issuer for application '%s'.",
				  c->id);
	} else if (check_assertion(c, assertion, url, r) == 0)
		issue(x, r, false, NULL);
	free(grant), free(cid), free(scope), free(assertion);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* GET /metadata/identity/oauth2/token (IMDS) and GET /msi/token (App Service). */
static void identity_endpoint(const struct route_ctx *x, const struct route_request *q,
			      struct reply *r, bool app_service)
{
	const char *meta = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Metadata");
	const char *ih = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "X-IDENTITY-HEADER");
	char *resource = form_get(q->query, strlen(q->query), "resource");
	const char *version = app_service ? "api-version=2019-08-01" : "api-version=2018-02-01";
	if (!app_service && (!meta || strcasecmp(meta, "true") != 0))
		reply_take(r, 400, "application/json; charset=utf-8",
			   strdup("{\"error\":\"invalid_request\",\"error_description\":"
				  "\"Required metadata header not specified\"}"));
	else if (app_service &&
		 (!x->idp->identity_header || !ih || strcmp(ih, x->idp->identity_header) != 0))
		reply_take(r, 401, "application/json; charset=utf-8",
			   strdup("{\"error\":\"unauthorized_client\",\"error_description\":"
				  "\"X-IDENTITY-HEADER is missing or wrong\"}"));
	else if (!route_query_has(q->query, version) || !resource || !resource[0])
		reply_take(r, 400, "application/json; charset=utf-8",
			   strdup("{\"error\":\"invalid_request\",\"error_description\":"
				  "\"api-version or resource missing or wrong\"}"));
	else
		issue(x, r, true, resource);
	free(resource);
}

static bool serve(const struct route_ctx *x, const struct route_request *q, struct reply *r)
{
	if (!x->idp)
		return false;
	if (q->nseg == 4 && strcmp(q->seg[1], "oauth2") == 0 && strcmp(q->seg[2], "v2.0") == 0 &&
	    strcmp(q->seg[3], "token") == 0 && route_method(q, "POST"))
		token_endpoint(x, q, r);
	else if (q->nseg == 4 && strcmp(q->seg[0], "metadata") == 0 &&
		 strcmp(q->seg[1], "identity") == 0 && strcmp(q->seg[2], "oauth2") == 0 &&
		 strcmp(q->seg[3], "token") == 0 && route_method(q, "GET"))
		identity_endpoint(x, q, r, false);
	else if (q->nseg == 2 && strcmp(q->seg[0], "msi") == 0 && strcmp(q->seg[1], "token") == 0 &&
		 route_method(q, "GET"))
		identity_endpoint(x, q, r, true);
	else
		return false;
	return true;
}

const struct route_service idp_routes = {.name = "idp", .serve = serve};
