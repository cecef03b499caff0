//! The `docker-ovn` commands and the daemon's process setup.
//!
//! - [`serve`]: the daemon's flags and start-up, the reconcile loop.
//! - [`status`]: `docker-ovn status`.
//! - [`reconcile_command`]: `docker-ovn reconcile [--dry-run]`.
//! - [`logging`]: logs on stderr, plain or JSON, coloured only on a terminal.
//! - [`heap`]: the daemon's malloc arenas and free memory given back.

pub mod heap;
pub mod logging;
pub mod reconcile_command;
pub mod serve;
pub mod status;
