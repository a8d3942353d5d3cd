/* test_credential.c — the pure parts of Entra ID's credential chain: the
 * client assertion (decoded and its signature verified with OpenSSL here),
 * x5t, token answers in every shape, the cloud table, the scope, and
 * picking a source from an environment given as data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/credential.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh RSA key and a self-signed certificate for it. */
static void make_cert(EVP_PKEY **key, X509 **cert)
{
	*key = EVP_RSA_gen(2048);
	assert_non_null(*key);
	*cert = X509_new();
	ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(*cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(*cert), 3600);
	X509_set_pubkey(*cert, *key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(*cert), "CN", MBSTRING_ASC,
				   (const unsigned char *)"rabulk test", -1, -1, 0);
	X509_set_issuer_name(*cert, X509_get_subject_name(*cert));
	assert_true(X509_sign(*cert, *key, EVP_sha256()) > 0);
}

/* base64url to bytes; the length. */
static int unb64(const char *s, size_t len, unsigned char *dst)
{
	char buf[8192];
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		buf[n++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4)
		buf[n++] = '=';
	int out = EVP_DecodeBlock(dst, (unsigned char *)buf, (int)n);
	return out - (int)(n - len);
}

static cJSON *part(const char *s, size_t len)
{
	unsigned char buf[8192];
	int n = unb64(s, len, buf);
	buf[n] = '\0';
	return cJSON_Parse((char *)buf);
}

static void assertion_is_an_rs256_jwt_signed_by_the_key(void **state)
{
	EVP_PKEY *key;
	X509 *cert;
	make_cert(&key, &cert);
	const char *url = "https://login.microsoftonline.com/t1/oauth2/v2.0/token";
	char *jwt = credential_assertion(key, cert, "app-1", url, 1700000000);
	char *again = credential_assertion(key, cert, "app-1", url, 1700000000);
	assert_non_null(jwt);
	const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	cJSON *h = part(jwt, (size_t)(d1 - jwt)), *p = part(d1 + 1, (size_t)(d2 - d1 - 1));
	assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, "RS256");
	assert_string_equal(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
	/* x5t: base64url of the DER certificate's SHA-1, computed here independently */
	unsigned char *der = NULL, md[SHA_DIGEST_LENGTH];
	int derlen = i2d_X509(cert, &der);
	SHA1(der, (size_t)derlen, md);
	char x5t[32];
	credential_b64url(md, sizeof(md), x5t);
	assert_int_equal(strlen(x5t), 27);
	assert_null(strchr(x5t, '='));
	assert_string_equal(cJSON_GetObjectItem(h, "x5t")->valuestring, x5t);
	char x5t2[32];
	credential_x5t(der, (size_t)derlen, x5t2);
	assert_string_equal(x5t, x5t2);
	OPENSSL_free(der);
	assert_string_equal(cJSON_GetObjectItem(p, "aud")->valuestring, url);
	assert_string_equal(cJSON_GetObjectItem(p, "iss")->valuestring, "app-1");
	assert_string_equal(cJSON_GetObjectItem(p, "sub")->valuestring, "app-1");
	assert_int_equal((long)cJSON_GetObjectItem(p, "nbf")->valuedouble, 1700000000);
	double life = cJSON_GetObjectItem(p, "exp")->valuedouble - 1700000000;
	assert_true(life > 0 && life <= 600);
	assert_int_equal(strlen(cJSON_GetObjectItem(p, "jti")->valuestring), 36);
	assert_string_not_equal(jwt, again); /* a fresh jti each time */
	/* the signature verifies with the certificate's public key */
	unsigned char sig[1024];
	int siglen = unb64(d2 + 1, strlen(d2 + 1), sig);
	EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
	EVP_PKEY *pub = X509_get_pubkey(cert);
	assert_int_equal(EVP_DigestVerifyInit(md_ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(
	    EVP_DigestVerify(md_ctx, sig, (size_t)siglen, (unsigned char *)jwt, (size_t)(d2 - jwt)),
	    1);
	/* and not with another key */
	EVP_PKEY *other;
	X509 *ocert;
	make_cert(&other, &ocert);
	EVP_MD_CTX_reset(md_ctx);
	assert_int_equal(EVP_DigestVerifyInit(md_ctx, NULL, EVP_sha256(), NULL, other), 1);
	assert_int_not_equal(
	    EVP_DigestVerify(md_ctx, sig, (size_t)siglen, (unsigned char *)jwt, (size_t)(d2 - jwt)),
	    1);
	EVP_MD_CTX_free(md_ctx);
	EVP_PKEY_free(pub), EVP_PKEY_free(other), EVP_PKEY_free(key);
	X509_free(ocert), X509_free(cert);
	cJSON_Delete(h), cJSON_Delete(p);
	free(jwt), free(again);
}

static void answers_in_every_shape(void **state)
{
	char tok[64], err[256];
	int64_t exp;
	const int64_t now = 1700000000000;
	/* Entra ID: expires_in a number */
	assert_int_equal(credential_parse_answer("{\"token_type\":\"Bearer\",\"expires_in\":3599,"
						 "\"access_token\":\"abc\"}",
						 now, tok, sizeof(tok), &exp, err, sizeof(err)),
			 0);
	assert_string_equal(tok, "abc");
	assert_true(exp == now + 3599000);
	/* IMDS / App Service: strings */
	assert_int_equal(
	    credential_parse_answer("{\"access_token\":\"x\",\"expires_in\":\"86399\","
				    "\"expires_on\":\"1700086399\",\"resource\":\"r\"}",
				    now, tok, sizeof(tok), &exp, err, sizeof(err)),
	    0);
	assert_true(exp == 1700086399000LL);
	/* expires_in as a string alone */
	assert_int_equal(credential_parse_answer("{\"access_token\":\"x\",\"expires_in\":\"60\"}",
						 now, tok, sizeof(tok), &exp, err, sizeof(err)),
			 0);
	assert_true(exp == now + 60000);
	/* the Azure CLI: accessToken, expires_on epoch seconds (a number) */
	assert_int_equal(
	    credential_parse_answer("{\"accessToken\":\"cli\",\"expires_on\":1700003600,"
				    "\"expiresOn\":\"2023-11-14 23:13:20.000000\"}",
				    now, tok, sizeof(tok), &exp, err, sizeof(err)),
	    0);
	assert_string_equal(tok, "cli");
	assert_true(exp == 1700003600000LL);
	/* older az: expiresOn in local time only */
	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_int_equal(credential_parse_answer("{\"accessToken\":\"cli\","
						 "\"expiresOn\":\"2023-11-14 18:13:20.123456\"}",
						 now, tok, sizeof(tok), &exp, err, sizeof(err)),
			 0);
	assert_true(exp == 1700003600000LL); /* 23:13:20 UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	/* no expiry at all */
	assert_int_equal(credential_parse_answer("{\"access_token\":\"x\"}", now, tok, sizeof(tok),
						 &exp, err, sizeof(err)),
			 0);
	assert_true(exp == 0);
	/* Entra's error: error, and the description's first line */
	assert_int_equal(credential_parse_answer(
			     "{\"error\":\"invalid_client\",\"error_description\":"
			     "\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: "
			     "1\",\"error_codes\":[7000215]}",
			     now, tok, sizeof(tok), &exp, err, sizeof(err)),
			 ERR_AUTH);
	assert_string_equal(err, "invalid_client: AADSTS7000215: Invalid client secret provided.");
	assert_int_equal(credential_parse_answer("{\"token_type\":\"Bearer\"}", now, tok,
						 sizeof(tok), &exp, err, sizeof(err)),
			 ERR_PARSE);
	assert_int_equal(
	    credential_parse_answer("not json", now, tok, sizeof(tok), &exp, err, sizeof(err)),
	    ERR_PARSE);
	char small[4];
	assert_int_equal(credential_parse_answer("{\"access_token\":\"toolong\"}", now, small,
						 sizeof(small), &exp, err, sizeof(err)),
			 ERR_PARSE);
}

static void clouds_and_scopes(void **state)
{
	const struct credential_cloud *c = credential_cloud_find("azureusgovernment");
	assert_non_null(c);
	assert_string_equal(c->authority, "https://login.microsoftonline.us");
	assert_string_equal(c->arm_endpoint, "https://management.usgovcloudapi.net");
	c = credential_cloud_find("AzureChinaCloud");
	assert_string_equal(c->authority, "https://login.chinacloudapi.cn");
	assert_string_equal(c->arm_endpoint, "https://management.chinacloudapi.cn");
	c = credential_cloud_find("AzureCloud");
	assert_string_equal(c->authority, "https://login.microsoftonline.com");
	assert_string_equal(c->arm_endpoint, "https://management.azure.com");
	assert_string_equal(c->classic_audience, "https://management.core.windows.net/");
	assert_null(credential_cloud_find("Mars"));
	char scope[128];
	credential_scope("https://management.core.windows.net/", scope, sizeof(scope));
	assert_string_equal(scope, "https://management.core.windows.net//.default");
	credential_scope("https://management.azure.com/", scope, sizeof(scope));
	assert_string_equal(scope, "https://management.azure.com/.default");
	enum credential_kind k;
	assert_int_equal(credential_pick_parse("managed-identity", &k), 0);
	assert_int_equal(k, CREDENTIAL_PICK_MANAGED_ID);
	assert_int_equal(credential_pick_parse("bogus", &k), ERR_INVAL);
}

static enum credential_kind pick(const char *const *env, enum credential_kind want, char *err)
{
	struct credential_config c;
	int rc = credential_select(env, want, NULL, "https://management.core.windows.net/", false,
				   &c, err, 512);
	enum credential_kind k = rc < 0 ? (enum credential_kind) - 1 : c.kind;
	credential_config_release(&c);
	return k;
}

static void chain_from_an_environment(void **state)
{
	char err[512];
	const char *secret[] = {"AZURE_TENANT_ID=t",
				"AZURE_CLIENT_ID=c",
				"AZURE_CLIENT_SECRET=s",
				"AZURE_FEDERATED_TOKEN_FILE=/f",
				"IDENTITY_ENDPOINT=http://127.0.0.1:1/msi/token",
				"IDENTITY_HEADER=h",
				NULL};
	assert_int_equal(pick(secret, CREDENTIAL_AUTO, err), CREDENTIAL_SECRET);
	assert_int_equal(pick(secret + 1, CREDENTIAL_AUTO, err), CREDENTIAL_APP_SERVICE);
	const char *wl[] = {"AZURE_TENANT_ID=t",
			    "AZURE_CLIENT_ID=c",
			    "AZURE_FEDERATED_TOKEN_FILE=/f",
			    "IDENTITY_ENDPOINT=http://127.0.0.1:1/",
			    "IDENTITY_HEADER=h",
			    NULL};
	assert_int_equal(pick(wl, CREDENTIAL_AUTO, err), CREDENTIAL_WORKLOAD);
	assert_int_equal(pick(wl, CREDENTIAL_PICK_MANAGED_ID, err), CREDENTIAL_APP_SERVICE);
	/* an empty value counts as unset */
	const char *empty[] = {"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c",
			       "AZURE_CLIENT_SECRET=", NULL};
	assert_int_equal(pick(empty, CREDENTIAL_AUTO, err), CREDENTIAL_NONE);
	assert_int_equal((int)pick(empty, CREDENTIAL_PICK_ENV, err), -1);
	assert_non_null(strstr(err, "AZURE_CLIENT_SECRET"));
	assert_null(strstr(err, "AZURE_TENANT_ID"));
	/* managed identity with nothing set: IMDS, overridable */
	const char *none[] = {"PATH=/nonexistent", NULL};
	assert_int_equal(pick(none, CREDENTIAL_PICK_MANAGED_ID, err), CREDENTIAL_IMDS);
	struct credential_config c;
	const char *pod[] = {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9/", NULL};
	assert_int_equal(credential_select(pod, CREDENTIAL_PICK_MANAGED_ID, NULL, "r", false, &c,
					   err, sizeof(err)),
			 0);
	assert_string_equal(c.endpoint, "http://127.0.0.1:9/metadata/identity/oauth2/token");
	credential_config_release(&c);
	assert_int_equal(credential_select(none, CREDENTIAL_PICK_MANAGED_ID, NULL, "r", false, &c,
					   err, sizeof(err)),
			 0);
	assert_string_equal(c.endpoint, "http://169.254.169.254/metadata/identity/oauth2/token");
	credential_config_release(&c);
	/* the cloud's authority, unless AZURE_AUTHORITY_HOST says otherwise */
	assert_int_equal(credential_select(secret, CREDENTIAL_AUTO,
					   credential_cloud_find("AzureChinaCloud"), "r", false, &c,
					   err, sizeof(err)),
			 0);
	assert_string_equal(c.authority, "https://login.chinacloudapi.cn");
	credential_config_release(&c);
	const char *host[] = {"AZURE_AUTHORITY_HOST=login.example.com/", NULL};
	assert_int_equal(
	    credential_select(host, CREDENTIAL_AUTO, NULL, "r", false, &c, err, sizeof(err)), 0);
	assert_string_equal(c.authority, "https://login.example.com");
	assert_int_equal(c.kind, CREDENTIAL_NONE);
	assert_non_null(strstr(c.looked_for, "AZURE_FEDERATED_TOKEN_FILE"));
	credential_config_release(&c);
	const char *plain[] = {"AZURE_AUTHORITY_HOST=http://login.example.com", NULL};
	assert_int_equal(
	    credential_select(plain, CREDENTIAL_AUTO, NULL, "r", false, &c, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "loopback"));
	credential_config_release(&c);
	/* the Azure CLI's command names the resource */
	assert_int_equal(credential_select(none, CREDENTIAL_AZURE_CLI, NULL,
					   "https://management.azure.com/", false, &c, err,
					   sizeof(err)),
			 0);
	assert_string_equal(c.az_command, "az account get-access-token --resource "
					  "'https://management.azure.com/' --output json");
	credential_config_release(&c);
}

static void secret_file_follows_the_token_file_rules(void **state)
{
	char path[] = "/tmp/rabulk-secret-XXXXXX", var[64], err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\n", 7), 7);
	close(fd);
	snprintf(var, sizeof(var), "AZURE_CLIENT_SECRET_FILE=%s", path);
	const char *env[] = {"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", var, NULL};
	struct credential_config c;
	assert_int_equal(
	    credential_select(env, CREDENTIAL_AUTO, NULL, "r", false, &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CREDENTIAL_SECRET);
	assert_string_equal(c.secret, "s3cret");
	credential_config_release(&c);
	assert_null(c.secret);
	chmod(path, 0644);
	assert_int_equal(
	    credential_select(env, CREDENTIAL_AUTO, NULL, "r", false, &c, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "chmod 600"));
	credential_config_release(&c);
	unlink(path);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(assertion_is_an_rs256_jwt_signed_by_the_key),
	    cmocka_unit_test(answers_in_every_shape),
	    cmocka_unit_test(clouds_and_scopes),
	    cmocka_unit_test(chain_from_an_environment),
	    cmocka_unit_test(secret_file_follows_the_token_file_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
