//! The Ferry application: use cases on top of the ports, and the composition
//! root that picks the concrete adapters and runs the listeners.

pub mod app;
pub mod backends;
pub mod config;
pub mod kms;
pub mod serve;
pub mod status;
