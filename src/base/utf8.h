/*
 * utf8.h: the UTF-8 facts that the CSV reader, the validation rules and the
 * request bodies share: how many characters a byte string holds (RFC 3629
 * section 3), and which characters count as white space (Unicode's
 * White_Space property, UCD PropList.txt, plus the invisible zero-width
 * characters), and the one form ids are compared in (Unicode NFC, by
 * utf8proc). Pure functions; only utf8_nfc() allocates.
 */
#ifndef FINCH_UTF8_H
#define FINCH_UTF8_H

#include <stddef.h>

/*
 * Number of Unicode characters in s[0..len), or -1 if it is not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid).
 */
long utf8_count(const char *s, size_t len);

/*
 * Bytes of Unicode white space (White_Space, plus the invisible zero-width
 * characters U+200B, U+200C, U+200D, U+2060 and U+FEFF, a stray byte order
 * mark) at the start / at the end of s[0..len), UTF-8 encoded. Every
 * function here that names white space means this set.
 */
size_t utf8_space_prefix(const char *s, size_t len);
/* The length in bytes of the white space character at s[0..len), or 0. */
size_t utf8_space_at(const char *s, size_t len);
size_t utf8_space_suffix(const char *s, size_t len);
/*
 * Overwrites every Unicode white space character in s[0..len) with as many
 * ASCII spaces as it has bytes (so lengths and offsets stay).
 */
void utf8_space_to_ascii(char *s, size_t len);

/*
 * s in Unicode Normalization Form C (UAX #15), computed by utf8proc:
 * "mu\xcc\x88ller" (u and a combining diaeresis, as macOS and PDFs write it)
 * and "m\xc3\xbcller" (one precomposed character, as Windows and web forms
 * do) are both "m\xc3\xbcller". A string that is already NFC (every ASCII
 * one) comes back as it was. Returns a malloc'd string the caller frees, or
 * NULL when s is not valid UTF-8; out of memory aborts, as xmalloc does.
 */
char *utf8_nfc(const char *s);

#endif
