/* cert.h — the management certificate: load it, check it, name it.
 *
 * The service identified a caller by a TLS client certificate registered
 * for the subscription, and Azure PowerShell's profile names it by its
 * SHA-1 thumbprint. Here OpenSSL reads the certificate (PEM with a key, or
 * PKCS#12), checks that the key belongs to it and that it is in date, and
 * computes the thumbprint; libcurl then presents it on every connection. */
#ifndef RABULK_CERT_H
#define RABULK_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cert_info {
	bool pkcs12;	     /* else PEM */
	char thumbprint[41]; /* SHA-1 of the DER certificate, upper-case hex */
	char subject[256];
	int64_t not_after_ms; /* Unix ms */
	int days_left;	      /* whole days until not_after */
};

/* Loads `cert` (PEM or PKCS#12, told apart by content) and, for PEM, its
 * key from `key` (NULL: the same file). password decrypts the PKCS#12 or
 * the key; NULL for none. Returns 0 with out filled, or ERR_INVAL with a
 * message naming the file and the reason (unreadable, wrong password, key
 * does not match, expired, not yet valid). */
int cert_load(const char *cert, const char *key, const char *password, struct cert_info *out,
	      char *err, size_t errlen);
/* cert_load() that also hands over the certificate (*x509, an X509 *) and
 * its key (*pkey, an EVP_PKEY *) when x509 is not NULL: caller frees them
 * (X509_free, EVP_PKEY_free). Used to sign client assertions. */
int cert_open(const char *cert, const char *key, const char *password, void **x509, void **pkey,
	      struct cert_info *out, char *err, size_t errlen);
/* "a1:b2 ..." or "A1B2..." compare equal; case, spaces and colons are ignored. */
bool cert_thumbprint_equal(const char *a, const char *b);

#endif
