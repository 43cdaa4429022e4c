/*
 * Text helpers for fixed-size fields. Chinese names, addresses and reasons are UTF-8: cutting
 * one at a byte limit must not split a character, or JSON encoders (rightly) refuse the whole
 * string and the field silently disappears.
 */
#ifndef GL_TEXT_H
#define GL_TEXT_H

#include <stddef.h>

/*
 * Copies `src` into `dst` (room for `size` bytes, NUL included), cutting at the last whole
 * UTF-8 character that fits. Returns 1 if it had to cut, else 0. `src` NULL copies "".
 */
int gl_utf8_copy(char *dst, size_t size, const char *src);

/* 1 if `s` is valid UTF-8 (no overlongs, no surrogates), else 0. */
int gl_utf8_valid(const char *s);

#endif
