@ IEEE 754 binary32 addition, subtraction and multiplication for ARMv6-M (Thumb-1, no FPU),
@ round to nearest, ties to even: for every pair of operands the bits of compiler-builtins'
@ `__addsf3`, `__subsf3` and `__mulsf3`, except that a NaN result may carry another payload
@ (always a quiet NaN). The algorithms are Berkeley SoftFloat 3's `f32_add` and `f32_mul`
@ (`addMagsF32`, `subMagsF32`, `roundPackToF32`), laid out for a Cortex-M0.
@
@ Internal form of a finite result: a significand `S` with its leading one at bit 30 and
@ seven bits below the result's last place (round, and the rest "jammed" into bit 0: ORed
@ in, so a nonzero tail is never lost), and `E` = the biased exponent - 1; the bits are then
@ `sign | (E << 23) + round(S >> 7)`: the leading one adds the missing 1 to the exponent,
@ and a rounding carry moves into the exponent by itself. `E = 0` with `S < 2^30` is a
@ subnormal.
@
@ AAPCS: operands in r0, r1, the result in r0; r0-r3, r12 and the flags may change.

    .syntax unified
    .cpu cortex-m0
    .thumb

@ ---------------------------------------------------------------------------------------
@ float mdn_fsub(float a, float b): a - b, which is a + (-b) bit for bit.
@ float mdn_fadd(float a, float b): a + b.
    .section .text.mdn_soft_float, "ax", %progbits
    .balign 2
    .global mdn_fsub
    .type mdn_fsub, %function
    .thumb_func
mdn_fsub:
    movs r2, #1
    lsls r2, r2, #31
    eors r1, r2
    @ falls through to mdn_fadd
    .global mdn_fadd
    .type mdn_fadd, %function
    .thumb_func
mdn_fadd:
    push {r4, r5, r6, r7, lr}
    @ Order the operands so that |a| >= |b| (as bits: NaN above infinity above finite).
    lsls r2, r0, #1
    lsls r3, r1, #1
    cmp r2, r3
    bhs 1f
    eors r0, r1
    eors r1, r0
    eors r0, r1
    eors r2, r3
    eors r3, r2
    eors r2, r3
1:  lsrs r4, r2, #24            @ ea
    lsrs r5, r3, #24            @ eb
    cmp r4, #255
    beq .Ladd_a_special         @ a is infinite or NaN
    cmp r3, #0
    beq .Ladd_b_zero            @ b is +-0
    cmp r4, #0
    beq .Ladd_subnormals        @ so b is subnormal too
    @ Significands with the leading one at bit 30.
    movs r7, #1
    lsls r7, r7, #30
    lsls r2, r2, #8
    lsrs r2, r2, #2
    orrs r2, r7
    lsls r3, r3, #8
    lsrs r3, r3, #2
    cmp r5, #0
    beq 2f
    orrs r3, r7
    b 3f
2:  movs r5, #1                 @ a subnormal b: exponent 1, no leading one
3:  subs r5, r4, r5             @ d = ea - eb >= 0
    beq 4f
    @ Align b: S_b >> d, jammed.
    mov r12, r3
    lsrs r3, r3, r5             @ shifts of 32 or more give 0
    movs r6, r3
    lsls r6, r6, r5
    cmp r6, r12
    beq 4f
    movs r6, #1
    orrs r3, r6
4:  subs r4, r4, #1             @ E = ea - 1
    eors r1, r0                 @ bit 31: the signs differ
    bmi .Ladd_subtract
    adds r2, r2, r3             @ may carry into bit 31
    bpl .Lround
    movs r6, #1
    ands r6, r2
    lsrs r2, r2, #1
    orrs r2, r6
    adds r4, r4, #1
    b .Lround
.Ladd_subtract:
    subs r2, r2, r3             @ >= 0, as |a| >= |b|
    beq .Lpositive_zero         @ x - x = +0
    @ Normalise; a result that reaches E = 0 first is subnormal, and exact. Eight bits a
    @ step while more than eight are to go (a deep cancellation), then one a step.
    cmp r2, r7
    bhs .Lround
    lsrs r6, r2, #22
    bne 5f
8:  cmp r4, #8
    blo 5f
    lsls r2, r2, #8
    subs r4, r4, #8
    lsrs r6, r2, #22
    beq 8b
5:  cmp r4, #0
    beq .Lround
    lsls r2, r2, #1
    subs r4, r4, #1
    cmp r2, r7
    blo 5b
    b .Lround

.Ladd_a_special:
    lsls r6, r0, #9
    bne .Lquiet_a               @ a is NaN
    cmp r5, #255                @ a is infinite; so is b, or b is finite
    bne .Lreturn_a
    eors r1, r0
    bpl .Lreturn_a              @ inf + inf
.Ldefault_nan:
    movs r0, #0xff
    lsls r0, r0, #22            @ 0x3FC00000
    adds r0, r0, r0             @ 0x7F800000
    movs r6, #1
    lsls r6, r6, #22
    orrs r0, r6                 @ 0x7FC00000
    pop {r4, r5, r6, r7, pc}
.Lquiet_a:
    movs r6, #1
    lsls r6, r6, #22
    orrs r0, r6
.Lreturn_a:
    pop {r4, r5, r6, r7, pc}

.Ladd_b_zero:
    cmp r2, #0
    bne .Lreturn_a              @ a + 0 = a
    ands r0, r1                 @ 0 + 0: -0 only if both are -0
    pop {r4, r5, r6, r7, pc}

.Ladd_subnormals:
    @ Both subnormal: the bits add as integers (a carry makes the smallest normal).
    lsrs r3, r3, #1             @ |b|
    eors r1, r0
    bmi 7f
    adds r0, r0, r3
    pop {r4, r5, r6, r7, pc}
7:  subs r0, r0, r3             @ |a| - |b| with a's sign
    lsls r6, r0, #1
    bne .Lreturn_a
    movs r0, #0
    pop {r4, r5, r6, r7, pc}

@ Shared tail: round S (r2) to nearest, ties to even, and pack it with E (r4, 0 <= E <= 254)
@ and the sign of r0's bit 31. An exponent that reaches 255 gives an infinity.
.Lround:
    movs r6, #0x7f
    ands r6, r2
    adds r2, #0x40
    lsrs r2, r2, #7
    cmp r6, #0x40
    bne 6f
    lsrs r2, r2, #1             @ a tie: to even
    lsls r2, r2, #1
6:  lsls r4, r4, #23
    adds r2, r2, r4
    movs r6, #0xff
    lsls r6, r6, #23            @ 0x7F800000
    cmp r2, r6
    bhs .Linfinity
    lsrs r0, r0, #31
    lsls r0, r0, #31
    orrs r0, r2
    pop {r4, r5, r6, r7, pc}
.Linfinity:
    lsrs r0, r0, #31
    lsls r0, r0, #31
    orrs r0, r6
    pop {r4, r5, r6, r7, pc}
.Lpositive_zero:
    movs r0, #0
    pop {r4, r5, r6, r7, pc}

    .size mdn_fadd, . - mdn_fadd
    .size mdn_fsub, . - mdn_fsub

@ ---------------------------------------------------------------------------------------
@ float mdn_fmul(float a, float b): a * b.
    .global mdn_fmul
    .type mdn_fmul, %function
    .thumb_func
mdn_fmul:
    push {r4, r5, r6, r7, lr}
    movs r4, r0
    eors r4, r1                 @ the sign, bit 31
    lsls r2, r0, #1
    lsrs r2, r2, #24            @ ea
    lsls r3, r1, #1
    lsrs r3, r3, #24            @ eb
    subs r5, r2, #1
    cmp r5, #253
    bhi .Lmul_special           @ ea is 0 or 255
    subs r5, r3, #1
    cmp r5, #253
    bhi .Lmul_special           @ eb is 0 or 255
    movs r5, #1
    lsls r5, r5, #23
    lsls r0, r0, #9
    lsrs r0, r0, #9
    orrs r0, r5                 @ A: 24 bits
    lsls r1, r1, #9
    lsrs r1, r1, #9
    orrs r1, r5                 @ B: 24 bits
.Lmul_normalised:
    @ P = A B < 2^48 from 16-bit halves (ARMv6-M multiplies 32 x 32 -> 32):
    @ P >> 16 = (ah bh << 16) + ah bl + al bh + (al bl >> 16), the rest jammed.
    lsrs r5, r0, #16            @ ah < 2^8
    lsrs r6, r1, #16            @ bh < 2^8
    uxth r0, r0                 @ al
    uxth r1, r1                 @ bl
    movs r7, r5
    muls r7, r1, r7             @ ah bl
    muls r1, r0, r1             @ al bl
    muls r0, r6, r0             @ al bh
    muls r6, r5, r6             @ ah bh
    adds r0, r0, r7
    lsls r6, r6, #16
    adds r0, r0, r6
    lsrs r5, r1, #16
    adds r0, r0, r5             @ P >> 16, in [2^30, 2^32)
    lsls r1, r1, #16
    beq 1f
    movs r5, #1
    orrs r0, r5                 @ jam the low 16 bits
1:  adds r2, r2, r3
    subs r2, #128               @ E if P >> 16 < 2^31
    mov r12, r4                 @ the sign, for .Lround
    cmp r0, #0
    bpl 2f
    movs r5, #1
    ands r5, r0
    lsrs r0, r0, #1
    orrs r0, r5
    adds r2, r2, #1
2:  movs r4, r2                 @ E
    movs r2, r0                 @ S
    mov r0, r12
    cmp r4, #254
    blo .Lround                 @ 0 <= E <= 253: no overflow before rounding
    cmp r4, #0
    bge .Lmul_overflow
    @ A subnormal (or zero) result: S >> -E, jammed, with E = 0.
    rsbs r5, r4, #0
    mov r12, r2
    lsrs r2, r2, r5
    movs r6, r2
    lsls r6, r6, r5
    cmp r6, r12
    beq 3f
    movs r6, #1
    orrs r2, r6
3:  movs r4, #0
    b .Lround
.Lmul_overflow:
    movs r6, #0xff
    lsls r6, r6, #23
    b .Linfinity

.Lmul_special:
    @ r0 = a, r1 = b, r2 = ea, r3 = eb, r4 = sign.
    movs r6, #0xff
    lsls r6, r6, #24            @ an infinity, shifted left by 1
    lsls r5, r0, #1
    cmp r5, r6
    bhi .Lquiet_a               @ a is NaN
    lsls r7, r1, #1
    cmp r7, r6
    bhi .Lquiet_b               @ b is NaN
    beq .Lmul_b_infinite
    cmp r5, r6
    beq .Lmul_a_infinite
    cmp r5, #0
    beq .Lsigned_zero
    cmp r7, #0
    beq .Lsigned_zero
    @ Finite and nonzero, one or both subnormal: normalise to a 24-bit A and B with the
    @ leading one at bit 23, lowering the exponent (from 1) below 1 as needed.
    movs r6, #1
    lsls r6, r6, #23
    lsls r0, r0, #9
    lsrs r0, r0, #9
    lsls r1, r1, #9
    lsrs r1, r1, #9
    cmp r2, #0
    bne 5f
    movs r2, #1
4:  tst r0, r6
    bne 6f
    lsls r0, r0, #1
    subs r2, r2, #1
    b 4b
5:  orrs r0, r6
6:  cmp r3, #0
    bne 8f
    movs r3, #1
7:  tst r1, r6
    bne .Lmul_normalised
    lsls r1, r1, #1
    subs r3, r3, #1
    b 7b
8:  orrs r1, r6
    b .Lmul_normalised
.Lmul_a_infinite:
    cmp r7, #0
    bne .Lsigned_infinity
    b .Ldefault_nan             @ inf * 0
.Lmul_b_infinite:
    cmp r5, #0
    bne .Lsigned_infinity
    b .Ldefault_nan             @ 0 * inf
.Lsigned_infinity:
    movs r0, r4
    movs r6, #0xff
    lsls r6, r6, #23
    b .Linfinity
.Lsigned_zero:
    lsrs r0, r4, #31
    lsls r0, r0, #31
    pop {r4, r5, r6, r7, pc}
.Lquiet_b:
    movs r0, r1
    b .Lquiet_a
    .size mdn_fmul, . - mdn_fmul
