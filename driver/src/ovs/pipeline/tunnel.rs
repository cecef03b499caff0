//! A VXLAN network's flows: from its peers (classified by VNI and peer
//! address, their source MACs learned), to them (learned MACs, else a
//! copy to each peer), and the requests no local flow answers sent on.

use std::net::Ipv4Addr;

use flows::action::Bits;
use flows::learn::{Learn, LearnSpec};
use flows::{Action, Field, Flow, Match, Port};

use super::{FROM_PEER, LEARNED_SECONDS, NETWORK_REG, ORIGIN_REG, Table, TunnelFlows, flow, load};
use crate::ovs::cookie::Owner;

/// The network's flows through the VXLAN port.
pub fn tunnel_flows(round: u16, network: u16, tunnel: &TunnelFlows) -> Vec<Flow> {
    let owner = Owner::network(network);
    let mut flows: Vec<Flow> = tunnel
        .peers
        .iter()
        .map(|&peer| from_peer(round, network, tunnel, peer))
        .collect();
    flows.extend(super::leaving_this_host(round, network, Table::LearnedMacs));
    flows.push(
        flow(Table::LearnedMacs, 10, owner, round)
            .matching(Match::new().reg(NETWORK_REG, network.into()))
            .goto(Table::FloodToPeers.number()),
    );
    flows.push(flood(round, network, tunnel));
    flows
}

/// A frame of the network from `peer`: classified, its source learned,
/// and a reply out of the port it came in on sent back to `peer`.
fn from_peer(round: u16, network: u16, tunnel: &TunnelFlows, peer: Ipv4Addr) -> Flow {
    let all = Bits::all;
    let learn = Learn::new(Table::LearnedMacs.number(), 100)
        .hard_timeout(LEARNED_SECONDS)
        .cookie(Owner::learned(network, peer).cookie(0))
        .spec(LearnSpec::match_same(all(Field::Reg(NETWORK_REG))))
        .spec(LearnSpec::Match {
            src: all(Field::EthSrc),
            dst: all(Field::EthDst),
        })
        .spec(LearnSpec::Load {
            src: all(Field::TunIpv4Src),
            dst: all(Field::TunIpv4Dst),
        })
        .spec(LearnSpec::Load {
            src: all(Field::TunId),
            dst: all(Field::TunId),
        })
        .spec(LearnSpec::Output(all(Field::InPort)));
    flow(Table::Classifier, 100, Owner::network(network), round)
        .matching(
            Match::new()
                .in_port(tunnel.ofport)
                .tun_id(tunnel.vni.into())
                .tun_ipv4_src(peer),
        )
        .action(load(NETWORK_REG, network.into()))
        .action(load(ORIGIN_REG, FROM_PEER))
        .action(Action::Learn(learn))
        // A reply out of the port it came in on (the ARP responder's)
        // goes back to the peer: its address becomes the destination, and
        // the source is cleared (the userspace datapath routes a tunnel
        // from a source it holds, or fails).
        .action(Action::Move {
            src: all(Field::TunIpv4Src),
            dst: all(Field::TunIpv4Dst),
        })
        .action(Action::Load {
            dst: all(Field::TunIpv4Src),
            value: 0,
        })
        .goto(Table::Responder.number())
}

/// A copy to each peer, with the network's VNI.
fn flood(round: u16, network: u16, tunnel: &TunnelFlows) -> Flow {
    let mut flood = flow(Table::FloodToPeers, 100, Owner::network(network), round)
        .matching(Match::new().reg(NETWORK_REG, network.into()))
        .action(Action::set_tun_id(tunnel.vni.into()));
    for &peer in &tunnel.peers {
        flood = flood
            .action(Action::set_tun_ipv4_dst(peer))
            .action(Action::Output(Port::Number(tunnel.ofport)));
    }
    flood
}
