/* avdseed.h — filling the emulator's AVD world (avdstate.h) from a CSV
 * file or from a generator spec.
 *
 *   CSV   header HostPool,SessionHost,UserPrincipalName[,SessionState,ResourceGroup]
 *         (any order, any case; HostPoolName, SessionHostName, UserUpn, Upn,
 *         State and ResourceGroupName are read too). A HostPool cell "rg/hp"
 *         names its resource group; otherwise the ResourceGroup cell does,
 *         or AVDSEED_DEFAULT_RG. One row, one session: a user may have any
 *         number. SessionState empty or absent: Active.
 *   spec  "RG/HP:HOSTS:SESSIONS" — host pool HP in resource group RG with
 *         session hosts Host-0 .. Host-(HOSTS-1) and SESSIONS sessions:
 *         with E = SESSIONS/10 and U = SESSIONS - E, users
 *         user1@contoso.com .. userU@contoso.com hold one session each, user
 *         k's on Host-((k-1) mod HOSTS), Disconnected when k is a multiple
 *         of 5, else Active; then users 1 .. E get a second, Active session
 *         on the next host (so with HOSTS > 1, one user in ten has sessions
 *         on two hosts).
 *
 * Both want the caller to hold the lock guarding st. Not thread-safe. */
#ifndef RABULK_EMU_AVDSEED_H
#define RABULK_EMU_AVDSEED_H

#include "emulator/avdstate.h"

#include <stddef.h>
#include <stdint.h>

#define AVDSEED_DEFAULT_RG "rabulk-rg"

/* Adds path's sessions, created at now_ms. Returns 0, or ERR_IO, ERR_INVAL
 * (a bad header or row) or ERR_NOMEM with err set ("'f.csv': line 3: ..."). */
int avdseed_file(struct avdstate *st, const char *path, int64_t now_ms, char *err, size_t errlen);
/* Adds spec's pool, hosts and sessions. Returns 0, or ERR_INVAL or ERR_NOMEM
 * with err set. */
int avdseed_generate(struct avdstate *st, const char *spec, int64_t now_ms, char *err,
		     size_t errlen);

#endif
