/* err.h — the one list of error codes every rabulk module returns.
 *
 * Actions return int: 0 on success or one of the negative ERR_* codes below.
 * Adding a code? Add one line to ERR_MAP; err_name() and err_str() follow. */
#ifndef RABULK_ERR_H
#define RABULK_ERR_H

#define ERR_MAP(X)                                                                                 \
	X(NOMEM, -1, "out of memory")                                                              \
	X(INVAL, -2, "invalid argument")                                                           \
	X(IO, -3, "input/output error")                                                            \
	X(PARSE, -4, "parse error")                                                                \
	X(RANGE, -5, "value out of range")                                                         \
	X(CLOSED, -6, "closed")                                                                    \
	X(AGAIN, -7, "not ready, try again")                                                       \
	X(NOENT, -8, "not found")                                                                  \
	X(TOOBIG, -9, "too big")                                                                   \
	X(AUTH, -12, "credentials rejected or unavailable")                                        \
	X(STOPPED, -13, "given up: the run is stopping")

enum err {
	ERR_OK = 0,
#define ERR_ENUM_(name, code, msg) ERR_##name = code,
	ERR_MAP(ERR_ENUM_)
#undef ERR_ENUM_
};

/* err_name(-1) is "NOMEM"; err_str(-1) is "out of memory". Unknown codes
 * give "UNKNOWN" / "unknown error". Thread-safe (static strings). */
const char *err_name(int code);
const char *err_str(int code);

#endif
