//! IEEE 754 binary16 (`f16`) weights: the exact widening every reader applies, and the
//! exact narrowing the writer accepts (FORMAT.md sections 3 and 5).
//!
//! Both directions are exact or refused: a layer stored as `f16` computes with the widened
//! values, so a writer that rounded silently would change the model it was given.

/// Bits of binary16's exponent field.
#[cfg(any(feature = "f16", test))]
const EXPONENT: u16 = 0x7C00;

/// `2^-24`, the value of binary16's least subnormal: exact in `f32`.
const SUBNORMAL_UNIT: f32 = 1.0 / 16_777_216.0;

/// The `f32` holding exactly the binary16 value with bits `h`, for a finite `h` (validation
/// refuses infinities and NaNs in a blob; for those bit patterns the result is a finite
/// value above 65504 and meaningless).
#[inline]
pub(crate) fn widen(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let magnitude = u32::from(h & 0x7FFF);
    let value = if magnitude < 0x0400 {
        // Zero and subnormals: `mantissa * 2^-24`, an integer below 2^10 times a power of
        // two, so exact (integer arithmetic and one conversion: no f32 subnormal enters,
        // so a flush-to-zero FPU mode cannot change it).
        magnitude as f32 * SUBNORMAL_UNIT
    } else {
        // A normal value: the exponent rebiased from 15 to 127, the mantissa widened.
        f32::from_bits((magnitude << 13) + (112 << 23))
    };
    f32::from_bits(value.to_bits() | sign)
}

/// Whether bits `h` hold a finite binary16 value.
#[inline]
#[cfg(any(feature = "f16", test))]
pub(crate) const fn is_finite(h: u16) -> bool {
    h & EXPONENT != EXPONENT
}

/// The binary16 bits of `value` if binary16 holds it exactly, else `None`.
pub(crate) fn narrow_exact(value: f32) -> Option<u16> {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let magnitude = bits & 0x7FFF_FFFF;
    let exponent = (magnitude >> 23) as i32 - 127;
    let mantissa = magnitude & 0x007F_FFFF;
    let narrowed = if magnitude == 0 {
        sign
    } else if (-14..=15).contains(&exponent) {
        // A normal binary16 keeps the top 10 of the 23 mantissa bits.
        if mantissa & 0x1FFF != 0 {
            return None;
        }
        sign | (((exponent + 15) as u16) << 10) | (mantissa >> 13) as u16
    } else if (-24..-14).contains(&exponent) {
        // A subnormal binary16 is an integer multiple of 2^-24.
        let units = f32::from_bits(magnitude) / SUBNORMAL_UNIT;
        let whole = units as u16;
        if f32::from(whole) != units {
            return None;
        }
        sign | whole
    } else {
        return None;
    };
    // Every value accepted above widens back to itself; this states it.
    (widen(narrowed).to_bits() == bits).then_some(narrowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finite_binary16_widens_and_narrows_back() {
        let mut finite = 0;
        for h in (0..=u16::MAX).filter(|&h| is_finite(h)) {
            let value = widen(h);
            assert!(value.is_finite(), "{h:#06x}");
            assert_eq!(narrow_exact(value), Some(h), "{h:#06x} -> {value:e}");
            finite += 1;
        }
        // Every pattern but the 2 x 1024 with the exponent all ones.
        assert_eq!(finite, 65536 - 2048);
        assert!(!is_finite(0x7C00) && !is_finite(0xFE00));
    }

    #[test]
    fn known_values_widen_exactly() {
        assert_eq!(widen(0x3C00), 1.0);
        assert_eq!(widen(0xC000), -2.0);
        assert_eq!(widen(0x7BFF), 65504.0);
        assert_eq!(widen(0x0001), 2.0_f32.powi(-24));
        assert_eq!(widen(0x0400), 2.0_f32.powi(-14));
        assert_eq!(widen(0x8000).to_bits(), (-0.0_f32).to_bits());
    }

    #[test]
    fn values_binary16_cannot_hold_are_refused() {
        for value in [
            1.0 + f32::EPSILON,
            65520.0,
            1e-8,
            2.0_f32.powi(-25),
            f32::NAN,
            f32::INFINITY,
            0.1,
        ] {
            assert_eq!(narrow_exact(value), None, "{value:e}");
        }
        assert_eq!(narrow_exact(-0.0), Some(0x8000));
        assert_eq!(narrow_exact(3.0 * 2.0_f32.powi(-24)), Some(0x0003));
    }
}
