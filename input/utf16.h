/* utf16.h — UTF-16 (LE or BE) to UTF-8, a chunk at a time.
 *
 * PowerShell 5.1's `>` and Out-File, and Excel's "Unicode text", write
 * UTF-16LE with a BOM. The reader transcodes such input while streaming,
 * so memory stays one buffer whatever the file's size. A pure module: no
 * I/O, state carried between calls. What cannot be decoded (an unpaired
 * surrogate, an odd last byte) becomes the byte 0xFF, which is never valid
 * UTF-8: the row holding it is reported invalid with its line, like any
 * other invalid UTF-8. */
#ifndef RABULK_UTF16_H
#define RABULK_UTF16_H

#include <stdbool.h>
#include <stddef.h>

#define UTF16_BAD 0xFF /* stands for what could not be decoded */

struct utf16 {
	bool big_endian;
	unsigned hi;	   /* a high surrogate waiting for its pair, or 0 */
	unsigned char odd; /* a first byte waiting for its second */
	bool has_odd;
};

/* Which UTF-16 a BOM at p says: 'L', 'B', or 0 for none. */
int utf16_bom(const unsigned char *p, size_t n);

/* Decodes in[0..n) into out (room bytes, at least 4); returns the bytes
 * written and sets *used to the input bytes consumed (all of them unless
 * out filled up). */
size_t utf16_decode(struct utf16 *u, const unsigned char *in, size_t n, size_t *used, char *out,
		    size_t room);

/* At the end of the input: what is left undecoded, as UTF16_BAD bytes (at
 * most 2). Returns the bytes written to out. */
size_t utf16_finish(struct utf16 *u, char *out);

#endif
