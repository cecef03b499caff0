//! The `docker-ovn` commands and the daemon's process setup.
//!
//! - [`serve`]: the daemon's flags and start-up; [`serve_loops`]: the
//!   reconcile and reclaim loops;
//!   [`serve_sockets`]: the plugin sockets, bound before connecting;
//!   [`serve_ovs`]: the `-d ovs` backend's start; [`serve_metrics`]: the
//!   metrics, with `--metrics-listen`.
//! - [`status`]: `docker-ovn status`; [`status_ovs`]: its `-d ovs` part.
//! - [`reconcile_command`]: `docker-ovn reconcile [--dry-run]`.
//! - [`trace`]: `docker-ovn trace SRC DST`, a packet's path in words.
//! - [`flows_command`]: `docker-ovn flows`, the `-d ovs` bridge's flows.
//! - [`nested`]: the flags of a Docker host that is a VM on OVN.
//! - [`manual`]: the manual pages and shell completions the `.deb` ships.
//! - [`logging`]: logs on stderr, plain or JSON, coloured only on a terminal.

pub mod flows_command;
pub mod logging;
pub mod manual;
pub mod nested;
pub mod reconcile_command;
pub mod serve;
pub mod serve_loops;
pub mod serve_metrics;
pub mod serve_ovs;
pub mod serve_sockets;
pub mod status;
pub mod status_ovs;
pub mod trace;
