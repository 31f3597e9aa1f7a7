//! Peak stack usage by stack painting.
//!
//! [`paint`] fills a window at the bottom of the stack with [`PATTERN`]; later, [`peak_bytes`]
//! finds the lowest word that no longer holds it. The stack grows down from `_stack_start`
//! (cortex-m-rt's initial stack pointer, the top of RAM), so everything between that word and
//! the top has been used at some point.
//!
//! ```no_run
//! firmware_example::stack_usage::paint(); // first thing in `main`
//! // ... the work to measure ...
//! defmt::info!("stack peak: {=usize} bytes", firmware_example::stack_usage::peak_bytes());
//! ```
//!
//! The result is a lower bound: a frame that reserved stack but happened to write the
//! pattern, or skipped words, is not seen. Usage beyond the window, or beyond the stack
//! pointer at the time of painting, saturates at that size.

/// Bytes below the stack top that [`paint`] covers, bounded by the end of static RAM.
pub const WINDOW_BYTES: usize = 16 * 1024;

/// The fill word; chosen to be an unlikely value for a pointer, float or small integer.
pub const PATTERN: u32 = 0xDEAD_BEEF;

/// Words left unpainted directly below the stack pointer as a margin for [`paint`]'s own
/// stack use (its frame is allocated at entry, but stay clear of the live stack anyway).
const MARGIN_WORDS: usize = 16;

unsafe extern "C" {
    /// The initial stack pointer, one past the highest stack word (cortex-m-rt link.x).
    static _stack_start: u32;
    /// The end of `.bss` and `.uninit`: the lowest address the stack may use (cortex-m-rt
    /// 0.7.5 link.x).
    static _stack_end: u32;
}

/// `[bottom, top)` of the painted window, word-aligned.
fn window() -> (usize, usize) {
    let top = (&raw const _stack_start) as usize;
    let end_of_statics = (&raw const _stack_end) as usize;
    let bottom = top.saturating_sub(WINDOW_BYTES).max(end_of_statics);
    (bottom.next_multiple_of(4), top & !3)
}

/// Fills the window with [`PATTERN`], up to a margin below the current stack pointer.
///
/// Call it once, early in `main`; calling it again restarts the measurement.
#[inline(never)]
pub fn paint() {
    let (bottom, _) = window();
    let sp = cortex_m::register::msp::read() as usize;
    let end = sp.saturating_sub(MARGIN_WORDS * 4) & !3;
    for address in (bottom..end).step_by(4) {
        // SAFETY: `address` is word-aligned, lies in RAM between the end of the statics
        // (`_stack_end`) and below the current stack pointer, so no live object or stack frame
        // is there: Cortex-M has no red zone and nothing else uses this memory. Volatile, as the
        // memory belongs to no Rust object.
        unsafe { core::ptr::write_volatile(address as *mut u32, PATTERN) };
    }
}

/// Peak stack usage in bytes since [`paint`]: from the lowest word that no longer holds
/// [`PATTERN`] up to the stack top.
///
/// Only the memory below the current stack pointer is read (never a live frame), so the result
/// is at least the current depth. Saturates at the painted size when the whole window has been
/// overwritten.
pub fn peak_bytes() -> usize {
    let (bottom, top) = window();
    let sp = (cortex_m::register::msp::read() as usize & !3)
        .max(bottom)
        .min(top);
    let lowest_used = (bottom..sp)
        .step_by(4)
        // SAFETY: word-aligned addresses in RAM between the end of the statics and the current
        // stack pointer, so no live object is read. Volatile, as the stack wrote them behind the
        // compiler's back.
        .find(|&address| unsafe { core::ptr::read_volatile(address as *const u32) } != PATTERN)
        .unwrap_or(sp);
    top - lowest_used
}
