//! The generator of `mdn_sample`: SplitMix64 over a caller-owned `uint64_t` state.

use core::convert::Infallible;

use rand_core::TryRng;

/// SplitMix64 (Steele, Lea and Flood 2014), the generator of the parity vectors
/// (`mdn_tests::vectors::ParityRng`): the state advances by `0x9E3779B97F4A7C15` per
/// `u64`, and a `u32` is the high half of a `u64`.
pub(crate) struct SplitMix64(pub(crate) u64);

impl TryRng for SplitMix64 {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|v| (v >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        rand_core::utils::fill_bytes_via_next_word(dst, || self.try_next_u64())
    }
}
