/* Host parity of the C API: for each MODEL.mdn VECTORS pair, loads the blob through
 * mdn_model_init and checks every vector whose query has a C function against the outcome
 * mdn-core computed (parity_check.h). Exit 0 if all match, 1 on a difference, 2 on a
 * usage, file or blob error.
 *
 *   cc -std=c99 -I mdn-c/include mdn-c/tests/c/parity.c target/release/libmdn_c.a -lm
 *   ./a.out MODEL.mdn MODEL.vectors [MODEL2.mdn MODEL2.vectors ...]
 *
 * mdn-c/tests/c_api.rs writes fresh vectors for every committed blob and runs this. */
#include <stdio.h>
#include <stdlib.h>

#include "mdn.h"
#include "parity_check.h"

/* Reads a whole file into 4-byte-aligned memory (malloc's alignment), as a model blob
 * must be; returns NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    long size;
    uint8_t *bytes;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        if (f != NULL) fclose(f);
        return NULL;
    }
    bytes = malloc(size > 0 ? (size_t)size : 1);
    if (bytes != NULL && fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return bytes;
}

int main(int argc, char **argv) {
    int i, failed = 0;
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: %s MODEL.mdn VECTORS [MODEL.mdn VECTORS ...]\n", argv[0]);
        return 2;
    }
    for (i = 1; i + 1 < argc && !failed; i += 2) {
        static mdn_model model; /* static storage: zeroed, as the header suggests */
        size_t blob_len = 0, vectors_len = 0;
        uint8_t *blob = read_file(argv[i], &blob_len);
        uint8_t *vectors = read_file(argv[i + 1], &vectors_len);
        parity_counts counts = {0, 0};
        mdn_status status;
        if (blob == NULL || vectors == NULL) {
            fprintf(stderr, "cannot read %s or %s\n", argv[i], argv[i + 1]);
            return 2;
        }
        status = mdn_model_init(&model, blob, blob_len);
        if (status != MDN_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], mdn_status_str(status));
            return 2;
        }
        failed = parity_check(argv[i], &model, vectors, vectors_len, &counts);
        if (!failed) {
            printf("%s: %lu vectors bit-identical through the C API (%lu skipped: no C "
                   "function)\n",
                   argv[i], counts.checked, counts.skipped);
        }
        free(blob);
        free(vectors);
    }
    return failed;
}
