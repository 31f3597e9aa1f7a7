/* Device parity of the C API: checks every parity set of the bundle that QEMU's loader
 * placed at 0x00200000 through mdn.h's functions against the host's outcomes, bit for bit
 * (mdn-c/tests/c/parity_check.h, the host program's checks). Exit 0 if every outcome has
 * the host's bits, 1 on a difference, 2 for an invalid blob or file, 3 without a bundle.
 *
 * Bundle (written by tests/tests/device_c_parity.rs; little-endian u32 words):
 *   "MDNB"  u32 set count
 *   set:    u32 name length, u32 blob length, u32 vector file length,
 *           name, blob, vector file (each padded with zeros to a multiple of 4 bytes)
 * so every blob starts 4-byte aligned, as mdn_model_init requires.
 *
 * Then the A/B update slots (mdn_slots_trailer, mdn_slots_select) on the first set's blob:
 * linked and run on the device, so the link is their no-panic proof too; exit 4 if the
 * slot choice is wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdn.h"
#include "parity_check.h"

#define BUNDLE ((const uint8_t *)0x00200000u)

/* newlib's start-up hooks; nothing to run. */
void _init(void) {}
void _fini(void) {}

void firmware_exit(int code) { exit(code); }

static size_t padded(size_t n) { return (n + 3u) & ~(size_t)3u; }

#define SLOT_BYTES 32768u
/* Two update slots in RAM (4-byte aligned, as memory-mapped flash). */
static uint32_t slots[2][SLOT_BYTES / 4];

/* Commits `blob` into slot A with sequence 7 and into slot B with 8, tears B's trailer, and
 * checks the choices: B, then A. Returns 0 if both are right. */
static int check_slots(const uint8_t *blob, size_t blob_len) {
    uint8_t *a = (uint8_t *)slots[0], *b = (uint8_t *)slots[1];
    mdn_slot_choice choice;
    mdn_status status;
    if (blob_len > SLOT_BYTES - MDN_SLOT_TRAILER_LEN) {
        return 0;
    }
    memset(slots, 0xFF, sizeof slots);
    memcpy(a, blob, blob_len);
    memcpy(b, blob, blob_len);
    if (mdn_slots_trailer(blob, blob_len, 7, NULL, a + SLOT_BYTES - MDN_SLOT_TRAILER_LEN,
                          MDN_SLOT_TRAILER_LEN) != MDN_OK ||
        mdn_slots_trailer(blob, blob_len, 8, NULL, b + SLOT_BYTES - MDN_SLOT_TRAILER_LEN,
                          MDN_SLOT_TRAILER_LEN) != MDN_OK) {
        return 1;
    }
    status = mdn_slots_select(a, SLOT_BYTES, b, SLOT_BYTES, &choice);
    if (status != MDN_OK || choice.active != 1 || choice.sequence != 8 || choice.next_slot != 0 ||
        choice.next_sequence != 9) {
        return 1;
    }
    b[SLOT_BYTES - 1] ^= 0x01; /* a torn trailer: its CRC */
    status = mdn_slots_select(a, SLOT_BYTES, b, SLOT_BYTES, &choice);
    if (status != MDN_OK || choice.active != 0 || choice.sequence != 7 ||
        choice.status_b != MDN_ERROR_SLOT_TRAILER_CORRUPT) {
        return 1;
    }
    printf("C slots: the newer slot chosen, and the older one after its trailer was torn\n");
    return 0;
}

int main(void) {
    extern void initialise_monitor_handles(void);
    static mdn_model model;
    static char name[64];
    const uint8_t *p = BUNDLE + 8;
    uint32_t sets, s;
    unsigned long total = 0;
    initialise_monitor_handles();
    if (memcmp(BUNDLE, "MDNB", 4) != 0) {
        printf("no parity bundle at 0x00200000\n");
        return 3;
    }
    sets = parity_u32(BUNDLE + 4);
    if (sets > 0 && check_slots(BUNDLE + 20 + padded(parity_u32(BUNDLE + 8)), parity_u32(BUNDLE + 12)) != 0) {
        printf("C slots: wrong slot choice\n");
        return 4;
    }
    for (s = 0; s < sets; s++) {
        const uint32_t name_len = parity_u32(p), blob_len = parity_u32(p + 4),
                       vectors_len = parity_u32(p + 8);
        const uint8_t *blob, *vectors;
        parity_counts counts = {0, 0};
        mdn_status status;
        int failed;
        p += 12;
        memcpy(name, p, name_len < sizeof name - 1 ? name_len : sizeof name - 1);
        name[name_len < sizeof name - 1 ? name_len : sizeof name - 1] = '\0';
        blob = p + padded(name_len);
        vectors = blob + padded(blob_len);
        p = vectors + padded(vectors_len);
        status = mdn_model_init(&model, blob, blob_len);
        if (status != MDN_OK) {
            printf("%s: %s\n", name, mdn_status_str((int)status));
            return 2;
        }
        failed = parity_check(name, &model, vectors, vectors_len, &counts);
        if (failed) {
            return failed;
        }
        printf("%s: %lu vectors bit-identical through the C API (%lu skipped: no C function)\n",
               name, counts.checked, counts.skipped);
        total += counts.checked;
    }
    printf("C parity: all %lu vectors of %lu models match the host\n", total, (unsigned long)sets);
    return 0;
}
