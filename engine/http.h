/* http.h — libcurl settings every rabulk request uses, in one place:
 * the protocol headers, credentials, TLS 1.2 at least, no redirects,
 * http/https only, and --verbose output with secrets blanked. */
#ifndef RABULK_HTTP_H
#define RABULK_HTTP_H

#include "engine/engine.h"
#include <curl/curl.h>

/* The service's headers, and for POST its body headers and an empty Expect.
 * Caller owns the result (curl_slist_free_all); NULL when out of memory. */
struct curl_slist *http_headers(const struct service *svc, bool post);

/* A request's own header line: a fresh id for services that send one with
 * every request (AVD's x-ms-client-request-id), linked in front of a fixed
 * list. Caller-owned storage, one per request in flight. */
struct http_id {
	struct curl_slist node;
	char text[96];
};
/* The list to send: id's line then fixed, or fixed itself when the service
 * sends no id. rng is a caller-owned xorshift state (retry_random_u64). */
struct curl_slist *http_with_id(const struct service *svc, uint64_t *rng, struct http_id *id,
				struct curl_slist *fixed);

/* Applies the job's transport settings (timeouts, TLS, client certificate,
 * protocols, no redirects, no signals, --verbose) to an easy handle. */
void http_setup(CURL *easy, const struct engine_job *job);

/* Keeps the handle's bearer token current: copies the job's token into buf
 * (TOKEN_MAX bytes) and sets it when its generation differs from *gen.
 * Never fetches (the token's own thread does). No-op without a token. */
void http_sync_token(CURL *easy, const struct engine_job *job, unsigned *gen, char *buf);

/* One TLS handshake with the endpoint before anything is sent, so that a
 * certificate problem is one clear error instead of a failed row per
 * input line. Returns 0 (also for plain http, or when the endpoint is
 * merely unreachable: retries deal with that), or ERR_AUTH with err set. */
int http_preflight(const struct engine_job *job, char *err, size_t errlen);

#endif
