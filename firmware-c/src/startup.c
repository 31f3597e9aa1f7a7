/* Reset and fault handling for both cores: copies .data, zeroes .bss, enables the FPU
 * where the code uses one, then ends with firmware_exit(main()). Each program defines
 * firmware_exit (newlib's exit in parity.c, a bare semihosting call in minimal.c). */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
extern void firmware_exit(int code);

/* Exit status after a fault, as firmware-example's EXIT_HARD_FAULT. */
#define EXIT_HARD_FAULT 102

void Reset_Handler(void) {
    uint32_t *s = &_sidata, *d = &_sdata;
    while (d < &_edata) *d++ = *s++;
    for (d = &_sbss; d < &_ebss;) *d++ = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU) before any float instruction. */
    *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20);
    __asm volatile("dsb; isb");
#endif
    firmware_exit(main());
}

void Fault_Handler(void) { firmware_exit(EXIT_HARD_FAULT); }

__attribute__((section(".isr_vector"), used))
const void *const vectors[16] = {
    &_estack,      Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0,             0,             0,             0,             Fault_Handler,
    Fault_Handler, 0,             Fault_Handler, Fault_Handler,
};
