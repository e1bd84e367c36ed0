//! Connector plugins: one folder per remote system, the registry that maps a kind to
//! its implementation and settings schema, and the shared HTTP client.

pub mod registry;

pub use registry::{KindInfo, Role, SettingsError};
