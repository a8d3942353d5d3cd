/* credential.c — Entra ID's token sources, natively: libcurl for the
 * requests, cJSON for the answers, OpenSSL for the client assertion.
 *
 * Picking a source (credential_select) only reads variables, a secret file
 * and, for the chain's last two, a 1 s probe of IMDS and a look along PATH
 * for az, so it can run before anything is sent and the error for a
 * missing source is immediate. Fetching (credential_fetch) runs on the
 * token module's thread: one blocking request with its own time limits,
 * given up through the stop hook (a progress callback) when the run is
 * interrupted. The Azure CLI is run by the token module's command runner,
 * so it gets the same process group, time limit and stop as
 * --token-command.
 *
 * Each fetch starts from the files again: the certificate and its key are
 * read and a fresh assertion (new jti) is signed; a federated token file
 * (Kubernetes rotates it about hourly) is read anew, so a rotated file is
 * what the next refresh sends. */
#include "engine/credential.h"
#include "engine/cert.h"
#include "engine/token.h"
#include "lib/clock.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX 65536
#define HTTP_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define IMDS_PROBE_MS 1000
#define AZ_TIMEOUT_MS 10000
#define ASSERTION_LIFE_S 600
#define RETRIES 3 /* of a busy answer (429, 5xx) */
#define IMDS_HOST "http://169.254.169.254"

static const struct credential_cloud clouds[] = {
    {"AzureCloud", "https://login.microsoftonline.com", "https://management.azure.com",
     "https://management.azure.com/", "https://management.core.windows.net",
     "https://management.core.windows.net/"},
    {"AzureUSGovernment", "https://login.microsoftonline.us",
     "https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net/",
     "https://management.core.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/"},
    {"AzureChinaCloud", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn",
     "https://management.chinacloudapi.cn/", "https://management.core.chinacloudapi.cn",
     "https://management.core.chinacloudapi.cn/"},
};

const struct credential_cloud *credential_cloud_find(const char *name)
{
	for (size_t i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
		if (name && strcasecmp(name, clouds[i].name) == 0)
			return &clouds[i];
	return NULL;
}

int credential_pick_parse(const char *word, enum credential_kind *out)
{
	static const struct {
		const char *word;
		enum credential_kind kind;
	} words[] = {{"auto", CREDENTIAL_AUTO},
		     {"env", CREDENTIAL_PICK_ENV},
		     {"workload", CREDENTIAL_WORKLOAD},
		     {"managed-identity", CREDENTIAL_PICK_MANAGED_ID},
		     {"azure-cli", CREDENTIAL_AZURE_CLI}};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i].word) == 0) {
			*out = words[i].kind;
			return 0;
		}
	return ERR_INVAL;
}

const char *credential_kind_name(enum credential_kind k)
{
	switch (k) {
	case CREDENTIAL_SECRET:
		return "client secret (env)";
	case CREDENTIAL_CERTIFICATE:
		return "client certificate (env)";
	case CREDENTIAL_WORKLOAD:
		return "workload identity";
	case CREDENTIAL_APP_SERVICE:
		return "managed identity (App Service)";
	case CREDENTIAL_IMDS:
		return "managed identity (IMDS)";
	case CREDENTIAL_AZURE_CLI:
		return "Azure CLI";
	default:
		return "no credential";
	}
}

const char *credential_env(const char *const *env, const char *name)
{
	size_t len = strlen(name);
	for (; env && *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return (*env)[len + 1] ? *env + len + 1 : NULL;
	return NULL;
}

/* ---- picking a source ------------------------------------------------ */

static bool loopback_host(const char *rest)
{
	static const char *const hosts[] = {"127.", "localhost:", "localhost/", "[::1]"};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strncasecmp(rest, hosts[i], strlen(hosts[i])) == 0)
			return true;
	return strcasecmp(rest, "localhost") == 0;
}

/* dst = url with a scheme (https:// when none) and no trailing slash;
 * http only on loopback. */
static int base_url(const char *what, const char *url, char *dst, size_t cap, char *err, size_t n)
{
	bool http = strncasecmp(url, "http://", 7) == 0;
	bool has_scheme = http || strncasecmp(url, "https://", 8) == 0;
	snprintf(dst, cap, "%s%s", has_scheme ? "" : "https://", url);
	size_t len = strlen(dst);
	while (len > 8 && dst[len - 1] == '/')
		dst[--len] = '\0';
	/* IMDS is plain http on a link-local address that never leaves the host */
	bool imds = strncmp(what, "AZURE_POD", 9) == 0 && strcmp(dst, IMDS_HOST) == 0;
	if (strstr(dst + 8, "://") || (http && !loopback_host(dst + 7) && !imds)) {
		snprintf(err, n, "bad %s '%s': want https:// (http:// only for loopback)", what,
			 url);
		return ERR_INVAL;
	}
	return 0;
}

/* An executable az on env's PATH. */
static bool az_on_path(const char *const *env)
{
	const char *path = credential_env(env, "PATH");
	char dir[4096], file[4200];
	for (const char *p = path; p && *p;) {
		size_t len = strcspn(p, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)len, p);
		snprintf(file, sizeof(file), "%s/az", len ? dir : ".");
		if (access(file, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* Whether something answers HTTP at IMDS's address within a second (any
 * status: without the Metadata header it is a 400). */
static bool imds_answers(const char *base)
{
	char url[600];
	long status = 0;
	CURL *e = curl_easy_init();
	if (!e)
		return false;
	snprintf(url, sizeof(url), "%s/metadata/identity/oauth2/token", base);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)IMDS_PROBE_MS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	bool ok = curl_easy_perform(e) == CURLE_OK &&
		  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status > 0;
	curl_easy_cleanup(e);
	return ok;
}

/* Lists in dst what is missing of names (NULL-ended, with values vals). */
static void missing(char *dst, size_t cap, const char *const *names, const char *const *vals)
{
	size_t len = 0;
	dst[0] = '\0';
	for (int i = 0; names[i]; i++)
		if (!vals[i] && len < cap)
			len += (size_t)snprintf(dst + len, cap - len, "%s%s", len ? ", " : "",
						names[i]);
}

static int read_secret(struct credential_config *c, const char *file, char *err, size_t n)
{
	char buf[4096];
	if (token_read_file(file, buf, sizeof(buf), err, n) < 0)
		return ERR_INVAL;
	c->secret = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return c->secret ? 0 : ERR_NOMEM;
}

int credential_select(const char *const *env, enum credential_kind pick,
		      const struct credential_cloud *cloud, const char *audience, bool probe,
		      struct credential_config *c, char *err, size_t n)
{
	const char *tenant = credential_env(env, "AZURE_TENANT_ID");
	const char *cid = credential_env(env, "AZURE_CLIENT_ID");
	const char *secret = credential_env(env, "AZURE_CLIENT_SECRET");
	const char *secret_file = credential_env(env, "AZURE_CLIENT_SECRET_FILE");
	const char *cert = credential_env(env, "AZURE_CLIENT_CERTIFICATE_PATH");
	const char *fed = credential_env(env, "AZURE_FEDERATED_TOKEN_FILE");
	const char *ie = credential_env(env, "IDENTITY_ENDPOINT");
	const char *ih = credential_env(env, "IDENTITY_HEADER");
	const char *pod = credential_env(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST");
	const char *ah = credential_env(env, "AZURE_AUTHORITY_HOST");
	const char *sec = secret ? secret : secret_file;
	char imds[512];
	int rc;
	memset(c, 0, sizeof(*c));
	c->kind = CREDENTIAL_NONE;
	c->tenant = tenant, c->client_id = cid, c->audience = audience;
	c->cert_password = credential_env(env, "AZURE_CLIENT_CERTIFICATE_PASSWORD");
	c->az_timeout_ms = AZ_TIMEOUT_MS;
	if (!cloud)
		cloud = &clouds[0];
	if ((rc = base_url("AZURE_AUTHORITY_HOST", ah ? ah : cloud->authority, c->authority,
			   sizeof(c->authority), err, n)) < 0)
		return rc;
	if ((rc = base_url("AZURE_POD_IDENTITY_AUTHORITY_HOST", pod ? pod : IMDS_HOST, imds,
			   sizeof(imds), err, n)) < 0)
		return rc;
	bool env_ok = tenant && cid && (sec || cert);
	bool wl_ok = fed && cid && tenant;
	bool as_ok = ie && ih;
	enum credential_kind k = CREDENTIAL_NONE;
	switch (pick) {
	case CREDENTIAL_AUTO:
		k = env_ok  ? (sec ? CREDENTIAL_SECRET : CREDENTIAL_CERTIFICATE)
		    : wl_ok ? CREDENTIAL_WORKLOAD
		    : as_ok ? CREDENTIAL_APP_SERVICE
		    : probe && imds_answers(imds) ? CREDENTIAL_IMDS
		    : probe && az_on_path(env)	  ? CREDENTIAL_AZURE_CLI
						  : CREDENTIAL_NONE;
		break;
	case CREDENTIAL_PICK_ENV:
		if (!env_ok) {
			const char *names[] = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID",
					       "AZURE_CLIENT_SECRET (or AZURE_CLIENT_SECRET_FILE, "
					       "or AZURE_CLIENT_CERTIFICATE_PATH)",
					       NULL};
			const char *vals[] = {tenant, cid, sec ? sec : cert};
			char list[400];
			missing(list, sizeof(list), names, vals);
			snprintf(err, n, "--credential env: %s not set", list);
			return ERR_INVAL;
		}
		k = sec ? CREDENTIAL_SECRET : CREDENTIAL_CERTIFICATE;
		break;
	case CREDENTIAL_WORKLOAD:
		if (!wl_ok) {
			const char *names[] = {"AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID",
					       "AZURE_TENANT_ID", NULL};
			const char *vals[] = {fed, cid, tenant};
			char list[400];
			missing(list, sizeof(list), names, vals);
			snprintf(err, n, "--credential workload: %s not set", list);
			return ERR_INVAL;
		}
		k = CREDENTIAL_WORKLOAD;
		break;
	case CREDENTIAL_PICK_MANAGED_ID:
		k = as_ok ? CREDENTIAL_APP_SERVICE : CREDENTIAL_IMDS;
		break;
	default:
		k = pick;
	}
	c->kind = k;
	switch (k) {
	case CREDENTIAL_SECRET:
		if (secret && !(c->secret = strdup(secret)))
			return ERR_NOMEM;
		return secret ? 0 : read_secret(c, secret_file, err, n);
	case CREDENTIAL_CERTIFICATE: {
		struct cert_info ci;
		c->cert_path = cert;
		rc = cert_load(cert, NULL, c->cert_password, &ci, err, n);
		char *tail = rc < 0 ? strstr(err, "upload it to the subscription") : NULL;
		if (rc == ERR_INVAL && strstr(err, "RABULK_CERT_PASSWORD")) /* the wrong name */
			snprintf(err, n,
				 "cannot open AZURE_CLIENT_CERTIFICATE_PATH '%s': wrong or missing "
				 "AZURE_CLIENT_CERTIFICATE_PASSWORD?",
				 cert);
		else if (rc < 0 && strstr(err, "--key")) /* no --key for this one */
			snprintf(err, n,
				 "AZURE_CLIENT_CERTIFICATE_PATH '%s' must hold the certificate and "
				 "its private key (PEM), or be a PKCS#12",
				 cert);
		else if (tail) /* an app registration's, not a subscription's */
			snprintf(tail, n - (size_t)(tail - err),
				 "register the new one with the app");
		return rc;
	}
	case CREDENTIAL_WORKLOAD:
		c->federated_file = fed;
		return 0;
	case CREDENTIAL_APP_SERVICE:
		c->identity_header = ih;
		return base_url("IDENTITY_ENDPOINT", ie, c->endpoint, sizeof(c->endpoint), err, n);
	case CREDENTIAL_IMDS:
		snprintf(c->endpoint, sizeof(c->endpoint), "%s/metadata/identity/oauth2/token",
			 imds);
		return 0;
	case CREDENTIAL_AZURE_CLI:
		snprintf(c->az_command, sizeof(c->az_command),
			 "az account get-access-token --resource '%s' --output json", audience);
		if (!strchr(audience, '\''))
			return 0;
		snprintf(err, n, "bad audience '%s' for az", audience);
		return ERR_INVAL;
	default:
		snprintf(c->looked_for, sizeof(c->looked_for),
			 "no credential found: looked for --token-file, --token-command, "
			 "RABULK_ACCESS_TOKEN, AZURE_TENANT_ID + AZURE_CLIENT_ID + "
			 "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, "
			 "AZURE_FEDERATED_TOKEN_FILE (workload identity), IDENTITY_ENDPOINT + "
			 "IDENTITY_HEADER, the instance metadata service at %s%s",
			 imds, probe ? " (no answer in 1 s), and az on PATH" : ", and az on PATH");
		return 0;
	}
}

void credential_config_release(struct credential_config *c)
{
	if (c->secret) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	c->secret = NULL;
}

void credential_describe(const struct credential_config *c, char *dst, size_t cap)
{
	switch (c->kind) {
	case CREDENTIAL_SECRET:
	case CREDENTIAL_CERTIFICATE:
	case CREDENTIAL_WORKLOAD:
		snprintf(dst, cap, "%s, client %s, tenant %s at %s%s%s",
			 credential_kind_name(c->kind), c->client_id, c->tenant, c->authority,
			 c->cert_path	     ? ", certificate "
			 : c->federated_file ? ", token file "
					     : "",
			 c->cert_path	     ? c->cert_path
			 : c->federated_file ? c->federated_file
					     : "");
		break;
	case CREDENTIAL_APP_SERVICE:
	case CREDENTIAL_IMDS:
		snprintf(dst, cap, "%s at %s%s%s", credential_kind_name(c->kind), c->endpoint,
			 c->client_id ? ", client " : "", c->client_id ? c->client_id : "");
		break;
	default:
		snprintf(dst, cap, "%s", credential_kind_name(c->kind));
	}
}

/* ---- the pure parts -------------------------------------------------- */

void credential_b64url(const unsigned char *src, size_t len, char *dst)
{
	int n = EVP_EncodeBlock((unsigned char *)dst, src, (int)len);
	for (int i = 0; i < n; i++)
		dst[i] = dst[i] == '+' ? '-' : dst[i] == '/' ? '_' : dst[i];
	while (n > 0 && dst[n - 1] == '=')
		n--;
	dst[n] = '\0';
}

void credential_x5t(const unsigned char *der, size_t len, char *dst)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1(der, len, md);
	credential_b64url(md, sizeof(md), dst);
}

/* base64url of a JSON object's compact text, appended at dst. */
static bool b64_json(cJSON *o, char *dst, size_t cap)
{
	char *text = cJSON_PrintUnformatted(o);
	size_t len = text ? strlen(text) : 0;
	bool ok = text && len * 4 / 3 + 4 < cap;
	if (ok)
		credential_b64url((const unsigned char *)text, len, dst);
	free(text);
	return ok;
}

char *credential_assertion(void *key, void *cert, const char *client_id, const char *token_url,
			   int64_t now_s)
{
	unsigned char *der = NULL, rnd[16], sig[1024];
	char x5t[32], jti[40], *out = NULL;
	size_t siglen = sizeof(sig), cap = 8192;
	int derlen = i2d_X509(cert, &der);
	if (derlen <= 0 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		OPENSSL_free(der);
		return NULL;
	}
	credential_x5t(der, (size_t)derlen, x5t);
	OPENSSL_free(der);
	rnd[6] = (rnd[6] & 0x0F) | 0x40, rnd[8] = (rnd[8] & 0x3F) | 0x80; /* a v4 UUID */
	snprintf(jti, sizeof(jti),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10],
		 rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
	cJSON *h = cJSON_CreateObject(), *p = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "alg", "RS256");
	cJSON_AddStringToObject(h, "typ", "JWT");
	cJSON_AddStringToObject(h, "x5t", x5t);
	cJSON_AddStringToObject(p, "aud", token_url);
	cJSON_AddStringToObject(p, "iss", client_id);
	cJSON_AddStringToObject(p, "sub", client_id);
	cJSON_AddStringToObject(p, "jti", jti);
	cJSON_AddNumberToObject(p, "nbf", (double)now_s);
	cJSON_AddNumberToObject(p, "iat", (double)now_s);
	cJSON_AddNumberToObject(p, "exp", (double)(now_s + ASSERTION_LIFE_S));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *buf = malloc(cap);
	bool ok = buf && md && b64_json(h, buf, cap / 2);
	size_t len = ok ? strlen(buf) : 0;
	if (ok) {
		buf[len++] = '.';
		ok = b64_json(p, buf + len, cap / 2 - 1);
		len += ok ? strlen(buf + len) : 0;
	}
	ok = ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
	     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, (unsigned char *)buf, len) == 1 &&
	     len + 2 + siglen * 4 / 3 + 4 < cap;
	if (ok) {
		buf[len++] = '.';
		credential_b64url(sig, siglen, buf + len);
		out = buf, buf = NULL;
	}
	free(buf);
	EVP_MD_CTX_free(md);
	cJSON_Delete(h);
	cJSON_Delete(p);
	return out;
}

/* Epoch seconds from a number or a string of digits; -1 when neither. */
static int64_t epoch_of(const cJSON *v)
{
	char *end;
	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return -1;
	long long s = strtoll(v->valuestring, &end, 10);
	return *end ? -1 : s;
}

/* The Azure CLI's expiresOn: "2026-12-02 22:10:05.000000", local time. */
static int64_t local_time_of(const cJSON *v)
{
	struct tm tm = {0};
	if (!cJSON_IsString(v) ||
	    sscanf(v->valuestring, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900, tm.tm_mon -= 1, tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	return t == (time_t)-1 ? -1 : (int64_t)t;
}

int credential_parse_answer(const char *body, int64_t now_ms, char *dst, size_t cap,
			    int64_t *exp_ms, char *err, size_t n)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *ed = cJSON_GetObjectItemCaseSensitive(root, "error_description");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	int rc = 0;
	int64_t s;
	*exp_ms = 0;
	if (!tok)
		tok = cJSON_GetObjectItemCaseSensitive(root, "accessToken");
	if (cJSON_IsString(e) || cJSON_IsObject(e)) {
		const cJSON *code = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "code") : e;
		const cJSON *msg = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "message") : ed;
		const char *m = cJSON_IsString(msg) ? msg->valuestring : "";
		snprintf(err, n, "%s%s%.*s", cJSON_IsString(code) ? code->valuestring : "error",
			 *m ? ": " : "", (int)strcspn(m, "\r\n"),
			 m); /* Entra adds Trace ID lines */
		rc = ERR_AUTH;
	} else if (!cJSON_IsString(tok) || !tok->valuestring[0]) {
		snprintf(err, n, "the answer has no access_token");
		rc = ERR_PARSE;
	} else if (strlen(tok->valuestring) >= cap) {
		snprintf(err, n, "the token is longer than %zu bytes", cap - 1);
		rc = ERR_PARSE;
	} else {
		snprintf(dst, cap, "%s", tok->valuestring);
		if ((s = epoch_of(cJSON_GetObjectItemCaseSensitive(root, "expires_on"))) > 0)
			*exp_ms = s * 1000;
		else if ((s = epoch_of(cJSON_GetObjectItemCaseSensitive(root, "expires_in"))) > 0)
			*exp_ms = now_ms + s * 1000;
		else if ((s = local_time_of(cJSON_GetObjectItemCaseSensitive(root, "expiresOn"))) >
			 0)
			*exp_ms = s * 1000;
	}
	cJSON_Delete(root);
	return rc;
}

void credential_scope(const char *audience, char *dst, size_t cap)
{
	size_t len = strlen(audience);
	if (!strstr(audience, "://management.core.") && len && audience[len - 1] == '/')
		len--;
	snprintf(dst, cap, "%.*s/.default", (int)len, audience);
}

/* ---- fetching -------------------------------------------------------- */

struct answer {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t len = size * nmemb;
	if (a->len + len >= a->cap) {
		a->too_big = true;
		return 0;
	}
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const struct credential_hooks *h = arg;
	return h && h->stop && h->stop(h->arg) ? 1 : 0;
}

/* One request to the identity provider; the answer in *a (cap ANSWER_MAX). */
static int call(const struct credential_config *c, const struct credential_hooks *h,
		const char *url, const char *form, struct curl_slist *headers, bool imds,
		long *status, struct answer *a, char *err, size_t n)
{
	CURL *e = curl_easy_init();
	if (!e) {
		snprintf(err, n, "out of memory");
		return ERR_NOMEM;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "rabulk/0.1");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 imds ? (long)IMDS_PROBE_MS : (long)CONNECT_TIMEOUT_MS);
	if (imds)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	if (form)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(e);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, n, "interrupted while asking for a token");
		return ERR_STOPPED;
	}
	if (rc != CURLE_OK) {
		snprintf(err, n, "%s: cannot reach %s: %s%s", credential_kind_name(c->kind), url,
			 a->too_big ? "answer too long" : curl_easy_strerror(rc),
			 rc == CURLE_PEER_FAILED_VERIFICATION ? " (a private CA? --cacert FILE)"
			 : rc == CURLE_SSL_CONNECT_ERROR      ? " (TLS 1.2 or later is needed)"
							      : "");
		return ERR_AUTH;
	}
	return 0;
}

/* Appends "&name=value" (value URL-encoded) to a form of cap bytes. */
static bool form_add(CURL *e, char *form, size_t cap, const char *name, const char *value)
{
	char *enc = curl_easy_escape(e, value, 0);
	size_t len = strlen(form);
	int w = enc ? snprintf(form + len, cap - len, "%s%s=%s", len ? "&" : "", name, enc) : -1;
	curl_free(enc);
	return w >= 0 && (size_t)w < cap - len;
}

/* The federated token file's content (a JWT), read anew on every fetch. */
static char *read_federated(const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? malloc(TOKEN_MAX) : NULL;
	size_t len = buf ? fread(buf, 1, TOKEN_MAX - 1, f) : 0;
	if (f)
		fclose(f);
	if (!buf) {
		snprintf(err, n, "cannot read AZURE_FEDERATED_TOKEN_FILE '%s': %s", path,
			 f ? "out of memory" : strerror(errno));
		return NULL;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(err, n, "AZURE_FEDERATED_TOKEN_FILE '%s' is empty", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The form of a client-credentials request; caller frees. */
static char *login_form(const struct credential_config *c, const char *token_url, char *err,
			size_t n)
{
	size_t cap = 3 * TOKEN_MAX + 2048;
	char *form = calloc(1, cap), *assertion = NULL, scope[600];
	CURL *e = curl_easy_init();
	void *x = NULL, *k = NULL;
	struct cert_info ci;
	bool ok = form && e;
	credential_scope(c->audience, scope, sizeof(scope));
	if (c->kind == CREDENTIAL_CERTIFICATE && ok) {
		if (cert_open(c->cert_path, NULL, c->cert_password, &x, &k, &ci, err, n) < 0) {
			ok = false, err = NULL;
		} else if (!(assertion = credential_assertion(k, x, c->client_id, token_url,
							      clock_wall_ms() / 1000))) {
			snprintf(err, n, "cannot sign a client assertion with '%s' (an RSA key?)",
				 c->cert_path);
			ok = false, err = NULL;
		}
		X509_free(x);
		EVP_PKEY_free(k);
	} else if (c->kind == CREDENTIAL_WORKLOAD && ok) {
		if (!(assertion = read_federated(c->federated_file, err, n)))
			ok = false, err = NULL;
	}
	ok = ok && form_add(e, form, cap, "grant_type", "client_credentials") &&
	     form_add(e, form, cap, "client_id", c->client_id) &&
	     form_add(e, form, cap, "scope", scope);
	if (ok && c->kind == CREDENTIAL_SECRET)
		ok = form_add(e, form, cap, "client_secret", c->secret);
	else if (ok)
		ok = form_add(e, form, cap, "client_assertion_type",
			      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") &&
		     form_add(e, form, cap, "client_assertion", assertion);
	if (assertion) {
		explicit_bzero(assertion, strlen(assertion));
		free(assertion);
	}
	curl_easy_cleanup(e);
	if (!ok && form) {
		explicit_bzero(form, cap);
		free(form), form = NULL;
	}
	if (!ok && err)
		snprintf(err, n, "out of memory");
	return form;
}

/* What the identity provider said, as the error of source kind. */
static int refused(const struct credential_config *c, const char *where, long status,
		   const struct answer *a, char *err, size_t n)
{
	char why[1024] = "";
	char tok[8];
	int64_t exp;
	if (credential_parse_answer(a->buf, 0, tok, sizeof(tok), &exp, why, sizeof(why)) !=
	    ERR_AUTH)
		snprintf(why, sizeof(why), "HTTP %ld", status);
	snprintf(err, n, "%s: %s refused to issue a token: %s", credential_kind_name(c->kind),
		 where, why);
	return ERR_AUTH;
}

/* Waits ms, giving up (ERR_STOPPED) when the hooks' stop says so. */
static int wait_a_while(const struct credential_hooks *h, long ms)
{
	for (long left = ms; left > 0; left -= 100) {
		if (h && h->stop && h->stop(h->arg))
			return ERR_STOPPED;
		struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int fetch_http(const struct credential_config *c, const struct credential_hooks *h,
		      char *dst, size_t cap, int64_t *exp_ms, char *err, size_t n)
{
	char url[2048], hdr[600];
	char *form = NULL, *res = NULL, *cid = NULL;
	struct curl_slist *headers = NULL;
	struct answer a = {malloc(ANSWER_MAX), 0, ANSWER_MAX, false};
	long status = 0;
	bool imds = c->kind == CREDENTIAL_IMDS;
	int rc = a.buf ? 0 : ERR_NOMEM;
	CURL *e = curl_easy_init();
	if (rc == 0 && e) {
		res = curl_easy_escape(e, c->audience, 0);
		cid = c->client_id ? curl_easy_escape(e, c->client_id, 0) : NULL;
	}
	if (rc == 0 && !res)
		rc = ERR_NOMEM;
	if (rc == 0) {
		a.buf[0] = '\0';
		switch (c->kind) {
		case CREDENTIAL_SECRET:
		case CREDENTIAL_CERTIFICATE:
		case CREDENTIAL_WORKLOAD:
			snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token", c->authority,
				 c->tenant);
			if (!(form = login_form(c, url, err, n)))
				rc = ERR_AUTH;
			headers = curl_slist_append(
			    NULL, "Content-Type: application/x-www-form-urlencoded");
			break;
		case CREDENTIAL_APP_SERVICE:
			snprintf(url, sizeof(url), "%s?api-version=2019-08-01&resource=%s%s%s",
				 c->endpoint, res, cid ? "&client_id=" : "", cid ? cid : "");
			snprintf(hdr, sizeof(hdr), "X-IDENTITY-HEADER: %s", c->identity_header);
			headers = curl_slist_append(NULL, hdr);
			break;
		default:
			snprintf(url, sizeof(url), "%s?api-version=2018-02-01&resource=%s%s%s",
				 c->endpoint, res, cid ? "&client_id=" : "", cid ? cid : "");
			headers = curl_slist_append(NULL, "Metadata: true");
		}
	}
	/* What IMDS and Entra ID answer when busy or restarting is worth a
	 * second try, as Azure SDKs do: 429, 5xx (and 404, 410 from IMDS while
	 * the identity is being assigned), up to RETRIES times, 0.5, 1, 2 s apart. */
	for (int i = 0; rc == 0; i++) {
		a.len = 0, a.buf[0] = '\0', status = 0;
		rc = call(c, h, url, form, headers, imds, &status, &a, err, n);
		bool again = status == 429 || status >= 500 ||
			     (c->kind == CREDENTIAL_IMDS && (status == 404 || status == 410));
		if (rc < 0 || !again || i == RETRIES)
			break;
		if (wait_a_while(h, 500L << i) < 0) {
			snprintf(err, n, "interrupted while asking for a token");
			rc = ERR_STOPPED;
		}
	}
	if (rc == 0 && status != 200)
		rc = refused(c, url, status, &a, err, n);
	if (rc == 0 &&
	    credential_parse_answer(a.buf, clock_wall_ms(), dst, cap, exp_ms, err, n) < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, n, "%s: %s: %s", credential_kind_name(c->kind), url, why);
		rc = ERR_AUTH;
	}
	if (form) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	if (a.buf) {
		explicit_bzero(a.buf, a.cap);
		free(a.buf);
	}
	curl_free(res);
	curl_free(cid);
	curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	if (rc == ERR_NOMEM)
		snprintf(err, n, "out of memory");
	return rc;
}

static int fetch_az(const struct credential_config *c, const struct credential_hooks *h, char *dst,
		    size_t cap, int64_t *exp_ms, char *err, size_t n)
{
	char *out = malloc(TOKEN_MAX * 2);
	int rc = out ? 0 : ERR_NOMEM;
	if (rc == 0 && !h->run) {
		snprintf(err, n, "Azure CLI: no command runner");
		rc = ERR_AUTH;
	}
	if (rc == 0)
		rc = h->run(h->arg, c->az_command, "the Azure CLI (az account get-access-token)",
			    c->az_timeout_ms, out, TOKEN_MAX * 2, err, n);
	if (rc == 0 &&
	    credential_parse_answer(out, clock_wall_ms(), dst, cap, exp_ms, err, n) < 0) {
		snprintf(err, n, "Azure CLI: az account get-access-token printed no token");
		rc = ERR_AUTH;
	} else if (rc == ERR_AUTH && strstr(err, "exit status 127")) {
		snprintf(err, n, "Azure CLI: az is not installed (or not on PATH)");
	} else if (rc == ERR_AUTH && strstr(err, "exit status")) {
		char why[400];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, n, "Azure CLI: %s: run 'az login' first?", why);
	}
	if (out) {
		explicit_bzero(out, TOKEN_MAX * 2);
		free(out);
	}
	return rc;
}

int credential_fetch(const struct credential_config *c, const struct credential_hooks *h, char *dst,
		     size_t cap, int64_t *exp_ms, char *err, size_t n)
{
	*exp_ms = 0;
	switch (c->kind) {
	case CREDENTIAL_AZURE_CLI:
		return fetch_az(c, h, dst, cap, exp_ms, err, n);
	case CREDENTIAL_SECRET:
	case CREDENTIAL_CERTIFICATE:
	case CREDENTIAL_WORKLOAD:
	case CREDENTIAL_APP_SERVICE:
	case CREDENTIAL_IMDS:
		return fetch_http(c, h, dst, cap, exp_ms, err, n);
	default:
		snprintf(err, n, "%s", c->looked_for[0] ? c->looked_for : "no credential");
		return ERR_AUTH;
	}
}
