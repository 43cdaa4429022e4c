/*
 * goldlinectl's top level (see ctl.h): arguments, token, one exchange with the dispatcher,
 * output, exit code. Every failure is reported here, once, as one line on `err` that starts
 * with "goldlinectl:".
 */
#include "ctl.h"

#include "seal.h"
#include <sodium.h>

#include "ctl_format.h"
#include "ctl_ws.h"
#include "err.h"

#include <string.h>

struct watch_ctx {
    FILE *out;  /* where events go, one JSON line each */
    int failed; /* set when writing failed (e.g. the reader of a pipe went away) */
};

/* Prints one pushed event as a compact JSON line; stops the watch if the output is gone. */
static int on_event(const json_t *event, void *ud)
{
    struct watch_ctx *w = ud;
    if (ctl_format_json(w->out, event, 1) != 0 || fflush(w->out) != 0) {
        w->failed = 1;
        return 1;
    }
    return 0;
}

static int exit_code(ctl_ws_status_t st)
{
    switch (st) {
    case CTL_WS_OK:
        return CTL_EXIT_OK;
    case CTL_WS_REFUSED:
        return CTL_EXIT_REFUSED;
    case CTL_WS_CONNECT:
    case CTL_WS_AUTH:
    case CTL_WS_CLOSED:
    case CTL_WS_TIMEOUT:
        return CTL_EXIT_CONNECT;
    case CTL_WS_PROTO:
        return CTL_EXIT_PROTOCOL;
    case CTL_WS_INTERRUPTED:
        return CTL_EXIT_INTERRUPTED;
    case CTL_WS_INTERNAL:
        return CTL_EXIT_INTERNAL;
    }
    return CTL_EXIT_INTERNAL;
}

/* Prints a successful result in the chosen form. */
static int print_result(const ctl_args_t *a, const ctl_ws_result_t *res, FILE *out, FILE *err)
{
    if (a->output == CTL_OUTPUT_TABLE) {
        const char *tz = json_string_value(json_object_get(res->hello, "tz"));
        if (ctl_format_table(out, a->op, res->reply, tz) == 0)
            return fflush(out) == 0 ? CTL_EXIT_OK : CTL_EXIT_INTERNAL;
        fprintf(err,
                "goldlinectl: the %s result is not in the expected shape; "
                "printing it as JSON\n",
                a->op);
    }
    if (ctl_format_json(out, res->reply, a->output == CTL_OUTPUT_COMPACT) != 0 ||
        fflush(out) != 0) {
        fprintf(err, "goldlinectl: cannot write the result\n");
        return CTL_EXIT_INTERNAL;
    }
    return CTL_EXIT_OK;
}

/* vehicle add: writes the key the dispatcher drew into the unit's key file (mode 0600, never
 * over an existing file) and takes it out of the result, so it is never printed. */
static int save_key(const ctl_args_t *a, const ctl_ws_result_t *res, FILE *err)
{
    json_t *result = res->reply; /* the result object of the reply */
    const char *hex = json_string_value(json_object_get(result, "key"));
    seal_key_t key;
    char why[256];
    if (!hex || seal_key_from_hex(hex, &key) != 0) {
        fprintf(err, "goldlinectl: the dispatcher sent no usable key\n");
        return CTL_EXIT_PROTOCOL;
    }
    int rc = seal_key_write_file(a->key_file, &key, SEAL_KEY_HEX, why, sizeof why);
    sodium_memzero(key.k, sizeof key.k);
    json_object_del(result, "key");
    if (rc != 0) {
        fprintf(err, "goldlinectl: %s (the unit is provisioned: run vehicle add again to draw "
                     "a new key)\n", why);
        return CTL_EXIT_INTERNAL;
    }
    return CTL_EXIT_OK;
}

/* user add: reads the password (first line of stdin, at most 1024 bytes, not empty) and puts
 * only its argon2id hash into the request, so the password never leaves this machine. */
static int add_password_hash(ctl_args_t *a, FILE *in, FILE *err)
{
    char pw[1026], hash[crypto_pwhash_STRBYTES];
    if (!fgets(pw, sizeof pw, in)) {
        fprintf(err, "goldlinectl: user add reads the password from stdin: none given\n");
        return CTL_EXIT_USAGE;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    size_t n = strlen(pw);
    int rc = CTL_EXIT_OK;
    if (n == 0 || n > 1024) {
        fprintf(err, "goldlinectl: the password must be 1-1024 bytes\n");
        rc = CTL_EXIT_USAGE;
    } else if (sodium_init() < 0 ||
               crypto_pwhash_str(hash, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(err, "goldlinectl: cannot hash the password (out of memory?)\n");
        rc = CTL_EXIT_INTERNAL;
    } else {
        json_object_set_new(a->request, "password_hash", json_string(hash));
    }
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int ctl_run(int argc, char **argv, const ctl_env_t *env, FILE *out, FILE *err)
{
    ctl_args_t a;
    char msg[512];
    int code;

    if (ctl_args_parse(argc, argv, env, &a, msg, sizeof msg) != 0) {
        fprintf(err, "goldlinectl: %s\n", msg);
        ctl_args_free(&a);
        return CTL_EXIT_USAGE;
    }
    if (a.help) {
        fputs(ctl_usage, out);
        ctl_args_free(&a);
        return CTL_EXIT_OK;
    }
    if (ctl_args_load_token(&a, msg, sizeof msg) != 0) {
        fprintf(err, "goldlinectl: %s\n", msg);
        ctl_args_free(&a);
        return CTL_EXIT_USAGE;
    }

    if (!strcmp(a.op, "user.add") && (code = add_password_hash(&a, stdin, err)) != CTL_EXIT_OK) {
        ctl_args_free(&a);
        return code;
    }

    struct watch_ctx w = {out, 0};
    int watching = strcmp(a.op, "subscribe") == 0;
    ctl_ws_request_t req = {
        .host = a.host,
        .port = a.port,
        .path = a.path,
        .token = a.token,
        .timeout_ms = a.timeout_ms,
        .verbose = a.verbose,
        .request = a.request,
        .on_event = watching ? on_event : NULL,
        .ud = &w,
        .max_events = a.watch_count,
    };
    ctl_ws_result_t res;
    ctl_ws_run(&req, &res);

    code = exit_code(res.status);
    switch (res.status) {
    case CTL_WS_OK:
        if (watching)
            code = w.failed ? CTL_EXIT_INTERNAL : CTL_EXIT_OK;
        else if (a.key_file && (code = save_key(&a, &res, err)) != CTL_EXIT_OK)
            break;
        else
            code = print_result(&a, &res, out, err);
        break;
    case CTL_WS_REFUSED:
        ctl_format_error(err, NULL, res.reply);
        break;
    case CTL_WS_AUTH:
        ctl_format_error(err, res.message, res.reply);
        break;
    case CTL_WS_INTERRUPTED:
        fprintf(err, "goldlinectl: interrupted%s\n",
                res.request_sent ? "; the dispatcher may still carry out the request" : "");
        break;
    default:
        fprintf(err, "goldlinectl: %s\n", res.message);
        break;
    }
    ctl_ws_result_free(&res);
    ctl_args_free(&a);
    return code;
}
