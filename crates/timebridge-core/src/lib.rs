//! Pure domain of timebridge: the normalised entry model, mapping rules and the
//! reconciliation planner. Nothing in this crate performs I/O or reads the clock.

pub mod entry;

pub use entry::{Entry, NamedRef, TicketRef, UserRef, Window};
