/* http.h — libcurl settings every rabulk request uses, in one place:
 * the protocol headers, TLS 1.2 at least, no redirects, http/https only. */
#ifndef RABULK_HTTP_H
#define RABULK_HTTP_H

#include "engine/engine.h"
#include <curl/curl.h>

/* x-ms-version, Accept, (for POST) Content-Type and an empty Expect, and
 * the bearer token when the job has one. Caller owns the result
 * (curl_slist_free_all); NULL when out of memory. */
struct curl_slist *http_headers(const struct job *job, bool post);

/* Applies the job's transport settings (timeouts, TLS, protocols, no
 * redirects, no signals) to an easy handle. Call once per handle. */
void http_setup(CURL *easy, const struct job *job);

#endif
