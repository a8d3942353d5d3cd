/* avd.h — the emulator's Azure Virtual Desktop routes: ARM's front door
 * (bearer token, api-version, subscription, role) and the provider
 * Microsoft.DesktopVirtualization behind it, as DESIGN section 8 and the
 * recordings in ../shared/conformance/avd-recordings show them. With
 * P = /subscriptions/{sub}/resourceGroups/{rg}/providers/
 * Microsoft.DesktopVirtualization/hostPools/{hp}:
 *
 *   GET    P/userSessions                          a page of the pool's sessions
 *   GET    P/sessionHosts                          a page of its session hosts
 *   GET    P/sessionHosts/{sh}                     one SessionHost
 *   PATCH  P/sessionHosts/{sh}                     {"properties":{"allowNewSession":b}}
 *   GET    P/sessionHosts/{sh}/userSessions        a page of the host's sessions
 *   GET    P/sessionHosts/{sh}/userSessions/{id}   one UserSession
 *   DELETE P/sessionHosts/{sh}/userSessions/{id}   log off: 204
 *   POST   P/sessionHosts/{sh}/userSessions/{id}/disconnect    200, empty
 *   POST   P/sessionHosts/{sh}/userSessions/{id}/sendMessage   200, empty
 *
 * Lists are paged (--page-size, or the query's pageSize): nextLink is an
 * absolute http(s)://127.0.0.1:PORT URL with the request's path and query
 * and a $skiptoken, null on the last page. Accepted api-versions:
 * 2025-10-10 (rabulk's) and the recordings' 2025-03-01-preview and
 * 2024-04-03. The world is avdstate.h's; the wire vocabulary (api-version,
 * provider name) is service/avd.h's. */
#ifndef RABULK_EMU_AVD_H
#define RABULK_EMU_AVD_H

#include "emulator/route.h"

/* Serves /subscriptions/{sub}/resourceGroups/{rg}/providers/
 * Microsoft.DesktopVirtualization/hostPools/... (route.h). */
extern const struct route_service avd_routes;

#endif
