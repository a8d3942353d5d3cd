/* reply.c — reply bodies (see reply.h).
 *
 * cJSON prints with tabs and LF; the service printed two spaces and CRLF,
 * and the conformance tests compare bodies byte for byte, so reply_json()
 * rewrites cJSON's output rather than printing JSON by hand. */
#include "emulator/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Escapes & < > for XML text; caller owns the result. */
static char *xml_escape(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		const char *rep = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
					      : NULL;
		if (rep)
			o += sprintf(o, "%s", rep);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

void reply_rdfe(struct reply *r, int status, const char *code, const char *message)
{
	char *esc = xml_escape(message);
	size_t n = esc ? strlen(esc) + strlen(code) + 200 : 0;
	r->status = status;
	r->ctype = "application/xml; charset=utf-8";
	if (esc && (r->body = malloc(n)))
		snprintf(r->body, n,
			 "<Error xmlns=\"http://schemas.microsoft.com/windowsazure\" "
			 "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><Code>%s</Code>"
			 "<Message>%s</Message></Error>",
			 code, esc);
	free(esc);
}

void reply_not_found(struct reply *r)
{
	reply_rdfe(r, 404, "ResourceNotFound", "The requested resource was not found.");
}

void reply_wrapped(struct reply *r, int status, const char *code, const char *message,
		   const char *activity_id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Code", code);
	cJSON_AddStringToObject(o, "Message", message);
	cJSON_AddStringToObject(o, "ActivityId", activity_id);
	cJSON_AddNumberToObject(o, "errorClass", 0);
	char *json = cJSON_PrintUnformatted(o), *esc = json ? xml_escape(json) : NULL;
	size_t n = esc ? strlen(esc) + 100 : 0;
	r->status = status;
	r->ctype = "application/xml; charset=utf-8";
	if (esc && (r->body = malloc(n)))
		snprintf(r->body, n,
			 "<string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">%s"
			 "</string>",
			 esc);
	free(esc);
	cJSON_free(json);
	cJSON_Delete(o);
}

void reply_json(struct reply *r, int status, const cJSON *root)
{
	char *s = cJSON_Print(root), *out = NULL;
	if (s && (out = malloc(strlen(s) * 3 + 1))) {
		char *o = out;
		bool line_start = false;
		for (const char *p = s; *p; p++) {
			if (*p == '\t') { /* indent tab -> two spaces, ":\t" -> ": " */
				*o++ = ' ';
				if (line_start)
					*o++ = ' ';
				continue;
			}
			line_start = *p == '\n';
			if (*p == '\n')
				*o++ = '\r';
			*o++ = *p;
		}
		*o = '\0';
	}
	cJSON_free(s);
	r->status = status;
	r->ctype = "application/json; charset=utf-8";
	r->body = out;
}

void reply_take(struct reply *r, int status, const char *ctype, char *body)
{
	r->status = status, r->ctype = ctype, r->body = body;
}

void reply_header(struct reply *r, const char *name, const char *value)
{
	if (r->nheaders == REPLY_MAX_HEADERS)
		return;
	struct reply_header *h = &r->headers[r->nheaders++];
	h->name = name;
	snprintf(h->value, sizeof(h->value), "%s", value);
}

const char *reply_header_value(const struct reply *r, const char *name)
{
	for (int i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void reply_release(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}
