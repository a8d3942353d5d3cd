/* route.c — the raw URI split for routing (see route.h).
 *
 * Routing works on the URI as the client sent it (libmicrohttpd's URI-log
 * hook hands it over before decoding anything), so a percent-encoded "/"
 * inside a collection name stays inside its segment: each segment is
 * decoded once, here, after the split. */
#include "emulator/route.h"
#include "lib/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void pct_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtoul(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int route_parse(struct route_request *q)
{
	char *uri = q->buf = strdup(q->uri);
	q->nseg = 0;
	q->query = "";
	if (!uri)
		return ERR_NOMEM;
	char *qm = strchr(uri, '?');
	q->query = qm ? qm + 1 : "";
	if (qm)
		*qm = '\0';
	for (char *p = uri; *p == '/';) {
		*p++ = '\0';
		if (q->nseg == ROUTE_MAX_SEGS)
			return ERR_TOOBIG;
		q->seg[q->nseg++] = p;
		p += strcspn(p, "/");
	}
	for (int i = 0; i < q->nseg; i++)
		pct_decode(q->seg[i]);
	return 0;
}

void route_release(struct route_request *q)
{
	free(q->buf);
	q->buf = NULL;
}

bool route_query_has(const char *query, const char *param)
{
	size_t m = strlen(param);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, param, m) == 0 && (p[m] == '&' || p[m] == '\0'))
			return true;
	return false;
}

bool route_method(const struct route_request *q, const char *method)
{
	return strcmp(q->method, method) == 0;
}
