/*
 * goldlinectl as a function: parse the command line, validate it, talk to the dispatcher, print
 * the result, and return the process exit code. main() only gathers the environment and
 * installs the SIGINT handler; tests call ctl_run() directly with memory streams.
 */
#ifndef GL_CTL_H
#define GL_CTL_H

#include "ctl_args.h"

#include <stdio.h>

/* Exit codes (also in the usage text and console/README.md). */
enum ctl_exit {
    CTL_EXIT_OK = 0,            /* the request succeeded (watch: stopped by --count or Ctrl-C) */
    CTL_EXIT_INTERNAL = 1,      /* out of memory, cannot write the output, ... */
    CTL_EXIT_USAGE = 2,         /* bad arguments or no usable token; nothing was sent */
    CTL_EXIT_CONNECT = 3,       /* cannot connect, bad token, connection closed, timed out */
    CTL_EXIT_REFUSED = 4,       /* the dispatcher answered with an error reply */
    CTL_EXIT_PROTOCOL = 5,      /* the dispatcher's reply did not follow docs/api.md */
    CTL_EXIT_INTERRUPTED = 130, /* Ctrl-C before the reply came (the request may have run) */
};

/*
 * Runs goldlinectl with argv/argc and the given environment. The result goes to `out`;
 * messages and error replies go to `err`. Returns one of enum ctl_exit.
 */
int ctl_run(int argc, char **argv, const ctl_env_t *env, FILE *out, FILE *err);

#endif
