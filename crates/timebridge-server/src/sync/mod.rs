//! The sync engine: loading a pipeline ([`context`]), executing runs ([`engine`]),
//! mirroring the target's projects into the source ([`mirror`]), resolving conflicts
//! ([`resolve`]), undoing a run ([`undo`]) and the worker that claims queued runs and enqueues
//! scheduled ones ([`worker`]).

mod book;
pub mod context;
pub mod engine;
pub mod env;
pub mod fence;
pub mod mirror;
pub mod progress;
pub mod resolve;
pub mod undo;
pub mod worker;

pub use context::{PipelineContext, SyncError};
pub use engine::{RunReport, Stats, execute};
pub use env::{ConnectorFactory, Services, SyncEnv};
