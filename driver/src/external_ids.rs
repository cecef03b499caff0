//! The `external_ids` keys that mark rows as docker-ovn's and tie them to
//! Docker's ids. Only rows carrying [`OWNER`] = [`OWNER_VALUE`] are ever
//! changed or deleted by the driver.

/// Present on every row the driver creates.
pub const OWNER: &str = "docker-ovn:owner";
pub const OWNER_VALUE: &str = "docker-ovn";

/// The Docker network id (ports and interfaces).
pub const NETWORK: &str = "docker-ovn:network";
/// The Docker endpoint id (ports and interfaces).
pub const ENDPOINT: &str = "docker-ovn:endpoint";
/// The `system-id` of the host that created the row.
pub const HOST: &str = "docker-ovn:host";
/// When a logical switch port was created (CreateEndpoint), in seconds
/// since the Unix epoch: reconciliation deletes ports never joined.
pub const CREATED: &str = "docker-ovn:created";
/// When an OVS port was added (Join), in seconds since the Unix epoch.
pub const JOINED: &str = "docker-ovn:joined";

/// Seconds since the Unix epoch, as the timestamps above hold them.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The sandbox (network namespace path) an interface was joined to.
pub const SANDBOX: &str = "docker-ovn:sandbox";

/// Logical switch: its subnets, gateways, MTU and internal flag, so every
/// host (and every restart) sees the network's definition in NB.
pub const SUBNET4: &str = "docker-ovn:subnet4";
pub const GATEWAY4: &str = "docker-ovn:gateway4";
pub const SUBNET6: &str = "docker-ovn:subnet6";
pub const GATEWAY6: &str = "docker-ovn:gateway6";
pub const MTU: &str = "docker-ovn:mtu";
pub const INTERNAL: &str = "docker-ovn:internal";
/// A switch's `icc=false` (`"false"`; absent: containers reach each other).
pub const ICC: &str = "docker-ovn:icc";
/// A switch's per-container rate limit in Mbit/s.
pub const RATE: &str = "docker-ovn:rate";

/// A provider network's switch: its physical network, VLAN and whether
/// each host routes for it (`"true"`; absent: the physical router).
pub const PHYSNET: &str = "docker-ovn:physnet";
pub const VLAN: &str = "docker-ovn:vlan";
pub const HOST_GATEWAY: &str = "docker-ovn:host-gateway";
/// A provider network's `localnet` logical switch port: its switch.
pub const LOCALNET_OF: &str = "docker-ovn:localnet";

/// The gateway's localport logical switch port and this host's OVS
/// internal port bound to it: the logical switch whose gateway they are.
pub const GATEWAY_OF: &str = "docker-ovn:gateway";

/// Prefix of the logical switch keys naming each Docker network (one per
/// host for a shared switch) mapped onto it; the value is the host.
pub const DOCKER_NETWORK_PREFIX: &str = "docker-ovn:docker-network:";

/// The key recording Docker network `network` on a logical switch.
pub fn docker_network_key(network: &str) -> String {
    format!("{DOCKER_NETWORK_PREFIX}{network}")
}

/// The Interface key ovn-controller sets once the port's flows are in.
pub const OVN_INSTALLED: &str = "ovn-installed";
/// The Interface key that binds it to a logical switch port.
pub const IFACE_ID: &str = "iface-id";

/// Prefix of the logical switch keys listing, per Docker network, the
/// `--aux-address`es reserved for it (space-separated), which the IPAM
/// driver must never reclaim.
pub const AUX_PREFIX: &str = "docker-ovn:aux:";

/// The key of Docker network `network`'s aux addresses.
pub fn aux_key(network: &str) -> String {
    format!("{AUX_PREFIX}{network}")
}

/// `-d ovs`: the bridge's key prefix recording each network
/// ([`crate::ovs::network`]), followed by the Docker network id.
pub const OVS_NETWORK_PREFIX: &str = "docker-ovn:network:";

/// `-d ovs`: an endpoint's MAC and addresses on its Interface, from which
/// its flows are computed again after any restart.
pub const MAC: &str = "docker-ovn:mac";
pub const IPV4: &str = "docker-ovn:ipv4";
pub const IPV6: &str = "docker-ovn:ipv6";
