//! A/B slots: the trailer, the choice of the active slot, and writing an update.
