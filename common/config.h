/*
 * Table-driven configuration (after redis' standardConfig and nginx' command tables).
 *
 * A program describes its settings once, as an array of gl_cfg_option_t pointing into its own
 * config struct. gl_cfg_load() fills the struct from the defaults, then a file (--config FILE or
 * GOLDLINE_CONFIG; lines "name = value", '#' comments), then GOLDLINE_<NAME> environment
 * variables, then --name=value / --name value on the command line, checking types and bounds.
 * After that the struct is treated as immutable.
 */
#ifndef GL_CONFIG_H
#define GL_CONFIG_H

#include <stddef.h>

typedef enum gl_cfg_type { GL_CFG_STR, GL_CFG_INT, GL_CFG_DOUBLE, GL_CFG_BOOL } gl_cfg_type_t;

typedef struct gl_cfg_option {
    const char *name;          /* "ws-port"; env GOLDLINE_WS_PORT, flag --ws-port */
    gl_cfg_type_t type;        /* how the text is parsed */
    const char *default_value; /* text form of the default */
    double min, max;           /* bounds for INT and DOUBLE (ignored when min == max) */
    size_t offset;             /* offsetof(struct your_config, field) */
    size_t size;               /* for STR: sizeof the char array field */
    int secret;                /* 1: redacted when the effective config is logged */
    const char *help;          /* one line for --help */
} gl_cfg_option_t;

/*
 * Loads the configuration into `cfg` from all sources (see above). `opts` ends with an entry whose
 * name is NULL. Unknown flags and bad values fail with a message in `err`. Returns 0, GL_EINVAL
 * (bad input, message in err) or 1 when --help was given (usage already printed to stdout).
 * Positional arguments (not starting with "--") are left in place: *argc and argv are rewritten
 * to hold only them, after argv[0].
 */
int gl_cfg_load(const gl_cfg_option_t *opts, void *cfg, int *argc, char **argv, char *err,
                size_t errlen);

/* Logs the effective configuration at INFO, one line, secrets redacted. */
void gl_cfg_log(const char *mod, const gl_cfg_option_t *opts, const void *cfg);

/* Prints the options with their defaults and help to stdout. */
void gl_cfg_usage(const char *prog, const gl_cfg_option_t *opts);

#endif
