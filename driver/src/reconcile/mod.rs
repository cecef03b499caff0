//! Reconciliation: what to do so that this host's OVS ports, veth pairs
//! and logical switch ports agree again.
//!
//! Docker replays nothing to a driver after a restart, and skips `Leave`
//! and `DeleteEndpoint` when the driver is down or a sandbox dies under
//! it. What the driver owns is marked (rows by `external_ids`, veths by
//! their alias), so the truth can be read back: a [`Snapshot`] of the
//! three, and [`plan`], a pure function from it to [`Action`]s that
//! [`crate::ovn::backend::OvnBackend::reconcile`] applies or, with `--dry-run`,
//! prints.
//!
//! The rules, per endpoint of this host:
//! - An OVS port whose veth is gone: the sandbox was destroyed, so the
//!   port goes, and the logical port with it (Docker never joins an
//!   endpoint a second time).
//! - A veth pair still wholly in the driver's namespace: a Join that never
//!   finished (Docker moves the peer as soon as Join answers), once the
//!   pair is older than the join grace (Join's readiness wait and more).
//! - A veth in a sandbox with no OVS port (ovs-vswitchd's database reset,
//!   the port deleted by hand): the port is added again.
//! - A logical port never joined and older than the grace: an endpoint
//!   whose Join Docker will never send.
//! - A veth in a sandbox without a logical port is reported and left
//!   alone: removing it would cut a running container off.
//!
//! And per gateway ([`crate::ovn::gateway`]) of a switch this host has a Docker
//! network on:
//! - No OVS port: the port, its address and rules are added.
//! - A port whose device lacks its address, is down or has another MTU or
//!   MAC (ovs-vswitchd restarted on the userspace datapath and made the
//!   tap anew): the device is set up again. No device at all: reported
//!   (ovs-vswitchd is down; the next pass sees it back).
//! - Rules missing or different: they are put back.
//! - No localport on the switch (a network from before gateways): added.
//! - A gateway port or rules of a switch this host no longer has a Docker
//!   network on (or that is gone): removed, with the device's addresses.
//!
//! Only this host's rows and veths count (a veth's alias names its host),
//! so daemons sharing a kernel leave each other alone. The databases are
//! read before the kernel's links are listed, and the steps of a Join
//! (veth, then port) and of a Leave (port, then veth) are ordered so that
//! a call in flight never looks like any case above.
//!
//! Modules: [`state`] (the snapshot's parts and the policy), [`action`]
//! (the steps), [`plan`] (the pure rules above), [`snapshot`] (reading
//! this host's side), [`apply`] (every step tried and logged alike);
//! each step is the backend's to carry out ([`crate::ovn::repair`],
//! [`crate::ovs::repair`]).

mod action;
mod apply;
mod plan;
mod snapshot;
mod state;

pub use action::Action;
pub use apply::{Applied, Repair, apply_all};
pub use plan::plan;
pub use snapshot::snapshot;
pub use state::{
    GatewayPortState, GatewayRulesState, GatewayWanted, LogicalPortState, Policy, PortState,
    Snapshot, VethState,
};

#[cfg(test)]
mod tests;
