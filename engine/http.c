/* http.c — the libcurl options shared by the engine's workers and the
 * one-off requests of `rabulk sessions`. TLS 1.2 is set explicitly because
 * libcurl 7.88 does not default to it; redirects are never followed so a
 * request can never be sent (with its token) somewhere else. */
#include "engine/http.h"

#include <stdio.h>

struct curl_slist *http_headers(const struct job *job, bool post)
{
	char auth[8192];
	struct curl_slist *h = NULL, *t;
	const char *lines[] = {"x-ms-version: " API_MS_VERSION, "Accept: " API_ACCEPT,
			       post ? "Content-Type: " API_CONTENT_TYPE : NULL,
			       post ? "Expect:" : NULL,
			       job->token ? auth : NULL};
	if (job->token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", job->token);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		if (!(t = curl_slist_append(h, lines[i]))) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

void http_setup(CURL *e, const struct job *job)
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
}
