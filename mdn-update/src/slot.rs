//! A/B slots: the trailer, the choice of the active slot, and writing an update.
//!
//! - [`trailer`](Trailer): the 96-byte record at a slot's end that commits its blob
//!   ([`Trailer::to_bytes`], [`Trailer::from_bytes`]).
//! - [`select`] and [`check_slot`]: at boot, which slot answers, and
//!   [`Selection::next_write`]: which slot an update writes, with which sequence number.
//! - [`Updater`]: an update written through the caller's
//!   [`NorFlash`](embedded_storage::nor_flash::NorFlash) driver, its trailer last.
//! - [`PowerCutFlash`]: a flash over RAM whose power fails at a chosen call, for tests.
//!
//! The crate docs describe the update loop and what a cut at each step leaves.

mod power_cut;
mod select;
mod trailer;
mod update;

pub use power_cut::{Cut, EraseModel, PowerCutError, PowerCutFlash};
pub use select::{
    NextWrite, Selection, SlotError, SlotId, ValidSlot, accept_any, check_slot, select,
};
pub use trailer::{
    SIGNATURE_LEN, TRAILER_LEN, TRAILER_MAGIC, TRAILER_VERSION, Trailer, TrailerError,
};
pub use update::{LayoutError, MAX_WRITE_SIZE, SlotLayout, UpdateError, Updater};
