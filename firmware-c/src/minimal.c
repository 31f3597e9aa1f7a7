/* The C twin of firmware-example's `minimal`, and the footprint figure: one embedded model
 * (models/minimal.mdn: 1-32-32 ReLU, K = 5, D = 1) in a library with the default bare-metal
 * capacities (1, 32, 5, 1), validated once, one log p(y|x), its bits written over
 * semihosting, exit 0. No C library: semihosting calls are made directly.
 *
 * It also measures its stack peak: the stack below main's frame is painted first, and the
 * deepest word overwritten after the query gives the peak (written as "stack=<hex bytes>"). */
#include <stdint.h>

#include "mdn.h"
#include "minimal_model.h" /* MINIMAL_MODEL: the blob as a 4-byte-aligned array */

/* Semihosting: SYS_WRITE0 (a NUL-terminated string), SYS_EXIT_EXTENDED (any exit code). */
static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void firmware_exit(int code) {
    const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost(0x20u, block);
    for (;;) {
    }
}

static void write_hex(const char *label, uint32_t value) {
    char text[24];
    int i = 0, shift;
    while (*label) text[i++] = *label++;
    for (shift = 28; shift >= 0; shift -= 4) text[i++] = "0123456789abcdef"[(value >> shift) & 0xF];
    text[i++] = '\n';
    text[i] = '\0';
    semihost(0x04u, text);
}

extern uint32_t _ebss, _estack;
#define PAINT 0xA5A5A5A5u

static mdn_model model;

/* Not inlined, so its frame (and the library's below it) is what the paint measures. */
__attribute__((noinline)) static int query(float *log_p) {
    const volatile float x = 0.3f, y = -0.7f; /* as if read at run time */
    const float xs[1] = {x}, ys[1] = {y};
    mdn_status status = mdn_model_init(&model, MINIMAL_MODEL, sizeof MINIMAL_MODEL);
    if (status == MDN_OK) status = mdn_log_prob(&model, xs, 1, ys, 1, log_p);
    return (int)status;
}

int main(void) {
    uint32_t sp, *word;
    float log_p = 0.0f;
    int status;
    __asm volatile("mov %0, sp" : "=r"(sp));
    /* Paint from the end of .bss up to 64 bytes below this frame. */
    for (word = &_ebss; word < (uint32_t *)(sp - 64); word++) *word = PAINT;
    status = query(&log_p);
    for (word = &_ebss; *word == PAINT; word++) {
    }
    {
        union { float f; uint32_t u; } bits = {log_p};
        write_hex("log_p=", bits.u);
    }
    write_hex("stack=", (uint32_t)&_estack - (uint32_t)word);
    return status;
}
