//! timebridge-store.
