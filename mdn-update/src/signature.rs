//! Detached Ed25519 signatures over a blob.
