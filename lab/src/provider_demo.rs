//! The provider network of the cross-host demo (`lab up --hosts N --demo`):
//! host1's container `ovn-demo-provider-h1` on the network
//! `ovn-demo-provider` (`-o ovn.physnet=physnet1`), straight on the lab's
//! physical network, pings the untagged outside host there, its router.

use std::time::Duration;

use anyhow::Context;

use super::cmd::{self, say};
use super::cross_host_demo::{Ping, docker_pings};
use super::demo;
use super::docker::docker;

pub const NETWORK: &str = "ovn-demo-provider";
const CONTAINER: &str = "ovn-demo-provider-h1";
/// The physical network's subnet and its router, the outside host
/// `dovn-flat`; the containers take the upper half.
const SUBNET: &str = "10.251.0.0/24";
const RANGE: &str = "10.251.0.128/25";
pub const ROUTER: &str = "10.251.0.254";
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes what is missing of it, then pings the outside host.
pub fn run() -> anyhow::Result<Ping> {
    if !cmd::succeeds(docker(&["network", "inspect", NETWORK]), DOCKER_TIMEOUT) {
        let args = [
            "network",
            "create",
            "-d",
            "ovn",
            "-o",
            "ovn.physnet=physnet1",
            "--subnet",
            SUBNET,
            "--ip-range",
            RANGE,
            "--gateway",
            ROUTER,
            NETWORK,
        ];
        cmd::run(docker(&args), DOCKER_TIMEOUT).context("creating the provider demo network")?;
    }
    demo::ensure_container(CONTAINER, NETWORK)?;
    let address = demo::address_of(CONTAINER, NETWORK)?;
    say(format!(
        "provider demo: host1: container {CONTAINER} at {address} on {NETWORK} \
         (physnet1, untagged, {SUBNET})"
    ));
    let to = format!("the outside host dovn-flat ({ROUTER}), its router");
    docker_pings(CONTAINER, to, ROUTER)
}
