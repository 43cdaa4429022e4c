/*
 * Command-line parsing for goldlinectl: turns argv (plus the GOLDLINE_* environment, passed in
 * as plain strings so tests need no setenv) into one validated request object and the
 * connection settings. Everything that can be checked without the dispatcher is checked here,
 * before any socket is opened: coordinate ranges, complaint names, priority, ISO 8601 times
 * (onset, ringing, event time), event kinds and detail objects, incident and vehicle
 * identifiers, the URL and the timeout. The token is resolved by
 * ctl_args_load_token() because it may need a file read.
 *
 * Global options may appear anywhere on the line (`goldlinectl timeline X --table` works);
 * command options are accepted only by their command.
 */
#ifndef GL_CTL_ARGS_H
#define GL_CTL_ARGS_H

#include <jansson.h>
#include <stddef.h>

/* The environment variables goldlinectl reads; NULL means unset. */
typedef struct ctl_env {
    const char *url;        /* GOLDLINE_URL */
    const char *token;      /* GOLDLINE_TOKEN */
    const char *token_file; /* GOLDLINE_TOKEN_FILE */
} ctl_env_t;

enum ctl_output {
    CTL_OUTPUT_JSON = 0, /* pretty-printed JSON result, the default */
    CTL_OUTPUT_COMPACT,  /* one-line JSON result */
    CTL_OUTPUT_TABLE,    /* a table for people */
};

typedef struct ctl_args {
    int help;               /* --help/-h given: print usage, connect to nothing */
    char *op;               /* the API op ("call.new", "fleet", ...); malloc'd */
    json_t *request;        /* the request without its id: {"op":..., args...}; owned */
    enum ctl_output output; /* how to print the result */
    long watch_count;       /* watch: stop after this many events, 0 = until interrupted */
    int verbose;            /* --verbose: let libwebsockets log warnings to stderr */
    char *host;             /* from the URL; malloc'd */
    int port;               /* from the URL, default 8080 */
    char *path;             /* from the URL, default "/api"; malloc'd */
    long timeout_ms;        /* --timeout, for connecting and for each reply */
    char *token;            /* --token or GOLDLINE_TOKEN, else NULL until load_token; malloc'd */
    char *token_file;       /* where to read the token if none was given; malloc'd */
    char *key_file;         /* vehicle add: where the unit's key goes; malloc'd or NULL */
} ctl_args_t;

/*
 * Parses argv[1..argc-1] into *out (which the caller zeroes or not: it is overwritten).
 * env supplies the environment. Returns 0 on success; on a usage error returns GL_EINVAL and
 * writes one line (no newline) explaining it into err[errlen]. On success or failure the caller
 * must call ctl_args_free(out). A --help request returns 0 with out->help set and no op.
 */
int ctl_args_parse(int argc, char **argv, const ctl_env_t *env, ctl_args_t *out, char *err,
                   size_t errlen);

/*
 * Fills out->token from out->token_file when no token was given directly: the file's first
 * line, surrounding whitespace removed. Returns 0, or GL_EINVAL/GL_ENOENT/GL_EACCES with a
 * message in err when the token is missing, unreadable, empty or contains control characters.
 */
int ctl_args_load_token(ctl_args_t *out, char *err, size_t errlen);

/* Frees what ctl_args_parse() allocated; safe on a zeroed or partly filled struct. */
void ctl_args_free(ctl_args_t *a);

/* Splits "ws://host[:port][/path]" into parts (malloc'd). Returns 0 or GL_EINVAL. */
int ctl_args_parse_url(const char *url, char **host, int *port, char **path);

/* The usage text printed by --help and after usage errors. */
extern const char ctl_usage[];

#endif
