/* utf16.c — UTF-16 to UTF-8 (see utf16.h). */
#include "input/utf16.h"

int utf16_bom(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
		return 'L';
	if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
		return 'B';
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One 16-bit unit; writes at most 4 bytes. */
static size_t unit(struct utf16 *u, unsigned v, char *out)
{
	size_t n = 0;
	if (u->hi && v >= 0xDC00 && v <= 0xDFFF) {
		unsigned cp = 0x10000 + ((u->hi - 0xD800) << 10) + (v - 0xDC00);
		u->hi = 0;
		return put_utf8(out, cp);
	}
	if (u->hi) { /* a high surrogate without its pair */
		out[n++] = (char)UTF16_BAD;
		u->hi = 0;
	}
	if (v >= 0xD800 && v <= 0xDBFF)
		u->hi = v;
	else if (v >= 0xDC00 && v <= 0xDFFF)
		out[n++] = (char)UTF16_BAD;
	else
		n += put_utf8(out + n, v);
	return n;
}

size_t utf16_decode(struct utf16 *u, const unsigned char *in, size_t n, size_t *used, char *out,
		    size_t room)
{
	size_t i = 0, o = 0;
	while (i < n && o + 4 <= room) {
		unsigned char a, b;
		if (u->has_odd) {
			a = u->odd, b = in[i++];
			u->has_odd = false;
		} else if (i + 1 < n) {
			a = in[i], b = in[i + 1];
			i += 2;
		} else {
			u->odd = in[i++], u->has_odd = true;
			break;
		}
		unsigned v = u->big_endian ? (unsigned)a << 8 | b : (unsigned)b << 8 | a;
		/* a pending high surrogate and a bad unit: at most 1 + 3 bytes */
		o += unit(u, v, out + o);
	}
	*used = i;
	return o;
}

size_t utf16_finish(struct utf16 *u, char *out)
{
	size_t n = 0;
	if (u->hi)
		out[n++] = (char)UTF16_BAD;
	if (u->has_odd)
		out[n++] = (char)UTF16_BAD;
	u->hi = 0, u->has_odd = false;
	return n;
}
