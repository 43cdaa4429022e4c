/*
 * closure_apply_ms of bench/route (route_closure.c): a road closure entering the dispatcher's
 * road module until the next 200-unit recommendation honours it.
 */
#ifndef GL_BENCH_ROUTE_CLOSURE_H
#define GL_BENCH_ROUTE_CLOSURE_H

#include "graph.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Places `nunits` available units at vertices unit_v[] of a copy of `base` in the dispatcher's
 * roads module, then times closures on the best unit's road to random scenes (pick(n) draws a
 * vertex below n). Prints a table row; returns 0 with the p99 and median in ms, or -1 (could not
 * build, or a closure made some unit faster: wrong).
 */
int bench_closure_apply(const graph_t *base, const uint32_t *unit_v, size_t nunits,
                        uint32_t (*pick)(uint32_t n), double *p99_ms, double *median_ms);

#endif
