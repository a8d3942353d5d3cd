/* idp.h — the emulator as Entra ID and as a managed identity endpoint.
 *
 * Issues tokens on the paths the real services use, so that rabulk's
 * credential chain (engine/credential.h) runs unchanged against it:
 *
 *   POST /{tenant}/oauth2/v2.0/token   client_credentials, with a client
 *        secret (--idp-client ID:SECRET), a client assertion signed by a
 *        registered certificate (--idp-client-cert ID:PEM: x5t and RS256
 *        signature, aud, iss, sub, nbf, exp checked), or a federated token
 *        for a workload identity (--idp-federated ID: a token this emulator
 *        issued at /_emulator/token, not expired);
 *   GET  /metadata/identity/oauth2/token   IMDS, `Metadata: true` required;
 *   GET  /msi/token   App Service, X-IDENTITY-HEADER (--idp-identity-header).
 *
 * Errors have Entra ID's shape (error, error_description with an AADSTS
 * code, error_codes). Tokens are auth_issue()'s, so the API routes accept
 * them until they expire (--token-ttl, 1 h by default). */
#ifndef RABULK_EMU_IDP_H
#define RABULK_EMU_IDP_H

#include "emulator/emu.h"
#include "emulator/route.h"

#include <stddef.h>

struct idp;

/* Reads the registrations of c (certificates are loaded now). Caller owns
 * the result; NULL with err set (a bad ID:SECRET, an unreadable PEM). */
struct idp *idp_new(const struct emu_config *c, char *err, size_t errlen);
/* idp_free(NULL) is a no-op. */
void idp_free(struct idp *p);

/* The routes above; they decline everything when the identity provider is off. */
extern const struct route_service idp_routes;

#endif
