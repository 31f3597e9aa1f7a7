/* Bad input through the C API returns the matching status and never crashes: NULL
 * pointers, zeroed, failed and misaligned models, misaligned, truncated, padded and
 * corrupted blobs, short buffers, wrong lengths, NaN inputs, out-of-range status values.
 * Exit 0 if every check holds, 1 otherwise (each failure printed); 2 on a usage or file
 * error.
 *
 *   cc -std=c99 -I mdn-c/include mdn-c/tests/c/bad_input.c target/release/libmdn_c.a -lm
 *   ./a.out ONE_INPUT_ONE_OUTPUT_MODEL.mdn
 *
 * The model must have one input and one output (firmware-example/models/minimal.mdn). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mdn.h"

static int failures = 0;

static void expect(const char *what, mdn_status got, mdn_status want) {
    if (got != want) {
        printf("FAIL %s: got %d (%s), want %d (%s)\n", what, (int)got, mdn_status_str((int)got),
               (int)want, mdn_status_str((int)want));
        failures++;
    }
}

static void expect_true(const char *what, int holds) {
    if (!holds) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* 4-byte-aligned room for the blob, and one word more for misaligned and padded copies. */
static uint32_t storage[16384 + 2];

int main(int argc, char **argv) {
    static mdn_model zeroed, model, failed;
    uint8_t *blob = (uint8_t *)storage;
    size_t len;
    FILE *f;
    const float x[1] = {0.3f}, y[1] = {-0.7f}, nan_x[1] = {NAN}, inf_y[1] = {INFINITY};
    float out = 0.0f, lower = 0.0f, upper = 0.0f, ys[8], densities[8], means[8], sigmas[8];
    size_t count = 0;
    uint64_t state = 42;

    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: %s ONE_INPUT_ONE_OUTPUT_MODEL.mdn\n", argv[0]);
        return 2;
    }
    len = fread(blob, 1, sizeof storage - 8, f);
    fclose(f);

    /* Status strings: any int, never NULL. */
    expect_true("status_str(MDN_OK)", strcmp(mdn_status_str(MDN_OK), "ok") == 0);
    expect_true("status_str(-1)", strcmp(mdn_status_str(-1), "unknown mdn_status value") == 0);
    expect_true("status_str(INT_MIN)", strcmp(mdn_status_str(INT_MIN), "unknown mdn_status value") == 0);
    expect_true("status_str(INT_MAX)", strcmp(mdn_status_str(INT_MAX), "unknown mdn_status value") == 0);
    expect_true("status_str(29)", strcmp(mdn_status_str(29), "unknown mdn_status value") == 0);
    expect_true("status_str(MDN_ERROR_MISALIGNED)", mdn_status_str(MDN_ERROR_MISALIGNED)[0] != '\0');

    /* A zeroed model, and a NULL one. */
    expect("log_prob on a zeroed model", mdn_log_prob(&zeroed, x, 1, y, 1, &out), MDN_ERROR_NOT_INITIALISED);
    expect("mean on a zeroed model", mdn_mean(&zeroed, x, 1, means, 8), MDN_ERROR_NOT_INITIALISED);
    expect("modes on a zeroed model", mdn_modes(&zeroed, x, 1, ys, densities, 8, &count), MDN_ERROR_NOT_INITIALISED);
    expect("sample on a zeroed model", mdn_sample(&zeroed, x, 1, &state, &out, 1), MDN_ERROR_NOT_INITIALISED);
    expect_true("input_dim of a zeroed model is 0", mdn_input_dim(&zeroed) == 0);
    expect_true("output_dim of NULL is 0", mdn_output_dim(NULL) == 0);
    expect_true("components of NULL is 0", mdn_components(NULL) == 0);
    expect("log_prob on NULL", mdn_log_prob(NULL, x, 1, y, 1, &out), MDN_ERROR_NULL_POINTER);
    expect("quantile on NULL", mdn_quantile(NULL, x, 1, 0.5f, &out), MDN_ERROR_NULL_POINTER);

    /* An mdn_model that is not 8-byte aligned (only possible through a cast). */
    {
        static uint64_t room[MDN_MODEL_WORDS + 1];
        mdn_model *shifted = (mdn_model *)(void *)((char *)room + 4);
        expect("init a misaligned model", mdn_model_init(shifted, blob, len), MDN_ERROR_MODEL_MISALIGNED);
        expect("query a misaligned model", mdn_log_prob(shifted, x, 1, y, 1, &out), MDN_ERROR_MODEL_MISALIGNED);
    }

    /* Initialisation: NULLs, misaligned, truncated, trailing bytes, corrupted. */
    expect("init NULL model", mdn_model_init(NULL, blob, len), MDN_ERROR_NULL_POINTER);
    expect("init NULL blob", mdn_model_init(&failed, NULL, len), MDN_ERROR_NULL_POINTER);
    expect("init empty blob", mdn_model_init(&failed, blob, 0), MDN_ERROR_TRUNCATED);
    expect("init truncated blob", mdn_model_init(&failed, blob, len - 1), MDN_ERROR_TRUNCATED);
    expect("init padded blob", mdn_model_init(&failed, blob, len + 4), MDN_ERROR_TRAILING_BYTES);
    memmove(blob + 1, blob, len);
    expect("init misaligned blob", mdn_model_init(&failed, blob + 1, len), MDN_ERROR_MISALIGNED);
    memmove(blob, blob + 1, len);
    blob[0] ^= 0xff;
    expect("init bad magic", mdn_model_init(&failed, blob, len), MDN_ERROR_BAD_MAGIC);
    blob[0] ^= 0xff;
    blob[len - 8] ^= 0x01;
    expect("init corrupted blob", mdn_model_init(&failed, blob, len), MDN_ERROR_CHECKSUM_MISMATCH);
    blob[len - 8] ^= 0x01;
    expect("a failed init leaves the model uninitialised",
           mdn_log_prob(&failed, x, 1, y, 1, &out), MDN_ERROR_NOT_INITIALISED);

    /* A valid model; then a failed re-init of it must uninitialise it too. */
    expect("init", mdn_model_init(&model, blob, len), MDN_OK);
    expect_true("dims", mdn_input_dim(&model) == 1 && mdn_output_dim(&model) == 1);
    expect("log_prob", mdn_log_prob(&model, x, 1, y, 1, &out), MDN_OK);
    expect_true("log_prob is finite", isfinite(out));
    expect("init", mdn_model_init(&failed, blob, len), MDN_OK);
    expect("failed re-init", mdn_model_init(&failed, blob, len - 1), MDN_ERROR_TRUNCATED);
    expect("query after a failed re-init", mdn_log_prob(&failed, x, 1, y, 1, &out), MDN_ERROR_NOT_INITIALISED);

    /* NULL arrays and outputs. */
    expect("NULL x", mdn_log_prob(&model, NULL, 1, y, 1, &out), MDN_ERROR_NULL_POINTER);
    expect("NULL x of length 0", mdn_log_prob(&model, NULL, 0, y, 1, &out), MDN_ERROR_INPUT_LENGTH);
    expect("NULL y", mdn_log_prob(&model, x, 1, NULL, 1, &out), MDN_ERROR_NULL_POINTER);
    expect("NULL log_p", mdn_log_prob(&model, x, 1, y, 1, NULL), MDN_ERROR_NULL_POINTER);
    expect("NULL mean", mdn_mean(&model, x, 1, NULL, 1), MDN_ERROR_NULL_POINTER);
    expect("NULL lower", mdn_interval(&model, x, 1, 0.9f, NULL, &upper), MDN_ERROR_NULL_POINTER);
    expect("NULL upper", mdn_interval(&model, x, 1, 0.9f, &lower, NULL), MDN_ERROR_NULL_POINTER);
    expect("NULL count", mdn_modes(&model, x, 1, ys, densities, 8, NULL), MDN_ERROR_NULL_POINTER);
    expect("NULL ys", mdn_modes(&model, x, 1, NULL, densities, 8, &count), MDN_ERROR_NULL_POINTER);
    expect("NULL rng state", mdn_sample(&model, x, 1, NULL, &out, 1), MDN_ERROR_NULL_POINTER);
    expect("NULL components", mdn_mixture(&model, x, 1, ys, means, sigmas, 8, NULL), MDN_ERROR_NULL_POINTER);
    expect("impossible length", mdn_log_prob(&model, x, SIZE_MAX, y, 1, &out), MDN_ERROR_NULL_POINTER);

    /* Short buffers and wrong lengths. */
    expect("mean_len 0", mdn_mean(&model, x, 1, means, 0), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("cdf_len 0", mdn_cdf(&model, x, 1, y, 1, means, 0), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("sample y_len 0", mdn_sample(&model, x, 1, &state, means, 0), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("mixture capacity 1", mdn_mixture(&model, x, 1, ys, means, sigmas, 1, &count), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("x of length 2", mdn_mean(&model, means, 2, sigmas, 8), MDN_ERROR_INPUT_LENGTH);
    expect("y of length 0", mdn_log_prob(&model, x, 1, y, 0, &out), MDN_ERROR_TARGET_LENGTH);
    expect("modes capacity 0 counts", mdn_modes(&model, x, 1, NULL, NULL, 0, &count), MDN_OK);
    expect_true("at least one mode", count >= 1);

    /* NaN and infinite inputs, invalid probabilities and temperatures. */
    expect("NaN x", mdn_log_prob(&model, nan_x, 1, y, 1, &out), MDN_ERROR_NON_FINITE_INPUT);
    expect("infinite y", mdn_log_prob(&model, x, 1, inf_y, 1, &out), MDN_ERROR_NON_FINITE_TARGET);
    expect("NaN x in quantile", mdn_quantile(&model, nan_x, 1, 0.5f, &out), MDN_ERROR_NON_FINITE_INPUT);
    expect("p = 0", mdn_quantile(&model, x, 1, 0.0f, &out), MDN_ERROR_INVALID_PROBABILITY);
    expect("p = NaN", mdn_quantile(&model, x, 1, NAN, &out), MDN_ERROR_INVALID_PROBABILITY);
    expect("coverage = 1", mdn_interval(&model, x, 1, 1.0f, &lower, &upper), MDN_ERROR_INVALID_PROBABILITY);
    expect("temperature 0", mdn_sample_tempered(&model, x, 1, 0.0f, 1.0f, &state, &out, 1), MDN_ERROR_INVALID_TEMPERATURE);
    expect_true("state unchanged after a failed draw", state == 42);
    expect("sigma scale NaN", mdn_sample_tempered(&model, x, 1, 1.0f, NAN, &state, &out, 1), MDN_ERROR_INVALID_SIGMA_SCALE);
    expect("a draw", mdn_sample(&model, x, 1, &state, &out, 1), MDN_OK);
    expect_true("a draw advances the state", state != 42);

    if (failures == 0) {
        printf("bad input: every check returned the expected status\n");
    }
    return failures == 0 ? 0 : 1;
}
