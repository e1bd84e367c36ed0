//! timebridge-sim.
