/*
 * The compliance report (see ctl_report.h and docs/reports.md): intervals, percentiles,
 * compliance rules and the three output forms are pure functions over plain structs; the end of
 * the file is the command (`goldlinectl report`), which fetches through ctl_db.c.
 */
#include "ctl_report.h"

#include "ctl_db.h"
#include "ctl_format.h"
#include "err.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== intervals =============================================================================== */

/* 1 if event `e` matches the alternative alt[0..n-1] ("kind" or "status:X"). */
static int matches(const rep_event_t *e, const char *alt, size_t n)
{
    if (n > 7 && !strncmp(alt, "status:", 7))
        return !strcmp(e->kind, "status") && strlen(e->status) == n - 7 &&
               !strncmp(e->status, alt + 7, n - 7);
    return strlen(e->kind) == n && !strncmp(e->kind, alt, n);
}

int rep_find_event(const rep_incident_t *inc, const char *ref, int64_t not_before_ms,
                   int64_t *at_ms)
{
    int found = 0;
    int64_t best = 0;
    for (const char *p = ref; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == 5 && !strncmp(p, "onset", 5)) {
            if (inc->onset_ms && inc->onset_ms >= not_before_ms &&
                (!found || inc->onset_ms < best)) {
                best = inc->onset_ms;
                found = 1;
            }
        } else {
            for (size_t i = 0; i < inc->nevents; i++) {
                const rep_event_t *e = &inc->events[i];
                if (e->at_ms >= not_before_ms && matches(e, p, n) && (!found || e->at_ms < best)) {
                    best = e->at_ms;
                    found = 1;
                }
            }
        }
        p += n;
        if (*p == '|')
            p++;
    }
    if (found)
        *at_ms = best;
    return found;
}

int rep_applies(const rep_metric_t *m, const rep_incident_t *inc)
{
    const char *a = m->applies_to;
    int64_t t;
    if (!strcmp(a, "all") || !strcmp(a, "town"))
        return 1;
    if (!strcmp(a, "chest_pain") || !strcmp(a, "stroke"))
        return !strcmp(inc->complaint, a);
    if (!strcmp(a, "stemi"))
        return rep_find_event(inc, "stemi_confirmed", INT64_MIN, &t);
    return 0; /* countryside, or a class this build does not know */
}

rep_case_t rep_case(const rep_metric_t *m, const rep_incident_t *inc, int64_t *interval_ms)
{
    int64_t start, end;
    if (!rep_applies(m, inc))
        return REP_NOT_APPLICABLE;
    if (!rep_find_event(inc, m->start_event, INT64_MIN, &start))
        return REP_NO_START;
    if (!rep_find_event(inc, m->end_event, start, &end))
        return rep_find_event(inc, m->end_event, INT64_MIN, &end) ? REP_OUT_OF_ORDER : REP_NO_END;
    *interval_ms = end - start;
    return REP_COMPLETE;
}

double rep_percentile(const double *sorted, size_t n, double p)
{
    double rank = p * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (rank - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* ==== compliance rules ======================================================================== */

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Consumes the word w (case-insensitive, followed by a non-letter); returns 1 if it was there. */
static int take_word(const char **p, const char *w)
{
    skip_ws(p);
    size_t n = strlen(w);
    if (strncasecmp(*p, w, n) || isalpha((unsigned char)(*p)[n]))
        return 0;
    *p += n;
    return 1;
}

static int take_op(const char **p)
{
    static const struct {
        const char *text;
        int op;
    } ops[] = {{"<=", REP_OP_LE},           {">=", REP_OP_GE}, {"\xe2\x89\xa4", REP_OP_LE},
               {"\xe2\x89\xa5", REP_OP_GE}, {"<", REP_OP_LT},  {">", REP_OP_GT}};
    skip_ws(p);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (!strncmp(*p, ops[i].text, n)) {
            *p += n;
            return ops[i].op;
        }
    }
    return 0;
}

static int take_number(const char **p, double *v)
{
    skip_ws(p);
    char *end;
    if (!isdigit((unsigned char)**p))
        return 0;
    *v = strtod(*p, &end);
    *p = end;
    return 1;
}

/* "10 s", "90 min", "4.5 h" -> seconds. */
static int take_duration(const char **p, double *secs)
{
    double v;
    if (!take_number(p, &v))
        return 0;
    if (take_word(p, "sec") || take_word(p, "s"))
        *secs = v;
    else if (take_word(p, "min"))
        *secs = v * 60;
    else if (take_word(p, "h"))
        *secs = v * 3600;
    else
        return 0;
    return 1;
}

static int parse_clause(const char **p, rep_clause_t *c)
{
    memset(c, 0, sizeof *c);
    int monthly = take_word(p, "monthly");
    if (take_word(p, "mean")) {
        c->what = REP_RULE_MEAN;
        return (c->op = take_op(p)) && take_duration(p, &c->value);
    }
    if (monthly)
        return 0;
    if (!(c->op = take_op(p)) || !take_number(p, &c->value))
        return 0;
    skip_ws(p);
    if (**p != '%')
        return 0;
    (*p)++;
    if (take_word(p, "within")) {
        c->what = REP_RULE_SHARE_WITHIN;
        return take_duration(p, &c->within_s);
    }
    if (!take_word(p, "of"))
        return 0;
    c->what = REP_RULE_SHARE_MET;
    /* "of cases", "of thrombolysed cases": plain words up to "and" or the end */
    int words = 0;
    for (;;) {
        const char *save = *p;
        skip_ws(p);
        if (take_word(p, "and")) {
            *p = save;
            break;
        }
        if (!isalpha((unsigned char)**p))
            break;
        while (isalpha((unsigned char)**p) || **p == '-')
            (*p)++;
        words++;
    }
    return words > 0;
}

int rep_rule_parse(const char *text, rep_clause_t *out)
{
    const char *p = text;
    int n = 0;
    do {
        if (n == REP_MAX_CLAUSES || !parse_clause(&p, &out[n]))
            return 0;
        n++;
    } while (take_word(&p, "and"));
    skip_ws(&p);
    return *p == '\0' ? n : 0;
}

static int compare(double a, int op, double b)
{
    switch (op) {
    case REP_OP_LT:
        return a < b;
    case REP_OP_LE:
        return a <= b;
    case REP_OP_GE:
        return a >= b;
    case REP_OP_GT:
        return a > b;
    }
    return 0;
}

static const char *op_text(int op)
{
    return op == REP_OP_LT ? "<" : op == REP_OP_LE ? "<=" : op == REP_OP_GE ? ">=" : ">";
}

/* Judges r's rule over the sorted complete intervals (seconds). */
static void judge_rule(rep_result_t *r, const double *sorted)
{
    rep_clause_t cl[REP_MAX_CLAUSES];
    int n = rep_rule_parse(r->metric->compliance, cl);
    r->rule_detail[0] = '\0';
    if (!n) {
        r->rule_state = -1;
        return;
    }
    if (!r->complete) {
        r->rule_state = -2;
        return;
    }
    int all = 1;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        char a[32], b[32];
        double got;
        int ok;
        if (cl[i].what == REP_RULE_MEAN) {
            got = r->mean_s;
            ok = compare(got, cl[i].op, cl[i].value);
            ctl_format_duration(got, a, sizeof a);
            ctl_format_duration(cl[i].value, b, sizeof b);
            used += (size_t)snprintf(r->rule_detail + used, sizeof r->rule_detail - used,
                                     "%smean %s %s %s: %s", i ? "; " : "", a, op_text(cl[i].op), b,
                                     ok ? "yes" : "no");
        } else {
            double bound = cl[i].what == REP_RULE_SHARE_WITHIN
                               ? cl[i].within_s
                               : (double)r->metric->target_ms / 1000.0;
            size_t within = 0;
            for (size_t k = 0; k < r->complete; k++)
                within += sorted[k] <= bound;
            got = 100.0 * (double)within / (double)r->complete;
            ok = compare(got, cl[i].op, cl[i].value);
            ctl_format_duration(bound, a, sizeof a);
            used += (size_t)snprintf(r->rule_detail + used, sizeof r->rule_detail - used,
                                     "%s%.1f%% within %s %s %g%%: %s", i ? "; " : "", got, a,
                                     op_text(cl[i].op), cl[i].value, ok ? "yes" : "no");
        }
        if (used >= sizeof r->rule_detail)
            used = sizeof r->rule_detail - 1;
        all &= ok;
    }
    r->rule_state = all;
}

/* ==== the figures ============================================================================= */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int rep_compute(const rep_metric_t *m, const rep_incident_t *incs, size_t n, rep_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->metric = m;
    double *iv = malloc((n ? n : 1) * sizeof *iv);
    if (!iv)
        return GL_ENOMEM;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ms;
        rep_case_t c = rep_case(m, &incs[i], &ms);
        if (c == REP_NOT_APPLICABLE)
            continue;
        out->n++;
        if (c != REP_COMPLETE) {
            out->out_of_order += c == REP_OUT_OF_ORDER;
            continue;
        }
        double s = (double)ms / 1000.0;
        iv[out->complete++] = s;
        sum += s;
        out->met += ms <= m->target_ms;
        /* keep the REP_WORST longest, longest first; incs come in incident order, so a later
         * case with an equal interval stays behind (ties by incident number) */
        size_t k = out->nworst;
        if (k < REP_WORST)
            out->nworst++;
        else if (s <= out->worst[REP_WORST - 1].interval_s)
            continue;
        else
            k = REP_WORST - 1;
        while (k > 0 && out->worst[k - 1].interval_s < s) {
            out->worst[k] = out->worst[k - 1];
            k--;
        }
        out->worst[k].inc = &incs[i];
        out->worst[k].interval_s = s;
    }
    out->incomplete = out->n - out->complete;
    if (out->complete) {
        qsort(iv, out->complete, sizeof *iv, cmp_double);
        out->compliance_pct = 100.0 * (double)out->met / (double)out->complete;
        out->mean_s = sum / (double)out->complete;
        out->median_s = rep_percentile(iv, out->complete, 0.5);
        out->p90_s = rep_percentile(iv, out->complete, 0.9);
    } else {
        out->compliance_pct = out->mean_s = out->median_s = out->p90_s = NAN;
    }
    judge_rule(out, iv);
    free(iv);
    return 0;
}

int rep_parse_day(const char *text, int *day)
{
    int y, mo, d;
    char extra;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &mo, &d, &extra) != 3 &&
        !(strlen(text) == 8 && sscanf(text, "%4d%2d%2d%c", &y, &mo, &d, &extra) == 3))
        return GL_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap))
        return GL_EINVAL;
    *day = y * 10000 + mo * 100 + d;
    return 0;
}

/* ==== output ================================================================================== */

static const char *rule_state_name(int st)
{
    return st == 1 ? "met" : st == 0 ? "not met" : st == -2 ? "no data" : "not machine-readable";
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(round(v * 10) / 10) : json_null();
}

int rep_print_json(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n)
{
    json_t *root = json_object(), *list = json_array();
    json_object_set_new(root, "from", json_string(h->from));
    json_object_set_new(root, "to", json_string(h->to));
    json_object_set_new(root, "hospital", h->hospital ? json_string(h->hospital) : json_null());
    json_object_set_new(root, "incidents", json_integer((json_int_t)h->incidents));
    json_object_set_new(root, "open_excluded", json_integer((json_int_t)h->open_excluded));
    for (size_t i = 0; i < n; i++) {
        const rep_result_t *x = &r[i];
        json_t *o = json_object(), *worst = json_array();
        json_object_set_new(o, "name", json_string(x->metric->name));
        json_object_set_new(o, "applies_to", json_string(x->metric->applies_to));
        json_object_set_new(o, "start_event", json_string(x->metric->start_event));
        json_object_set_new(o, "end_event", json_string(x->metric->end_event));
        json_object_set_new(o, "target_s", json_real((double)x->metric->target_ms / 1000.0));
        json_object_set_new(o, "n", json_integer((json_int_t)x->n));
        json_object_set_new(o, "complete", json_integer((json_int_t)x->complete));
        json_object_set_new(o, "incomplete", json_integer((json_int_t)x->incomplete));
        json_object_set_new(o, "out_of_order", json_integer((json_int_t)x->out_of_order));
        json_object_set_new(o, "met", json_integer((json_int_t)x->met));
        json_object_set_new(o, "compliance_pct",
                            isfinite(x->compliance_pct) ? json_real(x->compliance_pct)
                                                        : json_null());
        json_object_set_new(o, "mean_s", num_or_null(x->mean_s));
        json_object_set_new(o, "median_s", num_or_null(x->median_s));
        json_object_set_new(o, "p90_s", num_or_null(x->p90_s));
        for (size_t k = 0; k < x->nworst; k++) {
            json_t *w = json_object();
            json_object_set_new(w, "incident", json_string(x->worst[k].inc->id));
            if (x->worst[k].inc->ref[0])
                json_object_set_new(w, "ref", json_string(x->worst[k].inc->ref));
            json_object_set_new(w, "interval_s", json_real(x->worst[k].interval_s));
            json_array_append_new(worst, w);
        }
        json_object_set_new(o, "worst", worst);
        json_object_set_new(o, "rule", json_string(x->metric->compliance));
        json_object_set_new(o, "rule_met",
                            x->rule_state >= 0 ? json_boolean(x->rule_state) : json_null());
        json_object_set_new(o, "rule_state", json_string(rule_state_name(x->rule_state)));
        if (x->rule_detail[0])
            json_object_set_new(o, "rule_detail", json_string(x->rule_detail));
        json_array_append_new(list, o);
    }
    json_object_set_new(root, "metrics", list);
    int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc || fputc('\n', out) == EOF)
        return GL_EIO;
    return 0;
}

/* One CSV field, quoted when it holds a separator, a quote or a line end. */
static void csv_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.1f", v);
}

int rep_print_csv(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n)
{
    (void)h;
    fputs("metric,applies_to,target_s,n,complete,incomplete,out_of_order,met,compliance_pct,"
          "mean_s,median_s,p90_s,rule,rule_met,worst\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const rep_result_t *x = &r[i];
        csv_text(out, x->metric->name);
        fputc(',', out);
        csv_text(out, x->metric->applies_to);
        fprintf(out, ",%g,%zu,%zu,%zu,%zu,%zu,", (double)x->metric->target_ms / 1000.0, x->n,
                x->complete, x->incomplete, x->out_of_order, x->met);
        if (isfinite(x->compliance_pct))
            fprintf(out, "%.2f", x->compliance_pct);
        fputc(',', out);
        csv_num(out, x->mean_s);
        fputc(',', out);
        csv_num(out, x->median_s);
        fputc(',', out);
        csv_num(out, x->p90_s);
        fputc(',', out);
        csv_text(out, x->metric->compliance);
        fprintf(out, ",%s,", x->rule_state == 1 ? "yes" : x->rule_state == 0 ? "no" : "");
        char buf[REP_WORST * 48] = "";
        size_t used = 0;
        for (size_t k = 0; k < x->nworst && used < sizeof buf; k++)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s=%.0f", k ? " " : "",
                                     x->worst[k].inc->id, x->worst[k].interval_s);
        csv_text(out, buf);
        fputc('\n', out);
    }
    return ferror(out) ? GL_EIO : 0;
}

static void dur(double s, char *buf, size_t len)
{
    if (isfinite(s))
        ctl_format_duration(s, buf, len);
    else
        snprintf(buf, len, "-");
}

int rep_print_table(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n)
{
    fprintf(out, "golden-time compliance %s .. %s%s%s: %zu closed incidents", h->from, h->to,
            h->hospital ? ", destination " : "", h->hospital ? h->hospital : "", h->incidents);
    if (h->open_excluded)
        fprintf(out, " (%zu still open, left out)", h->open_excluded);
    fputs("\n\n", out);
    fprintf(out, "%-26s %7s %7s %7s %7s %8s %8s %8s %8s  %s\n", "METRIC", "N", "DONE", "INCOMPL",
            "MET%", "TARGET", "MEAN", "MEDIAN", "P90", "RULE");
    for (size_t i = 0; i < n; i++) {
        const rep_result_t *x = &r[i];
        char t[32], mean[32], med[32], p90[32], pct[16];
        dur((double)x->metric->target_ms / 1000.0, t, sizeof t);
        dur(x->mean_s, mean, sizeof mean);
        dur(x->median_s, med, sizeof med);
        dur(x->p90_s, p90, sizeof p90);
        if (isfinite(x->compliance_pct))
            snprintf(pct, sizeof pct, "%.1f", x->compliance_pct);
        else
            snprintf(pct, sizeof pct, "-");
        fprintf(out, "%-26s %7zu %7zu %7zu %7s %8s %8s %8s %8s  %s\n", x->metric->name, x->n,
                x->complete, x->incomplete, pct, t, mean, med, p90, rule_state_name(x->rule_state));
    }
    for (size_t i = 0; i < n; i++) {
        const rep_result_t *x = &r[i];
        if (!x->n)
            continue;
        fprintf(out, "\n%s: rule \"%s\": %s%s%s%s\n", x->metric->name, x->metric->compliance,
                rule_state_name(x->rule_state), x->rule_detail[0] ? " (" : "", x->rule_detail,
                x->rule_detail[0] ? ")" : "");
        for (size_t k = 0; k < x->nworst; k++) {
            char d[32];
            dur(x->worst[k].interval_s, d, sizeof d);
            fprintf(out, "  worst %zu: %s %9s%s%s\n", k + 1, x->worst[k].inc->id, d,
                    x->worst[k].inc->ref[0] ? "  " : "", x->worst[k].inc->ref);
        }
    }
    return ferror(out) ? GL_EIO : 0;
}

/* ==== the command ============================================================================= */

static const char report_usage[] =
    "usage: goldlinectl report --from YYYY-MM-DD --to YYYY-MM-DD [--hospital ID]\n"
    "                          [--format json|csv|table] [--metric NAME] [--pg CONNINFO]\n";

int ctl_pg_command(int argc, char **argv)
{
    static const char *const valued[] = {"--url", "--token", "--token-file", "--timeout"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (!strcmp(a, "report"))
                return 1;
            if (!strcmp(a, "import-calls"))
                return 2;
            return 0;
        }
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            if (!strcmp(a, valued[k]))
                i++;
    }
    return 0;
}

int ctl_report_run(int argc, char **argv, FILE *out, FILE *err)
{
    const char *from = NULL, *to = NULL, *hospital = NULL, *format = "json", *metric = NULL,
               *pg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--from")       ? &from
                            : !strcmp(a, "--to")       ? &to
                            : !strcmp(a, "--hospital") ? &hospital
                            : !strcmp(a, "--format")   ? &format
                            : !strcmp(a, "--metric")   ? &metric
                            : !strcmp(a, "--pg")       ? &pg
                                                       : NULL;
        if (!strcmp(a, "report"))
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(report_usage, out);
            return 0;
        }
        if (!slot || i + 1 >= argc) {
            fprintf(err, "goldlinectl: report: %s: %s\n%s", a,
                    slot ? "needs a value" : "unknown argument", report_usage);
            return 2;
        }
        *slot = argv[++i];
    }
    int dfrom, dto;
    if (!from || !to || rep_parse_day(from, &dfrom) || rep_parse_day(to, &dto) || dto < dfrom) {
        fprintf(err,
                "goldlinectl: report needs --from and --to as dates (YYYY-MM-DD), from <= "
                "to\n%s",
                report_usage);
        return 2;
    }
    int fmt = !strcmp(format, "json")    ? 0
              : !strcmp(format, "csv")   ? 1
              : !strcmp(format, "table") ? 2
                                         : -1;
    if (fmt < 0) {
        fprintf(err, "goldlinectl: --format %s: json, csv or table\n", format);
        return 2;
    }

    char msg[512];
    ctl_db_t *db = NULL;
    rep_metric_t *metrics = NULL;
    rep_incident_t *incs = NULL;
    rep_event_t *events = NULL;
    rep_result_t *res = NULL;
    size_t nm = 0, ni = 0, open_excl = 0;
    int code = 3;
    if (ctl_db_open(pg, &db, msg, sizeof msg) ||
        ctl_db_metrics(db, metric, &metrics, &nm, msg, sizeof msg) ||
        ctl_db_incidents(db, dfrom, dto, hospital, &incs, &ni, &events, &open_excl, msg,
                         sizeof msg)) {
        fprintf(err, "goldlinectl: report: %s\n", msg);
        goto done;
    }
    if (metric && nm == 0) {
        fprintf(err, "goldlinectl: report: no metric named %s in golden_metrics\n", metric);
        code = 2;
        goto done;
    }
    code = 1;
    res = calloc(nm ? nm : 1, sizeof *res);
    if (!res)
        goto done;
    for (size_t i = 0; i < nm; i++)
        if (rep_compute(&metrics[i], incs, ni, &res[i]))
            goto done;
    rep_header_t h = {from, to, hospital, ni, open_excl};
    int rc = fmt == 0   ? rep_print_json(out, &h, res, nm)
             : fmt == 1 ? rep_print_csv(out, &h, res, nm)
                        : rep_print_table(out, &h, res, nm);
    code = rc || fflush(out) ? 1 : 0;
    if (code)
        fprintf(err, "goldlinectl: report: cannot write the output\n");
done:
    free(res);
    free(incs);
    free(events);
    free(metrics);
    ctl_db_close(db);
    return code;
}
