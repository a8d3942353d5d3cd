/* opid.c — the tracking-id codec (see opid.h).
 *
 * Layout of the 16 bytes, big-endian fields:
 *
 *   0-5   creation time, ms          10     op << 4 | failed
 *   6-9   session index              11-13  noise (makes every id distinct)
 *                                    14-15  check: the secret mixed with 0-13
 *
 * The check is 16 bits: enough to tell a made-up or mistyped id from a real
 * one, which is all a test double needs. */
#include "emulator/opid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t check(const struct rng *r, const unsigned char *b)
{
	uint64_t x = r->secret;
	for (int i = 0; i < 14; i++)
		x = rng_mix(x ^ b[i]);
	return (uint16_t)x;
}

void opid_encode(struct rng *r, const struct opid *op, char *dst)
{
	unsigned char b[16];
	uint64_t noise = rng_next(r);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(op->created_ms >> (40 - 8 * i));
	for (int i = 0; i < 4; i++)
		b[6 + i] = (unsigned char)(op->session >> (24 - 8 * i));
	b[10] = (unsigned char)(op->op << 4 | op->failed);
	b[11] = (unsigned char)noise, b[12] = (unsigned char)(noise >> 8);
	b[13] = (unsigned char)(noise >> 16);
	uint16_t c = check(r, b);
	b[14] = (unsigned char)(c >> 8), b[15] = (unsigned char)c;
	sprintf(dst, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		b[14], b[15]);
}

bool opid_decode(const struct rng *r, const char *id, struct opid *op)
{
	unsigned char b[16];
	int n = 0;
	if (strlen(id) != OPID_LEN)
		return false;
	for (int i = 0; i < OPID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
			continue;
		}
		if (!isxdigit((unsigned char)id[i]) || !isxdigit((unsigned char)id[i + 1]))
			return false;
		char hex[3] = {id[i], id[i + 1], 0};
		b[n++] = (unsigned char)strtoul(hex, NULL, 16);
		i++;
	}
	if (check(r, b) != (uint16_t)(b[14] << 8 | b[15]) || (b[10] >> 4) > SERVICE_MESSAGE)
		return false;
	op->created_ms = 0, op->session = 0;
	for (int i = 0; i < 6; i++)
		op->created_ms = op->created_ms << 8 | b[i];
	for (int i = 0; i < 4; i++)
		op->session = op->session << 8 | b[6 + i];
	op->op = (enum service_op)(b[10] >> 4);
	op->failed = b[10] & 1;
	return true;
}
