/* Parity through the C API: runs the records of an mdn parity vector file (format:
 * tests/src/vectors.rs, version 1) through mdn.h's functions and compares each outcome with
 * the one mdn-core computed on the host, bit for bit (any NaN equals any NaN: x86_64 and
 * ARM write different NaN bits). Shared by the host program (parity.c) and the C firmware
 * (firmware-c/src/parity.c); header-only, so the host program compiles as one file.
 *
 * Records whose query has no C function (libm ops, divergences, density on a grid) are
 * counted as skipped. Modes come highest density first from mdn_modes; the vectors list
 * them by location with the index of the highest, so the C result is put back in location
 * order to compare, and its order checked (the highest first, then densities
 * non-increasing). */
#ifndef MDN_PARITY_CHECK_H
#define MDN_PARITY_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mdn.h"

/* The most words an outcome has (mdn_tests::vectors::MAX_OUTCOME). */
#define PARITY_MAX_OUTCOME 255
/* Draws per Sample record (mdn_tests::vectors::SAMPLE_DRAWS). */
#define PARITY_SAMPLE_DRAWS 4
/* Room for every per-component array: MDN_MAX_COMPONENTS * MDN_MAX_OUTPUTS floats. */
#define PARITY_MAX_VALUES (MDN_MAX_COMPONENTS * MDN_MAX_OUTPUTS)

/* Counts of one vector file. */
typedef struct parity_counts {
    unsigned long checked;
    unsigned long skipped;
} parity_counts;

static uint32_t parity_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t parity_bits(float f) {
    uint32_t w;
    memcpy(&w, &f, sizeof w);
    return w;
}

static float parity_float(uint32_t w) {
    float f;
    memcpy(&f, &w, sizeof f);
    return f;
}

static int parity_is_nan(uint32_t w) {
    return (w & 0x7f800000u) == 0x7f800000u && (w & 0x007fffffu) != 0;
}

/* mdn_tests::vectors::error_code: the status word of an outcome. */
static uint32_t parity_code(mdn_status status) {
    switch (status) {
    case MDN_OK: return 0;
    case MDN_ERROR_INPUT_LENGTH: return 1;
    case MDN_ERROR_TARGET_LENGTH: return 2;
    case MDN_ERROR_NON_FINITE_INPUT: return 3;
    case MDN_ERROR_NON_FINITE_TARGET: return 4;
    case MDN_ERROR_INVALID_PROBABILITY: return 5;
    case MDN_ERROR_NOT_UNIVARIATE: return 6;
    case MDN_ERROR_INVALID_TEMPERATURE: return 7;
    case MDN_ERROR_INVALID_SIGMA_SCALE: return 8;
    case MDN_ERROR_TRANSFORM_MISMATCH: return 9;
    case MDN_ERROR_OUTPUT_LENGTH: return 10;
    default: return 255;
    }
}

/* An outcome being built: status word, then values. */
typedef struct parity_outcome {
    uint32_t words[PARITY_MAX_OUTCOME];
    size_t len;
} parity_outcome;

/* Starts an outcome with `status`; returns whether values follow (MDN_OK). */
static int parity_start(parity_outcome *out, mdn_status status) {
    out->words[0] = parity_code(status);
    out->len = 1;
    return status == MDN_OK;
}

static void parity_push(parity_outcome *out, const float *values, size_t n) {
    size_t i;
    for (i = 0; i < n && out->len < PARITY_MAX_OUTCOME; i++) {
        out->words[out->len++] = parity_bits(values[i]);
    }
}

/* Sorts `ys` (and `densities` with them) by location, ascending; insertion sort. */
static void parity_by_location(float *ys, float *densities, size_t n) {
    size_t i, j;
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && ys[j - 1] > ys[j]; j--) {
            float t = ys[j - 1];
            ys[j - 1] = ys[j];
            ys[j] = t;
            t = densities[j - 1];
            densities[j - 1] = densities[j];
            densities[j] = t;
        }
    }
}

/* The mdn_modes outcome in the vectors' form; 0 if the C result's order is wrong. */
static int parity_modes(const mdn_model *model, const float *x, size_t nx,
                        parity_outcome *out) {
    static float ys[MDN_MAX_COMPONENTS], densities[MDN_MAX_COMPONENTS];
    float first_y = 0.0f, top_y, top_density, value;
    size_t count = 0, count_one = 0, i, highest = 0;
    mdn_status status = mdn_modes(model, x, nx, ys, densities, MDN_MAX_COMPONENTS, &count);
    if (!parity_start(out, status)) {
        return 1;
    }
    /* The most likely first, then by density; a capacity of 1 must give the same count
     * and first. */
    for (i = 2; i < count; i++) {
        if (densities[i] > densities[i - 1]) {
            printf("mdn_modes: density %lu above density %lu\n", (unsigned long)i,
                   (unsigned long)(i - 1));
            return 0;
        }
    }
    if (mdn_modes(model, x, nx, &top_y, &top_density, 1, &count_one) != MDN_OK ||
        count_one != count || (count > 0 && parity_bits(top_y) != parity_bits(ys[0]))) {
        printf("mdn_modes: capacity 1 gives another count or first mode\n");
        return 0;
    }
    /* And mdn_modes(capacity 0, NULL arrays) counts. */
    if (mdn_modes(model, x, nx, NULL, NULL, 0, &count_one) != MDN_OK || count_one != count) {
        printf("mdn_modes: capacity 0 gives another count\n");
        return 0;
    }
    if (count > 0) {
        first_y = ys[0];
    }
    parity_by_location(ys, densities, count);
    for (i = 0; i < count; i++) {
        if (parity_bits(ys[i]) == parity_bits(first_y)) {
            highest = i;
            break;
        }
    }
    value = (float)count;
    parity_push(out, &value, 1);
    value = count > 0 ? (float)highest : parity_float(0x7fc00000u);
    parity_push(out, &value, 1);
    parity_push(out, ys, count);
    parity_push(out, densities, count);
    return 1;
}

/* `as u64` of a float in Rust: saturating, NaN to 0. */
static uint64_t parity_seed(float v) {
    if (!(v > 0.0f)) {
        return 0;
    }
    if (v >= 18446744073709551616.0f) {
        return UINT64_MAX;
    }
    return (uint64_t)v;
}

/* Computes the outcome of one record through the C API; 0 if the query has no C function
 * (skipped), -1 if the C result is malformed, 1 otherwise. */
static int parity_evaluate(const mdn_model *model, uint8_t op, const float *x, size_t nx,
                           const float *y, size_t ny, parity_outcome *out) {
    static float a[PARITY_MAX_VALUES], b[PARITY_MAX_VALUES], c[PARITY_MAX_VALUES];
    const float arg0 = ny > 0 ? y[0] : parity_float(0x7fc00000u);
    const size_t dims = mdn_output_dim(model), k = mdn_components(model);
    size_t count = 0;
    float v = 0.0f, w = 0.0f;
    int i;
    switch (op) {
    case 1: /* LogProb */
        if (parity_start(out, mdn_log_prob(model, x, nx, y, ny, &v))) parity_push(out, &v, 1);
        return 1;
    case 2: /* Prob */
        if (parity_start(out, mdn_prob(model, x, nx, y, ny, &v))) parity_push(out, &v, 1);
        return 1;
    case 3: /* Mean */
        if (parity_start(out, mdn_mean(model, x, nx, a, dims))) parity_push(out, a, dims);
        return 1;
    case 4: /* StdDev */
        if (parity_start(out, mdn_std_dev(model, x, nx, a, dims))) parity_push(out, a, dims);
        return 1;
    case 5: /* Mixture */
        if (parity_start(out, mdn_mixture(model, x, nx, a, b, c, k, &count))) {
            parity_push(out, a, count);
            parity_push(out, b, count * dims);
            parity_push(out, c, count * dims);
        }
        return 1;
    case 6: /* Cdf */
        if (parity_start(out, mdn_cdf(model, x, nx, y, ny, a, dims))) parity_push(out, a, dims);
        return 1;
    case 7: /* Quantile */
        if (parity_start(out, mdn_quantile(model, x, nx, arg0, &v))) parity_push(out, &v, 1);
        return 1;
    case 8: /* Interval */
        if (parity_start(out, mdn_interval(model, x, nx, arg0, &v, &w))) {
            parity_push(out, &v, 1);
            parity_push(out, &w, 1);
        }
        return 1;
    case 9: /* Modes */
        return parity_modes(model, x, nx, out) ? 1 : -1;
    case 10: { /* Sample: temperature, sigma scale, seed */
        const float nan = parity_float(0x7fc00000u);
        const float temperature = ny > 0 ? y[0] : nan, scale = ny > 1 ? y[1] : nan;
        uint64_t state = parity_seed(ny > 2 ? y[2] : nan);
        mdn_status status = MDN_OK;
        for (i = 0; i < PARITY_SAMPLE_DRAWS && status == MDN_OK; i++) {
            status = mdn_sample_tempered(model, x, nx, temperature, scale, &state,
                                         a + (size_t)i * dims, dims);
        }
        if (parity_start(out, status)) parity_push(out, a, PARITY_SAMPLE_DRAWS * dims);
        return 1;
    }
    case 11: /* Entropy */
        if (parity_start(out, mdn_entropy(model, x, nx, &v))) parity_push(out, &v, 1);
        return 1;
    case 15: /* AnomalyScore */
        if (parity_start(out, mdn_anomaly_score(model, x, nx, y, ny, &v)))
            parity_push(out, &v, 1);
        return 1;
    case 33: /* Crps */
        if (parity_start(out, mdn_crps(model, x, nx, y, ny, a, dims))) parity_push(out, a, dims);
        return 1;
    default:
        return 0;
    }
}

/* Checks every record of `vectors` against `model`; returns 0 if all match, else prints
 * the first difference and returns 1 (2 for a malformed file). */
static int parity_check(const char *name, const mdn_model *model, const uint8_t *vectors,
                        size_t len, parity_counts *counts) {
    static float x[256], y[256];
    static parity_outcome got;
    size_t pos = 10, i;
    uint32_t records, r;
    if (len < 10 || memcmp(vectors, "MDNV", 4) != 0 || vectors[4] != 1 || vectors[5] != 0) {
        printf("%s: not a version 1 vector file\n", name);
        return 2;
    }
    records = parity_u32(vectors + 6);
    for (r = 0; r < records; r++) {
        uint8_t op, nx, ny, nout;
        const uint8_t *expected;
        int evaluated;
        if (len - pos < 4) {
            printf("%s: truncated at record %lu\n", name, (unsigned long)r);
            return 2;
        }
        op = vectors[pos];
        nx = vectors[pos + 1];
        ny = vectors[pos + 2];
        nout = vectors[pos + 3];
        pos += 4;
        if ((len - pos) / 4 < (size_t)nx + ny + nout) {
            printf("%s: truncated at record %lu\n", name, (unsigned long)r);
            return 2;
        }
        for (i = 0; i < nx; i++, pos += 4) x[i] = parity_float(parity_u32(vectors + pos));
        for (i = 0; i < ny; i++, pos += 4) y[i] = parity_float(parity_u32(vectors + pos));
        expected = vectors + pos;
        pos += (size_t)nout * 4;
        evaluated = parity_evaluate(model, op, x, nx, y, ny, &got);
        if (evaluated == 0) {
            counts->skipped++;
            continue;
        }
        if (evaluated > 0 && got.len == nout) {
            int same = parity_u32(expected) == got.words[0];
            for (i = 1; same && i < nout; i++) {
                const uint32_t e = parity_u32(expected + 4 * i), g = got.words[i];
                same = e == g || (parity_is_nan(e) && parity_is_nan(g));
            }
            if (same) {
                counts->checked++;
                continue;
            }
        }
        printf("%s: record %lu (op %u) differs\n  host:", name, (unsigned long)r, op);
        for (i = 0; i < nout; i++) printf(" %08lx", (unsigned long)parity_u32(expected + 4 * i));
        printf("\n  C:   ");
        for (i = 0; i < got.len; i++) printf(" %08lx", (unsigned long)got.words[i]);
        printf("\n");
        return 1;
    }
    return 0;
}

#endif /* MDN_PARITY_CHECK_H */
