/* credential.h — bearer tokens from Entra ID, the way every Azure SDK gets
 * them (DESIGN section 9): a service principal's secret or certificate,
 * a workload identity's federated token, a managed identity, the Azure CLI.
 *
 * A credential is a source for the token module (token.h): the token's own
 * thread calls credential_fetch() for the first token, ahead of expiry and
 * after a 401, so no worker ever waits on Entra ID. What is pure (picking
 * a source from an environment given as data, building the client
 * assertion, reading token responses, the cloud table) is public so the
 * unit tests can reach it. Secrets (the client secret, the certificate's
 * key and password, every token) are never printed: messages name the
 * source and the client id. */
#ifndef RABULK_CREDENTIAL_H
#define RABULK_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A sovereign cloud: where to log in, and the service endpoints. */
struct credential_cloud {
	const char *name;	      /* "AzureCloud" */
	const char *authority;	      /* "https://login.microsoftonline.com" */
	const char *arm_endpoint;     /* "https://management.azure.com" */
	const char *arm_audience;     /* "https://management.azure.com/" */
	const char *classic_endpoint; /* "https://management.core.windows.net" (RemoteApp) */
	const char *classic_audience; /* "https://management.core.windows.net/" */
};

/* The cloud called name (case-insensitive), or NULL. Static; thread-safe. */
const struct credential_cloud *credential_cloud_find(const char *name);

enum credential_kind {
	CREDENTIAL_AUTO = 0,	    /* the chain, in DESIGN section 9's order */
	CREDENTIAL_SECRET,	    /* env: AZURE_CLIENT_SECRET (or _FILE) */
	CREDENTIAL_CERTIFICATE,	    /* env: AZURE_CLIENT_CERTIFICATE_PATH */
	CREDENTIAL_WORKLOAD,	    /* AZURE_FEDERATED_TOKEN_FILE */
	CREDENTIAL_APP_SERVICE,	    /* IDENTITY_ENDPOINT + IDENTITY_HEADER */
	CREDENTIAL_IMDS,	    /* the instance metadata service */
	CREDENTIAL_AZURE_CLI,	    /* az account get-access-token */
	CREDENTIAL_NONE,	    /* nothing found (not required) */
	CREDENTIAL_PICK_ENV,	    /* --credential env: secret or certificate */
	CREDENTIAL_PICK_MANAGED_ID, /* --credential managed-identity: App Service or IMDS */
};

/* --credential's word: env, workload, managed-identity, azure-cli (and auto).
 * token-file and token-command are the token module's own sources and are
 * not parsed here. Returns 0 or ERR_INVAL. */
int credential_pick_parse(const char *word, enum credential_kind *out);

/* What a credential needs, filled by credential_select(). Strings point
 * into the environment given (borrowed for as long as it lives) or into
 * the struct's own arrays; secret is owned (wiped by credential_free). */
struct credential_config {
	enum credential_kind kind;
	char authority[512]; /* https://host (no trailing slash); http only on loopback */
	const char *tenant, *client_id;
	const char *cert_path, *cert_password;
	const char *federated_file;
	char endpoint[512]; /* App Service's IDENTITY_ENDPOINT, or the IMDS URL */
	const char *identity_header;
	const char *audience;  /* the resource, "https://management.core.windows.net/" */
	const char *cacert;    /* extra CAs for the identity provider, or NULL */
	char az_command[1024]; /* the Azure CLI's command line (through /bin/sh) */
	long az_timeout_ms;    /* 10 s unless told */
	char *secret;	       /* AZURE_CLIENT_SECRET or its file's first line; owned */
	char looked_for[768];  /* CREDENTIAL_NONE: what was looked for, for the error */
};

/* Picks a source from env (a NULL-ended "NAME=value" array, as environ) for
 * pick (CREDENTIAL_AUTO: the first in the chain whose variables are set;
 * IMDS and the Azure CLI last, only when probe is true: IMDS answers a
 * 1 s probe, az is on env's PATH). cloud gives the default authority;
 * AZURE_AUTHORITY_HOST overrides it. Returns 0 with c filled (c->kind is
 * CREDENTIAL_NONE when the chain found nothing), or ERR_INVAL with err set
 * (a picked source whose variables are missing: which ones; a secret file
 * others may read; an http authority off loopback). Call
 * credential_config_release() either way. Not thread-safe (probes). */
int credential_select(const char *const *env, enum credential_kind pick,
		      const struct credential_cloud *cloud, const char *audience, bool probe,
		      struct credential_config *c, char *err, size_t errlen);
/* Wipes and frees the secret. */
void credential_config_release(struct credential_config *c);
/* The value of name in env ("NAME=value" strings), or NULL. */
const char *credential_env(const char *const *env, const char *name);

/* "client secret", "client certificate", ...: what --verbose and errors say. */
const char *credential_kind_name(enum credential_kind kind);

/* Runs cmd through /bin/sh for at most timeout_ms and puts its whole
 * standard output (terminated) in dst; 0, or a negative error with err
 * set. The token module's command runner: its process group, time limit
 * and stop. */
typedef int credential_run_fn(void *arg, const char *cmd, const char *what, long timeout_ms,
			      char *dst, size_t cap, char *err, size_t errlen);
/* True when a fetch under way should be given up (the run is stopping). */
typedef bool credential_stop_fn(void *arg);

struct credential_hooks {
	credential_run_fn *run;
	credential_stop_fn *stop;
	void *arg;
};

/* Fetches a token for c (on the calling thread: the token module's).
 * Returns 0 with dst (cap bytes) set and *exp_ms the expiry (Unix ms) the
 * answer gave (0: none), ERR_STOPPED when the hooks' stop said so, or
 * ERR_AUTH with err naming the source and saying what Entra ID said
 * (error, AADSTS description). Thread-safe for distinct c. */
int credential_fetch(const struct credential_config *c, const struct credential_hooks *h, char *dst,
		     size_t cap, int64_t *exp_ms, char *err, size_t errlen);

/* A one-line description: source and client id, never a secret. */
void credential_describe(const struct credential_config *c, char *dst, size_t cap);

/* ---- the pure parts (unit-tested) ------------------------------------ */

/* Reads a token answer: Entra ID's (access_token, expires_in as a number
 * or a string), managed identity's (expires_on as a string of epoch
 * seconds) or the Azure CLI's (accessToken with expires_on epoch seconds,
 * else expiresOn "YYYY-MM-DD HH:MM:SS[.ffffff]" local time). now_ms turns
 * expires_in into *exp_ms. Returns 0, or ERR_AUTH with err set to the
 * answer's error and error_description when it has them, else ERR_PARSE. */
int credential_parse_answer(const char *body, int64_t now_ms, char *dst, size_t cap,
			    int64_t *exp_ms, char *err, size_t errlen);
/* x5t of a DER certificate: base64url (no padding) of its SHA-1 into
 * dst (at least 28 bytes). */
void credential_x5t(const unsigned char *der, size_t len, char *dst);
/* The client assertion JWT (RS256) for client_id at token_url, signed
 * with key (an EVP_PKEY *) and naming cert (an X509 *) by x5t; jti fresh,
 * nbf now, exp now + 10 min. Caller frees; NULL on error. */
char *credential_assertion(void *key, void *cert, const char *client_id, const char *token_url,
			   int64_t now_s);
/* The client-credentials scope of a resource: "{resource}/.default", the
 * trailing slash of the resource dropped (https://management.azure.com/.default)
 * but for the classic management API's, whose app ID URI has it
 * (https://management.core.windows.net//.default). */
void credential_scope(const char *audience, char *dst, size_t cap);
/* base64url without padding of len bytes into dst (4/3 len + 4 bytes). */
void credential_b64url(const unsigned char *src, size_t len, char *dst);

#endif
