/* cert.c — management certificates through OpenSSL.
 *
 * PEM is tried first (a certificate, then a private key from --key or the
 * same file); anything else is read as PKCS#12, the format Windows exports
 * (.pfx). The checks are the ones that would otherwise surface as a vague
 * TLS handshake failure or a 403 in the middle of a run: wrong password,
 * a key that does not belong to the certificate, a certificate out of
 * date. The password is never copied. */
#include "engine/cert.h"
#include "lib/err.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	return r ? r : "unreadable";
}

static int fail(char *err, size_t n, const char *what, const char *path, const char *why)
{
	snprintf(err, n, "%s '%s': %s", what, path, why);
	ERR_clear_error();
	return ERR_INVAL;
}

static int load_pkcs12(const char *path, const char *password, X509 **x, EVP_PKEY **k, char *err,
		       size_t n)
{
	BIO *b = BIO_new_file(path, "rb");
	PKCS12 *p12 = b ? d2i_PKCS12_bio(b, NULL) : NULL;
	BIO_free(b);
	if (!p12)
		return fail(err, n, "cannot read certificate", path, "neither PEM nor PKCS#12");
	int ok = PKCS12_parse(p12, password ? password : "", k, x, NULL);
	PKCS12_free(p12);
	if (!ok || !*x)
		return fail(err, n, "cannot open PKCS#12", path,
			    password
				? "wrong password (RABULK_CERT_PASSWORD or --cert-password-file)?"
				: "it needs a password (RABULK_CERT_PASSWORD or "
				  "--cert-password-file)");
	if (!*k)
		return fail(err, n, "no private key in", path, "export it with its key");
	return 0;
}

static int load_pem(const char *path, const char *keyfile, const char *password, X509 **x,
		    EVP_PKEY **k, char *err, size_t n)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return fail(err, n, "cannot open certificate", path, strerror(errno));
	*x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!*x)
		return 1; /* not PEM */
	const char *kf = keyfile ? keyfile : path;
	if (!(b = BIO_new_file(kf, "r")))
		return fail(err, n, "cannot open key", kf, strerror(errno));
	*k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)(password ? password : ""));
	BIO_free(b);
	if (!*k)
		return fail(err, n, keyfile ? "cannot read key" : "no private key in", kf,
			    keyfile ? ssl_reason() : "give it with --key FILE");
	return 0;
}

static void hex_thumbprint(X509 *x, char *dst)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	X509_digest(x, EVP_sha1(), md, &len);
	for (unsigned i = 0; i < len && i < 20; i++)
		snprintf(dst + 2 * i, 3, "%02X", md[i]);
}

/* Dates: refuse what is not valid now; count the days left. */
static int check_dates(X509 *x, const char *path, struct cert_info *out, char *err, size_t n)
{
	int days = 0, secs = 0;
	struct tm tm;
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		return fail(err, n, "certificate", path, "not valid yet");
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		char when[64] = "?";
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(err, n,
			 "certificate '%s' expired on %s: renew it and upload it to the "
			 "subscription",
			 path, when);
		return ERR_INVAL;
	}
	ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
	out->days_left = days;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		out->not_after_ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

int cert_open(const char *path, const char *keyfile, const char *password, void **x509, void **pkey,
	      struct cert_info *out, char *err, size_t n)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	memset(out, 0, sizeof(*out));
	int rc = load_pem(path, keyfile, password, &x, &k, err, n);
	if (rc == 1) {
		if (keyfile) {
			snprintf(err, n, "--key is for PEM certificates; '%s' is not PEM", path);
			return ERR_INVAL;
		}
		out->pkcs12 = true;
		rc = load_pkcs12(path, password, &x, &k, err, n);
	}
	if (rc == 0 && X509_check_private_key(x, k) != 1)
		rc = fail(err, n, "the key does not belong to certificate", path, "check --key");
	if (rc == 0)
		rc = check_dates(x, path, out, err, n);
	if (rc == 0) {
		hex_thumbprint(x, out->thumbprint);
		X509_NAME_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	}
	ERR_clear_error();
	if (rc < 0 || !x509) {
		X509_free(x);
		EVP_PKEY_free(k);
		return rc;
	}
	*x509 = x, *pkey = k;
	return 0;
}

int cert_load(const char *path, const char *keyfile, const char *password, struct cert_info *out,
	      char *err, size_t n)
{
	return cert_open(path, keyfile, password, NULL, NULL, out, err, n);
}

bool cert_thumbprint_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == ':' || *a == ' ')
			a++;
		while (*b == ':' || *b == ' ')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (toupper((unsigned char)*a++) != toupper((unsigned char)*b++))
			return false;
	}
}
