/* remoteapp.h — the emulator's RemoteApp management API: the routes of
 * DESIGN section 1 (list sessions; disconnect, log off, send a message;
 * poll an operation), as the recordings in shared/conformance show them.
 *
 * The wire vocabulary (api-version, x-ms-version, the tracking header, the
 * operations' path words) is service/remoteapp.h's, the same the client
 * sends with, so the two cannot drift apart. */
#ifndef RABULK_EMU_REMOTEAPP_H
#define RABULK_EMU_REMOTEAPP_H

#include "emulator/route.h"

/* Serves /{subscription}/services/{namespace}/... (route.h). */
extern const struct route_service remoteapp_routes;

#endif
