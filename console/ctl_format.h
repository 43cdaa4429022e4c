/*
 * Output of goldlinectl: the JSON result as it came, or tables for people. Tables measure text
 * in terminal columns with wcwidth() (a Chinese call sign such as "贵溪01" is 6 columns wide,
 * not 8 bytes), replace control characters so caller-supplied text cannot move the cursor, and
 * show times in the county's time zone, which the dispatcher announces in its hello reply.
 * Nothing here touches a socket: the functions take parsed JSON and a FILE.
 */
#ifndef GL_CTL_FORMAT_H
#define GL_CTL_FORMAT_H

#include <jansson.h>
#include <stdio.h>

/*
 * Returns the width in terminal columns of UTF-8 text, measured as if the terminal were
 * UTF-8 whatever the process locale is. Control characters count 1 (tables print them as '?');
 * invalid bytes count 1 each.
 */
int ctl_text_width(const char *utf8);

/*
 * Prints `result` as JSON: indented by 2 (keys in the server's order) or, when compact is set,
 * on one line. Non-ASCII text is printed as UTF-8, not escaped. Returns 0 or GL_EIO.
 */
int ctl_format_json(FILE *out, const json_t *result, int compact);

/*
 * Prints the result of `op` (an API op name: "call.new", "fleet", ...) as a table. `tz` is the
 * county time zone from hello ("Asia/Shanghai"), or NULL to use the process's own; it is set as
 * the process time zone. Missing optional fields print as "-". Returns 0, or GL_EPROTO when the
 * result lacks what the op's table needs (the caller then falls back to JSON).
 */
int ctl_format_table(FILE *out, const char *op, const json_t *result, const char *tz);

/*
 * Writes a duration of secs seconds (truncated to whole seconds) as "mm:ss", or "h:mm:ss" from
 * one hour on, with a leading '-' when negative: 65 -> "01:05", 3725 -> "1:02:05". Returns the
 * snprintf length, or -1 (and "?") for a value that is not finite or beyond 1e9 seconds.
 */
int ctl_format_duration(double secs, char *buf, size_t len);

/*
 * Prints an error reply's {"code","message"} object as one line,
 * "goldlinectl: [context: ]CODE: message", with control characters replaced. `context` may be
 * NULL. Tolerates a missing or malformed object (code EUNKNOWN).
 */
void ctl_format_error(FILE *err, const char *context, const json_t *error);

#endif
