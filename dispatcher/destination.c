/*
 * Destination choice (see destination.h).
 */
#include "destination.h"

#include "golden.h"

#include <stdio.h>
#include <string.h>

unsigned hospital_cap_parse(const char *name)
{
#define XX(n, text)                                                                               \
    if (!strcmp(name, text))                                                                      \
        return HOSPITAL_CAP(n);
    HOSPITAL_CAP_MAP(XX)
#undef XX
    return 0;
}

/* The fastest reachable hospital, not on diversion, with all of `caps` and the readiness the
 * case needs; -1 if none. */
static int fastest(const hospital_t *h, size_t n, const double *t, unsigned caps, int need_cath,
                   int need_ct)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < 0 || h[i].on_diversion || (h[i].caps & caps) != caps ||
            (need_cath && !h[i].cath_lab_ready) || (need_ct && !h[i].ct_ready))
            continue;
        if (best < 0 || t[i] < t[best])
            best = (int)i;
    }
    return best;
}

static destination_choice_t make(const hospital_t *h, const double *t, int i, const char *why)
{
    destination_choice_t c = {i, i >= 0 ? t[i] : -1, ""};
    if (i >= 0)
        snprintf(c.reason, sizeof c.reason, "%s", why);
    else
        snprintf(c.reason, sizeof c.reason, "no hospital reachable (all on diversion or off "
                 "the road network)");
    (void)h;
    return c;
}

destination_choice_t destination_choose(const incident_t *inc, const hospital_t *h, size_t n,
                                        const double *travel_s, int64_t now_ms)
{
    int64_t at;
    int i;
    switch (inc->complaint) {
    case COMPLAINT_CHEST_PAIN:
        if (golden_find_event(inc, "stemi_confirmed", &at) &&
            (i = fastest(h, n, travel_s, HOSPITAL_CAP(PCI), 1, 0)) >= 0)
            return make(h, travel_s, i, "STEMI: nearest PCI centre with the cath lab ready");
        if ((i = fastest(h, n, travel_s, HOSPITAL_CAP(PCI), 0, 0)) >= 0)
            return make(h, travel_s, i, "chest pain: nearest PCI centre");
        break;
    case COMPLAINT_STROKE: {
        int ivt = fastest(h, n, travel_s, HOSPITAL_CAP(STROKE_IVT), 0, 1);
        int evt = fastest(h, n, travel_s, HOSPITAL_CAP(STROKE_EVT), 0, 1);
        int lvo = golden_find_event(inc, "lvo_suspected", &at);
        int in_window = inc->onset_ms && now_ms - inc->onset_ms <= DESTINATION_EVT_WINDOW_MS;
        if (lvo && in_window && evt >= 0 &&
            (ivt < 0 || travel_s[evt] - travel_s[ivt] <= DESTINATION_EVT_EXTRA_S))
            return make(h, travel_s, evt, "suspected LVO within 6 h: thrombectomy centre");
        if (ivt >= 0)
            return make(h, travel_s, ivt, lvo ? "stroke: nearest stroke centre (thrombectomy "
                                                "too far or out of the window)"
                                              : "stroke: nearest stroke centre with CT ready");
        if (evt >= 0)
            return make(h, travel_s, evt, "stroke: nearest thrombectomy centre");
        break;
    }
    case COMPLAINT_TRAUMA:
        if ((i = fastest(h, n, travel_s, HOSPITAL_CAP(TRAUMA), 0, 0)) >= 0)
            return make(h, travel_s, i, "trauma: nearest trauma centre");
        break;
    case COMPLAINT_OBSTETRIC:
        if ((i = fastest(h, n, travel_s, HOSPITAL_CAP(OBSTETRIC), 0, 0)) >= 0)
            return make(h, travel_s, i, "obstetric: nearest obstetric unit");
        break;
    case COMPLAINT_NEWBORN:
        if ((i = fastest(h, n, travel_s, HOSPITAL_CAP(NEONATAL), 0, 0)) >= 0)
            return make(h, travel_s, i, "newborn: nearest neonatal unit");
        break;
    default:
        break;
    }
    i = fastest(h, n, travel_s, 0, 0, 0);
    return make(h, travel_s, i, inc->complaint == COMPLAINT_OTHER
                                    ? "nearest hospital"
                                    : "no capable hospital reachable: nearest hospital");
}
