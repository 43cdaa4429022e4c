/*
 * goldlinectl: the command-line client of the dispatcher's websocket API. This file only reads
 * the environment and owns the signals; console/ctl.c does the work. `report` and
 * `import-calls` read and write PostGIS directly (console/ctl_report.c, ctl_import.c).
 */
#include "ctl.h"
#include "ctl_import.h"
#include "ctl_report.h"
#include "ctl_ws.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void on_signal(int sig)
{
    (void)sig;
    ctl_ws_interrupt();
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() must return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stdout pipe (`goldlinectl watch | head`) is an error return, not a kill. */
    signal(SIGPIPE, SIG_IGN);

    /* report and import-calls work on PostGIS directly, not through the dispatcher */
    switch (ctl_pg_command(argc, argv)) {
    case 1:
        return ctl_report_run(argc, argv, stdout, stderr);
    case 2:
        return ctl_import_run(argc, argv, stdout, stderr);
    }

    ctl_env_t env = {
        .url = getenv("GOLDLINE_URL"),
        .token = getenv("GOLDLINE_TOKEN"),
        .token_file = getenv("GOLDLINE_TOKEN_FILE"),
    };
    return ctl_run(argc, argv, &env, stdout, stderr);
}
