/*
 * UTF-8-safe copying (see text.h).
 */
#include "text.h"

#include <string.h>

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if it is not one. */
static size_t seq_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, min = 0x80, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, min = 0x800, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int gl_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = seq_len(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

int gl_utf8_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return 1;
    if (!src)
        src = "";
    const unsigned char *p = (const unsigned char *)src;
    size_t used = 0;
    while (p[used]) {
        size_t n = seq_len(p + used);
        if (!n || used + n > size - 1)
            break;
        used += n;
    }
    memcpy(dst, src, used);
    dst[used] = '\0';
    return p[used] != '\0';
}
