/* err.c — names and messages for the ERR_MAP codes (see err.h). */
#include "lib/err.h"

const char *err_name(int code)
{
	switch (code) {
	case 0:
		return "OK";
#define ERR_NAME_(name, c, msg)                                                                    \
	case c:                                                                                    \
		return #name;
		ERR_MAP(ERR_NAME_)
#undef ERR_NAME_
	}
	return "UNKNOWN";
}

const char *err_str(int code)
{
	switch (code) {
	case 0:
		return "success";
#define ERR_STR_(name, c, msg)                                                                     \
	case c:                                                                                    \
		return msg;
		ERR_MAP(ERR_STR_)
#undef ERR_STR_
	}
	return "unknown error";
}
