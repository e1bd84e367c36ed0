//! The `timebridge` binary: CLI parsing, telemetry setup and dispatch.

fn main() {}
