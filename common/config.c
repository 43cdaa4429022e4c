/*
 * The configuration loader: defaults, file, environment, command line, in that order.
 */
#include "config.h"

#include "err.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gl_cfg_option_t *find_option(const gl_cfg_option_t *opts, const char *name,
                                          size_t len)
{
    for (const gl_cfg_option_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static int set_value(const gl_cfg_option_t *o, void *cfg, const char *value, const char *source,
                     char *err, size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    char *end;
    switch (o->type) {
    case GL_CFG_STR:
        if (strlen(value) >= o->size) {
            snprintf(err, errlen, "%s: %s is longer than %zu characters", source, o->name,
                     o->size - 1);
            return GL_EINVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case GL_CFG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end != '\0' ||
            (o->min != o->max && (v < (long long)o->min || v > (long long)o->max))) {
            snprintf(err, errlen, "%s: %s must be an integer in [%.0f, %.0f], got '%s'", source,
                     o->name, o->min, o->max, value);
            return GL_EINVAL;
        }
        *(long long *)field = v;
        return 0;
    }
    case GL_CFG_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end != '\0' || !isfinite(v) ||
            (o->min != o->max && (v < o->min || v > o->max))) {
            snprintf(err, errlen, "%s: %s must be a number in [%g, %g], got '%s'", source,
                     o->name, o->min, o->max, value);
            return GL_EINVAL;
        }
        *(double *)field = v;
        return 0;
    }
    case GL_CFG_BOOL:
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") ||
            !strcmp(value, "on")) {
            *(int *)field = 1;
        } else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") ||
                   !strcmp(value, "off")) {
            *(int *)field = 0;
        } else {
            snprintf(err, errlen, "%s: %s must be true or false, got '%s'", source, o->name,
                     value);
            return GL_EINVAL;
        }
        return 0;
    }
    return GL_EINVAL;
}

static int is_bool_word(const char *s)
{
    static const char *const words[] = {"1", "0", "true", "false", "yes", "no", "on", "off"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(s, words[i]))
            return 1;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(const gl_cfg_option_t *opts, void *cfg, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return GL_EINVAL;
    }
    char line[1024], where[1100];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'name = value'", where);
            rc = GL_EINVAL;
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        const gl_cfg_option_t *o = find_option(opts, name, strlen(name));
        if (!o) {
            snprintf(err, errlen, "%s: unknown setting '%s'", where, name);
            rc = GL_EINVAL;
            break;
        }
        rc = set_value(o, cfg, value, where, err, errlen);
    }
    fclose(f);
    return rc;
}

static void env_name(const char *name, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "GOLDLINE_");
    for (const char *p = name; *p && n + 1 < len; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

int gl_cfg_load(const gl_cfg_option_t *opts, void *cfg, int *argc, char **argv, char *err,
                size_t errlen)
{
    const char *file = getenv("GOLDLINE_CONFIG");
    for (const gl_cfg_option_t *o = opts; o->name; o++)
        if (set_value(o, cfg, o->default_value, "default", err, errlen))
            return GL_EINVAL;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            gl_cfg_usage(argv[0], opts);
            return 1;
        }
        if (!strncmp(argv[i], "--config=", 9))
            file = argv[i] + 9;
        else if (!strcmp(argv[i], "--config") && i + 1 < *argc)
            file = argv[i + 1];
    }
    if (file && load_file(opts, cfg, file, err, errlen))
        return GL_EINVAL;
    for (const gl_cfg_option_t *o = opts; o->name; o++) {
        char name[128];
        env_name(o->name, name, sizeof name);
        const char *v = getenv(name);
        if (v && set_value(o, cfg, v, name, err, errlen))
            return GL_EINVAL;
    }
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            argv[kept++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        if (len == 6 && !strncmp(name, "config", 6)) {
            if (!eq)
                i++;
            continue;
        }
        const gl_cfg_option_t *o = find_option(opts, name, len);
        if (!o) {
            snprintf(err, errlen, "unknown option %s (see --help)", a);
            return GL_EINVAL;
        }
        if (!value) {
            if (o->type == GL_CFG_BOOL && (i + 1 >= *argc || !is_bool_word(argv[i + 1]))) {
                /* a bare flag: the next word is a positional argument, not its value */
                value = "true";
            } else if (i + 1 < *argc) {
                value = argv[++i];
            } else {
                snprintf(err, errlen, "option %s needs a value", a);
                return GL_EINVAL;
            }
        }
        if (set_value(o, cfg, value, "command line", err, errlen))
            return GL_EINVAL;
    }
    argv[kept] = NULL;
    *argc = kept;
    return 0;
}

static void format_value(const gl_cfg_option_t *o, const void *cfg, char *out, size_t len)
{
    const char *field = (const char *)cfg + o->offset;
    if (o->secret) {
        snprintf(out, len, "(secret)");
        return;
    }
    switch (o->type) {
    case GL_CFG_STR:
        snprintf(out, len, "%s", field);
        break;
    case GL_CFG_INT:
        snprintf(out, len, "%lld", *(const long long *)field);
        break;
    case GL_CFG_DOUBLE:
        snprintf(out, len, "%g", *(const double *)field);
        break;
    case GL_CFG_BOOL:
        snprintf(out, len, "%s", *(const int *)field ? "true" : "false");
        break;
    }
}

void gl_cfg_log(const char *mod, const gl_cfg_option_t *opts, const void *cfg)
{
    char line[900];
    size_t n = 0;
    for (const gl_cfg_option_t *o = opts; o->name && n < sizeof line; o++) {
        char v[256];
        format_value(o, cfg, v, sizeof v);
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s=%s", n ? " " : "", o->name, v);
    }
    LOG_INFO(mod, "config: %s", line);
}

void gl_cfg_usage(const char *prog, const gl_cfg_option_t *opts)
{
    printf("usage: %s [--config FILE] [--name=value ...]\n"
           "Each option can also be set as GOLDLINE_<NAME> in the environment or in the file.\n",
           prog);
    for (const gl_cfg_option_t *o = opts; o->name; o++)
        printf("  --%-22s %s (default: %s)\n", o->name, o->help,
               o->secret ? "(secret)" : o->default_value);
}
