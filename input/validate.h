/* validate.h — the Disconnect-AzureRemoteAppSession cmdlet's parameter rules.
 *
 * Each function returns NULL when the value is acceptable, otherwise a static
 * string saying why not (for the report's error_message). Thread-safe. */
#ifndef RABULK_VALIDATE_H
#define RABULK_VALIDATE_H

#include <stddef.h>

#define VALIDATE_FIELD_MAX 1024 /* bytes; longer fields are invalid */

/* ^[A-Za-z][A-Za-z0-9\x7F-\uFFFF]{2,12}$ over len bytes of UTF-8. */
const char *validate_collection(const char *s, size_t len);
/* ^[^@"/\[\]:;|=,+*?<>\s]+@[^,~:@#$%^&'.(){}_\s]+(\.[^,~:@#$%^&'.(){}_\s]+)+$ */
const char *validate_upn(const char *s, size_t len);
/* Shared checks: empty, over VALIDATE_FIELD_MAX, invalid UTF-8, control
 * characters (which includes an embedded NUL within len). */
const char *validate_field(const char *s, size_t len);

#endif
