@ An integer network's sums for ARMv7E-M (Cortex-M4, M7: the DSP extension's `smlad`, two
@ 16 x 16 multiply-adds in one instruction), with the bits of mdn-core's portable
@ `kernel::block_sums` and `kernel::block_sums_wide`: a block's eight rows' wrapping `i32`
@ sums of `weight * input` over its columns. The products are exact (`int16` inputs, `int8`
@ or 16-bit weights) and `smlad` adds them with wrapping, as the portable loop does, so the
@ order of the additions does not matter. Four rows a pass (rows 0-3, then 4-7), two
@ columns a step: their inputs packed into one register as halfwords, each row's two
@ weights packed likewise, one `smlad` a row; an odd last column alone, with `mla` on the
@ whole input.
@
@ void mdn_block_sums_i8(const u32 *columns, const i32 *input, usize n, i32 out[8])
@ void mdn_block_sums_i16(const u32 *columns, const i32 *input, usize n, i32 out[8])
@
@ `columns`: the block's first column (int8: two words, rows 0-3 and 4-7, a byte a row;
@ 16-bit: four words, two rows' halfwords each); `n` columns and `n` inputs are read. Every
@ input must be within the `i16` range (the halfword packing keeps its low 16 bits).
@
@ Each entry saves r0-r3 on its stack and runs its pass twice (`bl`), the second time from
@ the columns' next word(s) into `out + 16`. A pass: r0 the column pointer, r1 the input
@ pointer, r2 `n`, r3 the pairs left (`out` saved on the stack), r4-r7 the four sums,
@ r8-r12 and lr the step's words and packings.

    .syntax unified
    .thumb

@ An entry: both passes of `pass`, the second from `second` bytes into each column.
    .macro block_entry name, pass, second
    .section .text.\name, "ax", %progbits
    .balign 4
    .global \name
    .type \name, %function
    .thumb_func
\name:
    push {r0-r12, lr}
    bl \pass
    ldm sp, {r0-r3}
    adds r0, r0, #\second           @ rows 4-7
    adds r3, r3, #16
    bl \pass
    add sp, sp, #16
    pop {r4-r12, pc}
    .endm

@ A pass's start: `out` saved, the four sums zeroed, r3 the pairs of columns (Z set when
@ there is none).
    .macro pass_start
    push {r3, lr}
    movs r4, #0
    movs r5, #0
    movs r6, #0
    movs r7, #0
    lsrs r3, r2, #1
    .endm

@ A pass's end: the four sums stored to `out`.
    .macro pass_end
    ldr r3, [sp]
    stm r3, {r4-r7}
    pop {r3, pc}
    .endm

    block_entry mdn_block_sums_i8, .Lpass_i8, 4
    .thumb_func
.Lpass_i8:
    pass_start
    beq 2f
1:  ldr r9, [r0, #8]                @ column j + 1: rows 0-3, a byte each
    ldr r8, [r0], #16               @ column j
    ldrd r11, r12, [r1], #8
    pkhbt r10, r11, r12, lsl #16    @ (x_j, x_j+1)
    sxtb16 r11, r8                  @ (row 0, row 2) of column j
    sxtb16 r12, r9                  @ (row 0, row 2) of column j + 1
    pkhbt lr, r11, r12, lsl #16     @ row 0: (column j, column j + 1)
    smlad r4, lr, r10, r4
    pkhtb lr, r12, r11, asr #16     @ row 2
    smlad r6, lr, r10, r6
    sxtb16 r11, r8, ror #8          @ (row 1, row 3) of column j
    sxtb16 r12, r9, ror #8
    pkhbt lr, r11, r12, lsl #16     @ row 1
    smlad r5, lr, r10, r5
    pkhtb lr, r12, r11, asr #16     @ row 3
    smlad r7, lr, r10, r7
    subs r3, r3, #1
    bne 1b
2:  lsls r2, r2, #31                @ an odd last column?
    beq 3f
    ldr r8, [r0]
    ldr r10, [r1]
    sxtb r11, r8
    mla r4, r11, r10, r4
    sxtb r11, r8, ror #8
    mla r5, r11, r10, r5
    sxtb r11, r8, ror #16
    mla r6, r11, r10, r6
    asrs r11, r8, #24
    mla r7, r11, r10, r7
3:  pass_end
    .size mdn_block_sums_i8, . - mdn_block_sums_i8

    block_entry mdn_block_sums_i16, .Lpass_i16, 8
    .thumb_func
.Lpass_i16:
    pass_start
    beq 2f
1:  ldrd r8, r9, [r0]               @ column j: (row 0, row 1), (row 2, row 3)
    ldrd r11, r12, [r0, #16]        @ column j + 1
    adds r0, r0, #32
    ldrd r10, lr, [r1], #8
    pkhbt r10, r10, lr, lsl #16     @ (x_j, x_j+1)
    pkhbt lr, r8, r11, lsl #16      @ row 0: (column j, column j + 1)
    smlad r4, lr, r10, r4
    pkhtb lr, r11, r8, asr #16      @ row 1
    smlad r5, lr, r10, r5
    pkhbt lr, r9, r12, lsl #16      @ row 2
    smlad r6, lr, r10, r6
    pkhtb lr, r12, r9, asr #16      @ row 3
    smlad r7, lr, r10, r7
    subs r3, r3, #1
    bne 1b
2:  lsls r2, r2, #31
    beq 3f
    ldrd r8, r9, [r0]
    ldr r10, [r1]
    sxth r11, r8
    mla r4, r11, r10, r4
    asrs r11, r8, #16
    mla r5, r11, r10, r5
    sxth r11, r9
    mla r6, r11, r10, r6
    asrs r11, r9, #16
    mla r7, r11, r10, r7
3:  pass_end
    .size mdn_block_sums_i16, . - mdn_block_sums_i16
