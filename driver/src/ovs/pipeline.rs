//! The `-d ovs` bridge's named pipeline: pure functions from networks and
//! endpoints to flows, so that the whole of it is golden-tested
//! (`docs/golden/ovs-*.flows`) and a resync is "compute all, add all".
//!
//! ```text
//! 0 classifier ─▶ 10 spoof_guard ─▶ 20 arp_nd_responder ─▶ 30 l2_forwarding ─▶ 40 output
//!      └── the gateway port (the host) and peers skip the guard ──┘    │
//!                  VXLAN networks: 35 learned_macs ─▶ 38 flood_to_peers ◀┘
//! ```
//! - `classifier`: a packet's port names its network, loaded into
//!   [`NETWORK_REG`], and where it came from into [`ORIGIN_REG`] (an
//!   endpoint, the host, a peer); networks stay apart by that register,
//!   and on the wire by their VNI. A peer's packet (the VXLAN port, a
//!   known peer's address, the network's VNI) teaches `learned_macs`
//!   where its source MAC lives. Unknown ports and peers: drop.
//! - `spoof_guard`: an endpoint sends only from its MAC and addresses
//!   (IPv4 source; ARP sender MAC and address; IPv6 source, its own or the
//!   link-local one its MAC gives, and the unspecified address only for
//!   duplicate address detection; neighbour advertisements only for its
//!   own addresses).
//! - `arp_nd_responder`: ARP requests for the gateway and every endpoint
//!   are answered by a flow, out of the port they came in on; neighbour
//!   solicitations go to the one port whose address they ask for; other
//!   requests are dropped: nothing is flooded.
//! - `l2_forwarding`: the destination MAC (an endpoint's, the gateway's)
//!   picks the output port, into [`OUTPUT_REG`]; routing is the host's,
//!   behind the gateway port.
//! - `output`: out of the port in [`OUTPUT_REG`].
//! - VXLAN networks only: an endpoint's ARP request or neighbour
//!   solicitation no local flow answers, and its frames to MACs not on
//!   this host, go to `learned_macs` (the peer a MAC was learned from,
//!   for [`LEARNED_SECONDS`] after its last frame), else to
//!   `flood_to_peers` (a copy to each peer). What came from a peer is
//!   delivered to this host's endpoints only, and what the host sends
//!   stays on this host: no frame goes from one peer to another.
//!
//! Every table ends in an explicit drop (priority 0).

use std::net::{Ipv4Addr, Ipv6Addr};

use flows::action::Bits;
use flows::{Action, Field, Flow, Mac, Match, Port};

use crate::ovs::cookie::Owner;

/// The register that carries a packet's network index.
pub const NETWORK_REG: u8 = 0;
/// The register that carries the output port.
pub const OUTPUT_REG: u8 = 1;
/// The register that says where a packet came from: [`FROM_ENDPOINT`]
/// (0, as every register starts), [`FROM_PEER`], [`FROM_HOST`] or
/// [`FROM_UPLINK`].
pub const ORIGIN_REG: u8 = 2;
pub const FROM_ENDPOINT: u32 = 0;
pub const FROM_PEER: u32 = 1;
pub const FROM_HOST: u32 = 2;
pub const FROM_UPLINK: u32 = 3;
/// How long a learned MAC stays after its last frame from a peer.
pub const LEARNED_SECONDS: u16 = 300;
/// The priority of an `icc=false` network's drop in
/// [`Table::Forwarding`] (`docker-ovn trace` names it by it).
pub const ISOLATION_PRIORITY: u16 = 150;

const ETH_ARP: u16 = 0x0806;
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ICMPV6: u8 = 58;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;

/// The pipeline's tables, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Classifier = 0,
    SpoofGuard = 10,
    Responder = 20,
    Forwarding = 30,
    LearnedMacs = 35,
    FloodToPeers = 38,
    Output = 40,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Classifier,
        Table::SpoofGuard,
        Table::Responder,
        Table::Forwarding,
        Table::LearnedMacs,
        Table::FloodToPeers,
        Table::Output,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name in `Flow_Table` (what `ovs-ofctl dump-tables` and
    /// `ofproto/trace` show).
    pub fn name(self) -> &'static str {
        match self {
            Table::Classifier => "classifier",
            Table::SpoofGuard => "spoof_guard",
            Table::Responder => "arp_nd_responder",
            Table::Forwarding => "l2_forwarding",
            Table::LearnedMacs => "learned_macs",
            Table::FloodToPeers => "flood_to_peers",
            Table::Output => "output",
        }
    }

    pub fn of_number(number: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.number() == number)
    }
}

/// A network's gateway port on the bridge (the host's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPort {
    pub ofport: u32,
    pub mac: Mac,
    pub address: Ipv4Addr,
}

/// A VXLAN network's way to its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelFlows {
    /// The bridge's VXLAN port.
    pub ofport: u32,
    pub vni: u32,
    pub peers: Vec<Ipv4Addr>,
}

/// A network as its flows need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFlows {
    pub index: u16,
    /// None for `--internal` networks and before the port has an ofport.
    pub gateway: Option<GatewayPort>,
    /// VXLAN networks, once the VXLAN port has an ofport.
    pub tunnel: Option<TunnelFlows>,
    /// VLAN networks, once the uplink has an ofport.
    pub vlan: Option<VlanFlows>,
    /// `ovs.icc=false`: an endpoint's frames go to the gateway only.
    pub isolated: bool,
}

/// A VLAN network's way to the physical network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanFlows {
    /// The uplink's port.
    pub ofport: u32,
    pub vid: u16,
}

/// An endpoint as its flows need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFlows {
    pub network: u16,
    pub ofport: u32,
    pub mac: Mac,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Its network's rate limit (`ovs.rate`), in kbit/s: what it sends
    /// and what it is sent go through a meter of its own each.
    pub rate_kbps: Option<u32>,
}

impl EndpointFlows {
    /// The addresses it may send from and be asked for: its IPv6
    /// address and the link-local one of its MAC (EUI-64).
    fn ipv6_addresses(&self) -> Vec<Ipv6Addr> {
        self.ipv6
            .into_iter()
            .chain([link_local(self.mac)])
            .collect()
    }
}

/// The link-local address the kernel gives an interface with `mac`.
pub fn link_local(mac: Mac) -> Ipv6Addr {
    let m = mac.octets();
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

fn flow(table: Table, priority: u16, owner: Owner, round: u16) -> Flow {
    Flow::new(table.number(), priority).cookie(owner.cookie(round))
}

fn load(reg: u8, value: u32) -> Action {
    Action::Load {
        dst: Bits::all(Field::Reg(reg)),
        value: u64::from(value),
    }
}

/// The pipeline's own flows: each table's final drop, the requests no
/// flow answers dropped, and the output table.
pub fn base_flows(round: u16) -> Vec<Flow> {
    let base = |table, priority| flow(table, priority, Owner::PIPELINE, round);
    let mut flows: Vec<Flow> = Table::ALL.iter().map(|&t| base(t, 0)).collect();
    flows.push(
        base(Table::Responder, 100).matching(Match::new().eth_type(ETH_ARP).arp_op(ARP_REQUEST)),
    );
    flows.push(base(Table::Responder, 100).matching(icmpv6(NEIGHBOR_SOLICITATION)));
    for eth_type in [ETH_ARP, ETH_IPV4, ETH_IPV6] {
        flows.push(
            base(Table::Responder, 10)
                .matching(Match::new().eth_type(eth_type))
                .goto(Table::Forwarding.number()),
        );
    }
    flows.push(base(Table::Output, 110).matching(Match::new().reg(OUTPUT_REG, 0)));
    flows.push(
        base(Table::Output, 100).action(Action::OutputReg(Bits::all(Field::Reg(OUTPUT_REG)))),
    );
    flows
}

fn icmpv6(icmp_type: u8) -> Match {
    icmpv6_on(Match::new(), icmp_type)
}

fn icmpv6_on(base: Match, icmp_type: u8) -> Match {
    base.eth_type(ETH_IPV6)
        .ip_proto(ICMPV6)
        .icmpv6_type(icmp_type)
}

/// A network's flows: its gateway port classified (it skips the spoof
/// guard: it is the host), answered for, and forwarded to; a VXLAN
/// network's way to and from its peers.
pub fn network_flows(round: u16, network: &NetworkFlows) -> Vec<Flow> {
    let owner = Owner::network(network.index);
    let mut flows = Vec::new();
    if let Some(gateway) = &network.gateway {
        flows.push(
            flow(Table::Classifier, 100, owner, round)
                .matching(Match::new().in_port(gateway.ofport))
                .action(load(NETWORK_REG, network.index.into()))
                .action(load(ORIGIN_REG, FROM_HOST))
                .goto(Table::Responder.number()),
        );
        flows.push(arp_reply(
            round,
            owner,
            network.index,
            gateway.address,
            gateway.mac,
        ));
        flows.push(forward_to(
            round,
            owner,
            network.index,
            gateway.mac,
            gateway.ofport,
        ));
    }
    if network.isolated {
        flows.extend(policy::isolation(round, network));
    }
    if let Some(tunnel) = &network.tunnel {
        flows.extend(tunnel::tunnel_flows(round, network.index, tunnel));
    }
    if let Some(vlan) = &network.vlan {
        flows.extend(vlan::vlan_flows(round, network, vlan));
    }
    flows
}

/// An endpoint's flows: its port classified, its sources guarded, its
/// addresses answered for, its MAC forwarded to; through its meters
/// ([`endpoint_meters`]) where its network has a rate limit.
pub fn endpoint_flows(round: u16, endpoint: &EndpointFlows) -> Vec<Flow> {
    let owner = Owner::endpoint(endpoint.network, endpoint.ofport);
    let metered = |flow: Flow, meter: fn(u32) -> u32| match endpoint.rate_kbps {
        Some(_) => flow.meter(meter(endpoint.ofport)),
        None => flow,
    };
    let classified = flow(Table::Classifier, 100, owner, round)
        .matching(Match::new().in_port(endpoint.ofport))
        .action(load(NETWORK_REG, endpoint.network.into()))
        .goto(Table::SpoofGuard.number());
    let mut flows = vec![metered(classified, upload_meter)];
    flows.extend(spoof_guard(round, owner, endpoint));
    if let Some(ipv4) = endpoint.ipv4 {
        flows.push(arp_reply(
            round,
            owner,
            endpoint.network,
            ipv4,
            endpoint.mac,
        ));
    }
    for address in endpoint.ipv6_addresses() {
        flows.push(
            flow(Table::Responder, 200, owner, round)
                .matching(
                    icmpv6(NEIGHBOR_SOLICITATION)
                        .reg(NETWORK_REG, endpoint.network.into())
                        .nd_target(address),
                )
                .action(load(OUTPUT_REG, endpoint.ofport))
                .goto(Table::Output.number()),
        );
    }
    let forward = forward_to(
        round,
        owner,
        endpoint.network,
        endpoint.mac,
        endpoint.ofport,
    );
    flows.push(metered(forward, download_meter));
    flows
}

fn spoof_guard(round: u16, owner: Owner, endpoint: &EndpointFlows) -> Vec<Flow> {
    let from = || Match::new().in_port(endpoint.ofport).eth_src(endpoint.mac);
    let pass = |priority, matches: Match| {
        flow(Table::SpoofGuard, priority, owner, round)
            .matching(matches)
            .goto(Table::Responder.number())
    };
    let mut flows = Vec::new();
    if let Some(ipv4) = endpoint.ipv4 {
        flows.push(pass(100, from().eth_type(ETH_IPV4).ipv4_src(ipv4)));
        flows.push(pass(
            100,
            from().eth_type(ETH_ARP).arp_spa(ipv4).arp_sha(endpoint.mac),
        ));
    }
    let own = endpoint.ipv6_addresses();
    for &source in &own {
        flows.push(pass(100, from().eth_type(ETH_IPV6).ipv6_src(source)));
    }
    // Advertisements only of its own addresses; solicitations from the
    // unspecified address (duplicate address detection) only for them.
    for &target in &own {
        for &source in &own {
            let advert = icmpv6_on(from(), NEIGHBOR_ADVERTISEMENT).ipv6_src(source);
            flows.push(pass(110, advert.nd_target(target)));
        }
        let probe = icmpv6_on(from(), NEIGHBOR_SOLICITATION).ipv6_src(Ipv6Addr::UNSPECIFIED);
        flows.push(pass(110, probe.nd_target(target)));
    }
    flows.push(
        flow(Table::SpoofGuard, 105, owner, round).matching(icmpv6_on(
            Match::new().in_port(endpoint.ofport),
            NEIGHBOR_ADVERTISEMENT,
        )),
    );
    flows
}

/// Answers ARP requests for `address` in `network` with `mac`, out of
/// the port the request came in on.
fn arp_reply(round: u16, owner: Owner, network: u16, address: Ipv4Addr, mac: Mac) -> Flow {
    let mv = |src, dst| Action::Move {
        src: Bits::all(src),
        dst: Bits::all(dst),
    };
    flow(Table::Responder, 200, owner, round)
        .matching(
            Match::new()
                .reg(NETWORK_REG, network.into())
                .eth_type(ETH_ARP)
                .arp_op(ARP_REQUEST)
                .arp_tpa(address),
        )
        .action(mv(Field::EthSrc, Field::EthDst))
        .action(Action::set_eth_src(mac))
        .action(Action::set_arp_op(ARP_REPLY))
        .action(mv(Field::ArpSha, Field::ArpTha))
        .action(mv(Field::ArpSpa, Field::ArpTpa))
        .action(Action::set_arp_sha(mac))
        .action(Action::set_arp_spa(address))
        .action(Action::Output(Port::InPort))
}

fn forward_to(round: u16, owner: Owner, network: u16, mac: Mac, ofport: u32) -> Flow {
    flow(Table::Forwarding, 100, owner, round)
        .matching(Match::new().reg(NETWORK_REG, network.into()).eth_dst(mac))
        .action(load(OUTPUT_REG, ofport))
        .goto(Table::Output.number())
}

/// What an endpoint of a network that spans hosts sends past this host:
/// the ARP requests and neighbour solicitations no local flow answered go
/// to `flood_to_peers`, and frames to MACs not on this host to
/// `unknown_to` (`learned_macs` for VXLAN, the flood for VLAN).
fn leaving_this_host(round: u16, network: u16, unknown_to: Table) -> Vec<Flow> {
    let owner = Owner::network(network);
    let from_endpoint = || {
        Match::new()
            .reg(NETWORK_REG, network.into())
            .reg(ORIGIN_REG, FROM_ENDPOINT)
    };
    let unanswered = [
        from_endpoint().eth_type(ETH_ARP).arp_op(ARP_REQUEST),
        icmpv6(NEIGHBOR_SOLICITATION)
            .reg(NETWORK_REG, network.into())
            .reg(ORIGIN_REG, FROM_ENDPOINT),
    ];
    let mut flows: Vec<Flow> = unanswered
        .into_iter()
        .map(|request| {
            flow(Table::Responder, 150, owner, round)
                .matching(request)
                .goto(Table::FloodToPeers.number())
        })
        .collect();
    flows.push(
        flow(Table::Forwarding, 10, owner, round)
            .matching(from_endpoint())
            .goto(unknown_to.number()),
    );
    flows
}

mod policy;
mod tunnel;
mod vlan;

pub use policy::{download_meter, endpoint_meters, upload_meter};

#[cfg(test)]
mod tests;
