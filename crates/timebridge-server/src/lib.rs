//! timebridge-server.
