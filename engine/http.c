/* http.c — the libcurl options shared by the engine's workers and the
 * one-off requests of `rabulk sessions`. TLS 1.2 is set explicitly because
 * libcurl 7.88 does not default to it; redirects are never followed so a
 * request can never be sent (with its credentials) somewhere else.
 *
 * The bearer token goes through CURLOPT_XOAUTH2_BEARER rather than the
 * shared header list: libcurl copies it into each handle, so a refreshed
 * token never pulls a header list from under a transfer in flight. */
#include "engine/http.h"
#include "lib/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Appends lines to *h; false (and *h freed) when out of memory. */
static bool append_all(struct curl_slist **h, const char *const *lines)
{
	for (; *lines; lines++) {
		struct curl_slist *t = curl_slist_append(*h, *lines);
		if (!t) {
			curl_slist_free_all(*h);
			*h = NULL;
			return false;
		}
		*h = t;
	}
	return true;
}

struct curl_slist *http_headers(const struct service *svc, bool post)
{
	static const char *const no_expect[] = {"Expect:", NULL}; /* no 100-continue wait */
	struct curl_slist *h = NULL;
	if (!append_all(&h, svc->headers) ||
	    (post && (!append_all(&h, svc->body_headers) || !append_all(&h, no_expect))))
		return NULL;
	return h;
}

struct curl_slist *http_with_id(const struct service *svc, uint64_t *rng, struct http_id *id,
				struct curl_slist *fixed)
{
	unsigned char rnd[16];
	char uuid[48];
	if (!svc->request_id_header || !svc->request_id_header[0])
		return fixed;
	for (int i = 0; i < 16; i += 8) {
		uint64_t r = retry_random_u64(rng);
		memcpy(rnd + i, &r, 8);
	}
	svc->request_id(uuid, sizeof(uuid), rnd);
	snprintf(id->text, sizeof(id->text), "%s: %s", svc->request_id_header, uuid);
	id->node.data = id->text;
	id->node.next = fixed;
	return &id->node;
}

/* --verbose: what curl -v shows (connection notes, request and response
 * headers), with the Authorization value blanked. Bodies are not shown. */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t len, void *arg)
{
	static const char *const marks[] = {
	    [CURLINFO_TEXT] = "*", [CURLINFO_HEADER_IN] = "<", [CURLINFO_HEADER_OUT] = ">"};
	char out[8192];
	size_t n = 0;
	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && data[end] != '\n')
			end++;
		size_t line = end - i;
		while (line > 0 && data[i + line - 1] == '\r')
			line--;
		if (line > 0 || type == CURLINFO_TEXT) {
			bool secret =
			    line >= 14 && strncasecmp(data + i, "authorization:", 14) == 0;
			int w = secret ? snprintf(out + n, sizeof(out) - n, "%s %.14s [redacted]\n",
						  marks[type], data + i)
				       : snprintf(out + n, sizeof(out) - n, "%s %.*s\n",
						  marks[type], (int)line, data + i);
			if (w < 0 || n + (size_t)w >= sizeof(out))
				break;
			n += (size_t)w;
		}
		i = end + 1;
	}
	fwrite(out, 1, n, stderr);
	return 0;
}

void http_setup(CURL *e, const struct engine_job *job)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "rabulk/0.1");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, job->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 job->timeout_ms < 10000 ? job->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (job->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, job->cacert);
	if (job->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (job->cert) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, job->cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, job->cert_type);
		if (job->key)
			curl_easy_setopt(e, CURLOPT_SSLKEY, job->key);
		if (job->key_password)
			curl_easy_setopt(e, CURLOPT_KEYPASSWD, job->key_password);
	}
	if (job->verbose) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}
}

/* Sends `Authorization: Bearer <token>` from now on (libcurl copies it). */
static void http_bearer(CURL *e, const char *token)
{
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, token);
}

void http_sync_token(CURL *e, const struct engine_job *job, unsigned *gen, char *buf)
{
	if (!job->token || token_generation(job->token) == *gen)
		return;
	*gen = token_copy(job->token, buf, TOKEN_MAX);
	http_bearer(e, buf);
}

static bool tls_failure(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		return true;
	default:
		return false;
	}
}

int http_preflight(const struct engine_job *job, char *err, size_t n)
{
	char msg[CURL_ERROR_SIZE] = "";
	if (strncasecmp(job->target.endpoint, "https://", 8) != 0)
		return 0;
	CURL *e = curl_easy_init();
	if (!e)
		return 0; /* the run itself will report it */
	http_setup(e, job);
	curl_easy_setopt(e, CURLOPT_URL, job->target.endpoint);
	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, msg);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_cleanup(e);
	if (!tls_failure(rc))
		return 0;
	snprintf(err, n, "TLS with %s failed: %s%s", job->target.endpoint,
		 msg[0] ? msg : curl_easy_strerror(rc),
		 rc == CURLE_PEER_FAILED_VERIFICATION ? " (a private CA? add it with --cacert FILE)"
		 : rc == CURLE_SSL_CONNECT_ERROR      ? " (rabulk needs TLS 1.2 or later)"
						      : "");
	return ERR_AUTH;
}
