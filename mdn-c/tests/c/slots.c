/* A/B update slots through the C API: mdn_slots_trailer commits a blob, mdn_slots_select
 * boots the newest usable slot (A on a tie) and says where the next update goes; torn,
 * corrupted and mismatched slots, NULL pointers and short lengths give their statuses.
 * Exit 0 if every check holds, 1 otherwise (each failure printed); 2 on a usage or file
 * error.
 *
 *   cc -std=c99 -I mdn-c/include mdn-c/tests/c/slots.c target/release/libmdn_c.a -lm
 *   ./a.out OLD_MODEL.mdn NEW_MODEL.mdn
 */
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

#define SLOT_BYTES 16384
/* Two slots in 4-byte aligned memory, as memory-mapped flash; blobs read from files. */
static uint32_t slots[2][SLOT_BYTES / 4];
static uint32_t blobs[2][SLOT_BYTES / 4 + 1];
static size_t blob_lens[2];

static uint8_t *slot(int id) { return (uint8_t *)slots[id]; }

/* Erases slot `id`, then writes blob `blob` and its trailer with `sequence` (trailer last). */
static void commit(int id, int blob, uint32_t sequence) {
    uint8_t trailer[MDN_SLOT_TRAILER_LEN];
    memset(slot(id), 0xFF, SLOT_BYTES);
    memcpy(slot(id), blobs[blob], blob_lens[blob]);
    expect("trailer", mdn_slots_trailer((const uint8_t *)blobs[blob], blob_lens[blob], sequence,
                                        NULL, trailer, sizeof trailer), MDN_OK);
    memcpy(slot(id) + SLOT_BYTES - MDN_SLOT_TRAILER_LEN, trailer, sizeof trailer);
}

static mdn_status choose(mdn_slot_choice *choice) {
    return mdn_slots_select(slot(0), SLOT_BYTES, slot(1), SLOT_BYTES, choice);
}

int main(int argc, char **argv) {
    mdn_slot_choice choice;
    static mdn_model model;
    uint8_t trailer[MDN_SLOT_TRAILER_LEN + 1];
    uint8_t signature[MDN_SLOT_SIGNATURE_LEN];
    uint32_t crc;
    int i;

    if (argc != 3) {
        fprintf(stderr, "usage: %s OLD_MODEL.mdn NEW_MODEL.mdn\n", argv[0]);
        return 2;
    }
    for (i = 0; i < 2; i++) {
        FILE *f = fopen(argv[1 + i], "rb");
        if (f == NULL) {
            fprintf(stderr, "cannot open %s\n", argv[1 + i]);
            return 2;
        }
        blob_lens[i] = fread(blobs[i], 1, SLOT_BYTES, f);
        fclose(f);
    }

    /* Nothing committed: no slot, the first update goes to A with sequence 1. */
    memset(slots, 0xFF, sizeof slots);
    expect("select erased", choose(&choice), MDN_ERROR_NO_VALID_SLOT);
    expect_true("erased: none active", choice.active == MDN_SLOT_NONE && choice.blob_len == 0);
    expect_true("erased: next is A, 1", choice.next_slot == 0 && choice.next_sequence == 1);
    expect("erased: A not committed", choice.status_a, MDN_ERROR_SLOT_NOT_COMMITTED);
    expect("erased: B not committed", choice.status_b, MDN_ERROR_SLOT_NOT_COMMITTED);
    expect("erased: next status", choice.next_status, MDN_OK);

    /* The old model in A; boot from it. */
    commit(0, 0, 5);
    expect("select A", choose(&choice), MDN_OK);
    expect_true("A active", choice.active == 0 && choice.sequence == 5);
    expect_true("A's blob length", choice.blob_len == blob_lens[0]);
    expect_true("next is B, 6", choice.next_slot == 1 && choice.next_sequence == 6);
    expect("A valid", choice.status_a, MDN_OK);
    expect("init from the active slot", mdn_model_init(&model, slot(0), choice.blob_len), MDN_OK);

    /* The update in B, committed: B is newer. */
    commit(1, 1, 6);
    expect("select B", choose(&choice), MDN_OK);
    expect_true("B active", choice.active == 1 && choice.sequence == 6);
    expect_true("B's blob length", choice.blob_len == blob_lens[1]);
    expect_true("next is A, 7", choice.next_slot == 0 && choice.next_sequence == 7);

    /* A tie goes to A. */
    commit(1, 1, 5);
    expect("select tie", choose(&choice), MDN_OK);
    expect_true("tie: A", choice.active == 0 && choice.next_slot == 1 && choice.next_sequence == 6);

    /* B newer but torn: every byte of its trailer flipped in turn leaves A active. */
    commit(1, 1, 6);
    for (i = 0; i < (int)MDN_SLOT_TRAILER_LEN; i++) {
        uint8_t *byte = slot(1) + SLOT_BYTES - MDN_SLOT_TRAILER_LEN + i;
        *byte ^= 0x01;
        expect("select with a flipped trailer byte", choose(&choice), MDN_OK);
        expect_true("flipped trailer: A active", choice.active == 0 && choice.sequence == 5);
        expect_true("flipped trailer: B refused", choice.status_b != MDN_OK);
        *byte ^= 0x01;
    }
    /* A half-written trailer (the rest erased). */
    memset(slot(1) + SLOT_BYTES - MDN_SLOT_TRAILER_LEN / 2, 0xFF, MDN_SLOT_TRAILER_LEN / 2);
    choose(&choice);
    expect("half a trailer", choice.status_b, MDN_ERROR_SLOT_TRAILER_CORRUPT);
    expect_true("half a trailer: A active", choice.active == 0);

    /* B's blob corrupted under an intact trailer. */
    commit(1, 1, 6);
    slot(1)[100] ^= 0x40;
    choose(&choice);
    expect("corrupted blob", choice.status_b, MDN_ERROR_CHECKSUM_MISMATCH);
    expect_true("corrupted blob: A active", choice.active == 0);

    /* B holding the old blob under the new blob's trailer. */
    commit(1, 1, 6);
    memcpy(slot(1), blobs[0], blob_lens[0]);
    choose(&choice);
    expect("another blob's trailer", choice.status_b, MDN_ERROR_SLOT_BLOB_MISMATCH);

    /* Only B usable; then the sequence exhausted. */
    memset(slot(0), 0xFF, SLOT_BYTES);
    commit(1, 1, 0xFFFFFFFFu);
    expect("select exhausted", choose(&choice), MDN_OK);
    expect_true("exhausted: B active", choice.active == 1);
    expect("exhausted: next", choice.next_status, MDN_ERROR_SEQUENCE_EXHAUSTED);

    /* Bad pointers and short slots. */
    expect("NULL choice", mdn_slots_select(slot(0), SLOT_BYTES, slot(1), SLOT_BYTES, NULL),
           MDN_ERROR_NULL_POINTER);
    expect("NULL slot A with a length", mdn_slots_select(NULL, SLOT_BYTES, slot(1), SLOT_BYTES, &choice),
           MDN_ERROR_NULL_POINTER);
    expect("NULL slot A, length 0", mdn_slots_select(NULL, 0, slot(1), SLOT_BYTES, &choice), MDN_OK);
    expect("empty slot A", choice.status_a, MDN_ERROR_SLOT_TOO_SMALL);
    mdn_slots_select(slot(0), MDN_SLOT_TRAILER_LEN - 1, slot(1), SLOT_BYTES, &choice);
    expect("short slot A", choice.status_a, MDN_ERROR_SLOT_TOO_SMALL);
    /* A slot cut short: B's trailer is no longer at its end. */
    expect("short slot B", mdn_slots_select(slot(0), SLOT_BYTES, slot(1), SLOT_BYTES - 4, &choice),
           MDN_ERROR_NO_VALID_SLOT);

    /* Trailers: signed, bad blobs, short buffers. */
    memset(signature, 0xA5, sizeof signature);
    expect("signed trailer", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1], 0x01020304u,
                                               signature, trailer, MDN_SLOT_TRAILER_LEN), MDN_OK);
    memcpy(&crc, (const uint8_t *)blobs[1] + blob_lens[1] - 4, 4);
    expect_true("magic", memcmp(trailer, "MDNS", 4) == 0);
    expect_true("version 1, signed flag", trailer[4] == 1 && trailer[5] == 0 && trailer[6] == 1 && trailer[7] == 0);
    expect_true("sequence LE", trailer[8] == 4 && trailer[9] == 3 && trailer[10] == 2 && trailer[11] == 1);
    expect_true("blob CRC", memcmp(trailer + 16, &crc, 4) == 0);
    expect_true("signature", memcmp(trailer + 20, signature, sizeof signature) == 0);
    expect("short output", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1], 1, NULL, trailer,
                                             MDN_SLOT_TRAILER_LEN - 1), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("NULL output, length 0", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1], 1, NULL,
                                                     NULL, 0), MDN_ERROR_BUFFER_TOO_SMALL);
    expect("NULL output", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1], 1, NULL, NULL,
                                            MDN_SLOT_TRAILER_LEN), MDN_ERROR_NULL_POINTER);
    expect("NULL blob", mdn_slots_trailer(NULL, blob_lens[1], 1, NULL, trailer, MDN_SLOT_TRAILER_LEN),
           MDN_ERROR_NULL_POINTER);
    expect("empty blob", mdn_slots_trailer(NULL, 0, 1, NULL, trailer, MDN_SLOT_TRAILER_LEN),
           MDN_ERROR_TRUNCATED);
    expect("truncated blob", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1] - 4, 1, NULL,
                                               trailer, MDN_SLOT_TRAILER_LEN), MDN_ERROR_TRUNCATED);
    memcpy((uint8_t *)blobs[0] + 1, blobs[1], blob_lens[1]);
    expect("misaligned blob", mdn_slots_trailer((const uint8_t *)blobs[0] + 1, blob_lens[1], 1, NULL,
                                                trailer, MDN_SLOT_TRAILER_LEN), MDN_ERROR_MISALIGNED);
    ((uint8_t *)blobs[1])[200] ^= 1;
    expect("corrupted blob", mdn_slots_trailer((const uint8_t *)blobs[1], blob_lens[1], 1, NULL, trailer,
                                               MDN_SLOT_TRAILER_LEN), MDN_ERROR_CHECKSUM_MISMATCH);

    /* The new statuses have their own texts. */
    for (i = MDN_ERROR_NO_VALID_SLOT; i <= MDN_ERROR_SEQUENCE_EXHAUSTED; i++) {
        expect_true("status text", strcmp(mdn_status_str(i), "unknown mdn_status value") != 0);
    }

    if (failures == 0) {
        printf("slots: every check holds\n");
        return 0;
    }
    return 1;
}
