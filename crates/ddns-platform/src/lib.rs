//! What differs between operating systems, decided by platform-neutral functions that are
//! tested everywhere, with the current platform plugged in at the edge.
//!
//! **Architecture invariant:** this is the only crate allowed `#[cfg(windows)]` code; the
//! decisions it makes live in plain functions taking the OS as a value.

pub mod dpapi;
pub mod locale;
pub mod paths;
mod private_file;
pub mod service;
mod signals;

pub use locale::{Language, user_language};
pub use paths::{Os, default_data_dir, default_state_dir};
pub use private_file::{create_private, is_private};
pub use signals::{request_stop, shutdown_signal};
