/* emu.h — an in-process emulator of the RemoteApp management API and of
 * Azure Virtual Desktop's (ARM provider Microsoft.DesktopVirtualization).
 *
 * Serves the DESIGN section 1 endpoints and section 8's AVD ones on
 * 127.0.0.1 from libmicrohttpd's own threads, with the headers and bodies
 * the recordings show, plus an observability API under /_emulator/. Used
 * by rabulk-emulator and by `rabulk --emulator`. All functions are
 * thread-safe. */
#ifndef RABULK_EMU_H
#define RABULK_EMU_H

#include <stdbool.h>
#include <stddef.h>

struct emu_config {
	int port;		  /* 0: any free port */
	const char *subscription; /* NULL: accept any */
	const char *ns;		  /* default "remoteapp" */
	const char *token;	  /* a fixed bearer token (NULL: none) */
	long token_ttl_ms;	  /* > 0: require tokens issued at /_emulator/token, this long */
	long token_skew_ms;	  /* each request's front end runs up to this far ahead */
	/* The identity provider (idp.h): on when idp is set. Then API routes
	 * also require a token (one it issued, not expired). */
	bool idp;
	const char *const *idp_clients;	  /* "ID:SECRET" each, n_idp_clients of them */
	const char *const *idp_certs;	  /* "ID:CERT.pem" each */
	const char *const *idp_federated; /* "ID": takes tokens of /_emulator/token as assertions */
	int n_idp_clients, n_idp_certs, n_idp_federated;
	const char *idp_identity_header; /* App Service's X-IDENTITY-HEADER (/msi/token) */
	const char *tls_cert, *tls_key;	 /* PEM files: serve HTTPS */
	const char *client_ca;		 /* PEM: require a client certificate it issued */
	long op_delay_ms;		 /* operations stay Pending this long */
	bool no_session_404;		 /* no session: 404 now, instead of 202 then Failed */
	int threads;			 /* server threads, default 2 */
	size_t log_max;			 /* requests kept for /_emulator/log */
	unsigned idle_timeout_s;	 /* idle connections closed after this; 0: 120 */

	/* faults, on API requests only */
	long latency_ms, jitter_ms; /* every answer waits latency +- jitter */
	double p429, p503, p500;    /* answer this status instead of working */
	double preset;		    /* do the work, then close without answering */
	double pstall;		    /* never answer (until the emulator stops) */
	double ptruncate;	    /* do the work, answer, cut the body short */
	double throttle;	    /* requests per second, 0 = off; over it: 429 */
	long retry_after_ms;	    /* on 429 and 503; 0: 1 s, or the throttle's own wait */

	/* Azure Virtual Desktop */
	int avd_page_size;   /* items per list page (a pageSize query overrides); 0: 50 */
	unsigned avd_forbid; /* EMU_AVD_FORBID_* bits: those calls answer 403 AuthorizationFailed */
	const char *arm_quota; /* ARM's buckets, armquota_parse's spec
				* ("writes=200:10,..."); NULL: none */
};

/* What --avd-forbid denies every caller, as a principal lacking the role. */
#define EMU_AVD_FORBID_SESSIONS 1u /* user sessions: list, get, disconnect, logoff, message */
#define EMU_AVD_FORBID_HOSTS 2u	   /* session hosts: list, get, drain (PATCH) */

/* Parses "sessions", "hosts", "sessions,hosts" (or "none") into bits.
 * Returns 0 or ERR_INVAL. */
int emu_parse_avd_forbid(const char *spec, unsigned *bits);

/* Parses "--fault" text such as "429=0.05,503=0.02,reset=0.01" into c.
 * Returns 0 or ERR_INVAL. */
int emu_parse_faults(struct emu_config *c, const char *spec);

struct emu;

/* Starts serving. Caller owns the result; NULL with err set on failure. */
struct emu *emu_new(const struct emu_config *c, char *err, size_t errlen);
/* The port it listens on (useful with port 0). */
int emu_port(const struct emu *e);
/* "https" or "http". */
const char *emu_scheme(const struct emu *e);
/* Adds a collection (idempotent). Returns 0 or ERR_NOMEM. */
int emu_add_collection(struct emu *e, const char *collection);
/* Adds (or resets) a session, creating its collection; state NULL means
 * "Connected". Returns 0, ERR_INVAL for an unknown state, or ERR_NOMEM. */
int emu_add_session(struct emu *e, const char *collection, const char *upn, const char *state);
/* Seeds from a CSV file (header CollectionName,UserUpn[,State], rabulk's
 * input aliases). Returns 0 or a negative error with err set. */
int emu_seed_file(struct emu *e, const char *path, char *err, size_t errlen);
/* "NAME:N": collection NAME with sessions user1@contoso.com .. userN@contoso.com. */
int emu_generate(struct emu *e, const char *spec, char *err, size_t errlen);
/* AVD: adds a session for upn on session_host (spelled as it will be
 * served, case-sensitive) of host pool rg/hp (created as needed; any
 * subscription serves them), with that host's next session id; state NULL
 * means "Active", else a SessionState name in any case. A user may hold
 * any number of sessions. Returns 0, ERR_INVAL for an unknown state, or
 * ERR_NOMEM. */
int emu_avd_add_session(struct emu *e, const char *rg, const char *hp, const char *session_host,
			const char *upn, const char *state);
/* AVD: seeds from a CSV file (header HostPool,SessionHost,UserPrincipalName
 * [,SessionState,ResourceGroup]; a HostPool "rg/hp" names its group, else
 * "rabulk-rg"). Returns 0 or a negative error with err set. */
int emu_avd_seed_file(struct emu *e, const char *path, char *err, size_t errlen);
/* AVD: "RG/HP:HOSTS:SESSIONS": pool HP in RG with hosts Host-0 .. and
 * SESSIONS sessions spread over them (emulator/avdseed.h says how; one user
 * in ten has a second session on another host). Returns 0 or a negative
 * error with err set. */
int emu_avd_generate(struct emu *e, const char *spec, char *err, size_t errlen);
/* Stops serving and frees everything. emu_free(NULL) is a no-op. */
void emu_free(struct emu *e);

#endif
