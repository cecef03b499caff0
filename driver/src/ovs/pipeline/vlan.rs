//! A VLAN network's flows: frames of its VLAN from the uplink (taken in
//! with their tag, so that a reply out of the port they came in on, the
//! ARP responder's, leaves tagged again), delivered untagged to this
//! host's endpoints; and what an endpoint sends past this host, tagged
//! out of the uplink, where the physical switch learns and floods. The
//! gateway is each host's own (the same address and MAC on every host):
//! nothing from the uplink reaches it or learns its MAC.

use flows::action::Bits;
use flows::{Action, Field, Flow, Match, Port};

use super::{
    ARP_REQUEST, ETH_ARP, FROM_UPLINK, NETWORK_REG, NetworkFlows, ORIGIN_REG, OUTPUT_REG, Table,
    VlanFlows, flow, load,
};
use crate::ovs::cookie::Owner;

/// The 802.1Q tag's Ethernet type.
const ETH_VLAN: u16 = 0x8100;

/// The network's flows through the uplink.
pub fn vlan_flows(round: u16, network: &NetworkFlows, vlan: &VlanFlows) -> Vec<Flow> {
    let index = network.index;
    let owner = Owner::network(index);
    let from_uplink = || {
        Match::new()
            .reg(NETWORK_REG, index.into())
            .reg(ORIGIN_REG, FROM_UPLINK)
    };
    let mut flows = vec![
        flow(Table::Classifier, 100, owner, round)
            .matching(Match::new().in_port(vlan.ofport).vlan(vlan.vid))
            .action(load(NETWORK_REG, index.into()))
            .action(load(ORIGIN_REG, FROM_UPLINK))
            .goto(Table::Responder.number()),
        // OpenFlow pops only a tag the match says is there.
        flow(Table::Output, 105, owner, round)
            .matching(from_uplink().vlan(vlan.vid))
            .action(Action::PopVlan)
            .action(Action::OutputReg(Bits::all(Field::Reg(OUTPUT_REG)))),
    ];
    if let Some(gateway) = &network.gateway {
        let asked = from_uplink()
            .eth_type(ETH_ARP)
            .arp_op(ARP_REQUEST)
            .arp_tpa(gateway.address);
        flows.push(flow(Table::Responder, 250, owner, round).matching(asked));
        let sent_to = from_uplink().eth_dst(gateway.mac);
        flows.push(flow(Table::Forwarding, 150, owner, round).matching(sent_to));
    }
    flows.extend(super::leaving_this_host(round, index, Table::FloodToPeers));
    flows.push(
        flow(Table::FloodToPeers, 100, owner, round)
            .matching(Match::new().reg(NETWORK_REG, index.into()))
            .action(Action::PushVlan(ETH_VLAN))
            .action(Action::set_vlan_vid(vlan.vid))
            .action(Action::Output(Port::Number(vlan.ofport))),
    );
    flows
}
