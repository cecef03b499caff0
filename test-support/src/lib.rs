//! Real OVS and OVN daemons for integration tests, each in its own
//! temporary directory, stopped (by pid, never by name) when dropped.
//!
//! A missing binary or schema is a test failure that names the Debian
//! package to install: the tests never skip silently.
//!
//! Modules:
//! - [`binaries`]: finding daemons and schemas, with the package to install.
//! - [`ovsdb`]: a standalone `ovsdb-server` on a unix socket and optionally TCP.

pub mod binaries;
pub mod ovsdb;

pub use binaries::{Schema, require_binary};
pub use ovsdb::OvsdbServer;
