/* profile.h — Azure PowerShell's AzureProfile.json: which subscription,
 * which endpoint, which account.
 *
 * The profile is what admins of the classic service already have on disk
 * (Import-AzurePublishSettingsFile, Add-AzureAccount write it). rabulk reads
 * three arrays: Environments (the ServiceManagement endpoint), Subscriptions
 * (Id, Name, Environment, Account, Properties.Default) and Accounts (Id,
 * Type, Properties). Command-line options override what it says. */
#ifndef RABULK_PROFILE_H
#define RABULK_PROFILE_H

#include <stddef.h>

/* Accounts[].Type, by name or by number (Azure PowerShell's enum order). */
enum profile_account {
	PROFILE_USER,		   /* 0 "User": needs --token-file or --token-command */
	PROFILE_SERVICE_PRINCIPAL, /* 1 "ServicePrincipal": likewise */
	PROFILE_CERTIFICATE,	   /* 2 "Certificate": Id is the thumbprint; needs --cert */
	PROFILE_ACCESS_TOKEN,	   /* 3 "AccessToken": Properties.AccessToken */
};

struct profile {
	char subscription[128]; /* Id */
	char name[256];		/* Name */
	char endpoint[512];	/* ServiceManagement, no trailing '/'; "" for the default */
	enum profile_account account;
	char account_id[256]; /* thumbprint or user name */
	char *token;	      /* PROFILE_ACCESS_TOKEN: the token (heap, wiped on release) */
};

/* Reads path and picks the subscription `want` (its Id or Name, any case)
 * or, when want is NULL, the one whose Properties.Default is "True" (or
 * the only one). Returns 0, ERR_NOENT when no subscription is `want`, or
 * ERR_INVAL / ERR_IO, with err naming the file and what is wrong or missing. Call profile_release()
 * either way. */
int profile_load(const char *path, const char *want, struct profile *p, char *err, size_t errlen);
void profile_release(struct profile *p);
const char *profile_account_name(enum profile_account a);

#endif
