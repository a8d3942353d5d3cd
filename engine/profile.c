/* profile.c — reading AzureProfile.json with cJSON.
 *
 * Every lookup that can fail says which key of which file, because a
 * profile is edited by hand more often than it should be. Names compare
 * case-insensitively (Azure's are), and Properties.Default is the string
 * "True" in the files PowerShell writes (a JSON true is taken as well). */
#include "engine/profile.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROFILE_MAX (4 * 1024 * 1024)

static const char *const account_names[] = {"User", "ServicePrincipal", "Certificate",
					    "AccessToken"};
#define NACCOUNT_TYPES (int)(sizeof(account_names) / sizeof(account_names[0]))
_Static_assert(NACCOUNT_TYPES == PROFILE_ACCESS_TOKEN + 1, "a name for every account type");

const char *profile_account_name(enum profile_account a)
{
	return (int)a >= 0 && (int)a < NACCOUNT_TYPES ? account_names[a] : "?";
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key); /* case-insensitive */
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The element of array `key` whose `field` equals value, any case. */
static const cJSON *find(const cJSON *root, const char *key, const char *field, const char *value)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, key))
	{
		const char *v = str(e, field);
		if (v && strcasecmp(v, value) == 0)
			return e;
	}
	return NULL;
}

static bool is_default(const cJSON *sub)
{
	const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(sub, "Properties"), "Default");
	return cJSON_IsTrue(d) || (cJSON_IsString(d) && strcasecmp(d->valuestring, "True") == 0);
}

/* The subscription asked for (or the default) into *out. Returns 0,
 * ERR_NOENT when no subscription is `want`, or ERR_INVAL. */
static int pick(const cJSON *root, const char *want, const char *path, const cJSON **out, char *err,
		size_t n)
{
	const cJSON *subs = cJSON_GetObjectItem(root, "Subscriptions"), *s, *found = NULL;
	int count = 0;
	*out = NULL;
	if (!cJSON_IsArray(subs) || cJSON_GetArraySize(subs) == 0) {
		snprintf(err, n, "profile '%s' has no Subscriptions", path);
		return ERR_INVAL;
	}
	cJSON_ArrayForEach(s, subs)
	{
		const char *id = str(s, "Id"), *name = str(s, "Name");
		bool match =
		    want ? (id && !strcasecmp(id, want)) || (name && !strcasecmp(name, want))
			 : is_default(s);
		if (match && !found)
			found = s;
		count += match;
	}
	if (!want && !found && cJSON_GetArraySize(subs) == 1) {
		*out = cJSON_GetArrayItem(subs, 0);
		return 0;
	}
	if (!found)
		snprintf(err, n,
			 want ? "profile '%s' has no subscription '%s'"
			      : "profile '%s' has no default subscription%s: choose one with "
				"--subscription ID|NAME",
			 path, want ? want : "");
	else if (count > 1)
		snprintf(err, n, "profile '%s' has %d %s subscriptions: choose one by Id", path,
			 count, want ? "matching" : "default");
	if (!found)
		return want ? ERR_NOENT : ERR_INVAL;
	*out = count == 1 ? found : NULL;
	return count == 1 ? 0 : ERR_INVAL;
}

static int endpoint(const cJSON *root, const cJSON *sub, struct profile *p, const char *path,
		    char *err, size_t n)
{
	const char *env = str(sub, "Environment");
	if (!env)
		return 0;
	const cJSON *e = find(root, "Environments", "Name", env);
	if (!e) {
		if (strcasecmp(env, "AzureCloud") == 0) /* the built-in one is often not listed */
			return 0;
		snprintf(err, n,
			 "profile '%s': subscription '%s' uses environment '%s', which is "
			 "not in Environments",
			 path, p->subscription, env);
		return ERR_INVAL;
	}
	const char *url = str(cJSON_GetObjectItem(e, "Endpoints"), "ServiceManagement");
	url = url ? url : str(e, "ServiceManagement");
	url = url ? url : str(e, "ServiceManagementUrl");
	if (url) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", url);
		size_t len = strlen(p->endpoint);
		while (len > 0 && p->endpoint[len - 1] == '/')
			p->endpoint[--len] = '\0';
	}
	return 0;
}

static int account_type(const cJSON *acct, enum profile_account *out)
{
	const cJSON *t = cJSON_GetObjectItem(acct, "Type");
	if (cJSON_IsNumber(t) && t->valueint >= 0 && t->valueint < NACCOUNT_TYPES) {
		*out = (enum profile_account)t->valueint;
		return 0;
	}
	for (int i = 0; cJSON_IsString(t) && i < NACCOUNT_TYPES; i++)
		if (strcasecmp(t->valuestring, account_names[i]) == 0) {
			*out = (enum profile_account)i;
			return 0;
		}
	return ERR_INVAL;
}

static int account(const cJSON *root, const cJSON *sub, struct profile *p, const char *path,
		   char *err, size_t n)
{
	const char *id = str(sub, "Account");
	const cJSON *a = id ? find(root, "Accounts", "Id", id) : NULL;
	if (!a) {
		snprintf(err, n,
			 id ? "profile '%s': subscription '%s' names account '%s', which is "
			      "not in Accounts"
			    : "profile '%s': subscription '%s' has no Account%s",
			 path, p->subscription, id ? id : "");
		return ERR_INVAL;
	}
	snprintf(p->account_id, sizeof(p->account_id), "%s", id);
	if (account_type(a, &p->account) < 0) {
		snprintf(err, n,
			 "profile '%s': account '%s' has an unknown Type (want User, "
			 "ServicePrincipal, Certificate or AccessToken)",
			 path, id);
		return ERR_INVAL;
	}
	if (p->account != PROFILE_ACCESS_TOKEN)
		return 0;
	const char *tok = str(cJSON_GetObjectItem(a, "Properties"), "AccessToken");
	if (!tok || !*tok) {
		snprintf(err, n,
			 "profile '%s': AccessToken account '%s' has no "
			 "Properties.AccessToken",
			 path, id);
		return ERR_INVAL;
	}
	return (p->token = strdup(tok)) ? 0 : ERR_NOMEM;
}

static char *slurp(const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? malloc(PROFILE_MAX + 1) : NULL;
	size_t len = buf ? fread(buf, 1, PROFILE_MAX + 1, f) : 0;
	int e = errno;
	if (f)
		fclose(f);
	if (!buf || len > PROFILE_MAX) {
		snprintf(err, n, "cannot read profile '%s': %s", path,
			 !f    ? strerror(e)
			 : buf ? "larger than 4 MiB"
			       : "out of memory");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int profile_load(const char *path, const char *want, struct profile *p, char *err, size_t n)
{
	memset(p, 0, sizeof(*p));
	char *text = slurp(path, err, n);
	if (!text)
		return ERR_IO;
	cJSON *root = cJSON_Parse(text);
	explicit_bzero(text, strlen(text)); /* it may hold an access token */
	free(text);
	if (!cJSON_IsObject(root)) {
		snprintf(err, n, "profile '%s' is not a JSON object", path);
		cJSON_Delete(root);
		return ERR_INVAL;
	}
	const cJSON *sub;
	int rc = pick(root, want, path, &sub, err, n);
	const char *id = sub ? str(sub, "Id") : NULL;
	if (sub && !id) {
		snprintf(err, n, "profile '%s': a subscription has no Id", path);
		rc = ERR_INVAL;
	}
	if (rc == 0) {
		snprintf(p->subscription, sizeof(p->subscription), "%s", id);
		snprintf(p->name, sizeof(p->name), "%s", str(sub, "Name") ? str(sub, "Name") : "");
		rc = endpoint(root, sub, p, path, err, n);
	}
	if (rc == 0)
		rc = account(root, sub, p, path, err, n);
	cJSON_Delete(root);
	return rc;
}

void profile_release(struct profile *p)
{
	if (p->token) {
		explicit_bzero(p->token, strlen(p->token));
		free(p->token);
	}
	p->token = NULL;
}
