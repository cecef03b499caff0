//! The flows of a network's policy ([`crate::docker::network_policy`]):
//! `icc=false` in the forwarding table, and an endpoint's rate limit as
//! two meters of its own, numbered after its port: what it sends goes
//! through [`upload_meter`] in the classifier, what it is sent through
//! [`download_meter`] where forwarding picks its port.

use flows::Flow;
use flows::meter::Meter;

use super::{
    EndpointFlows, FROM_ENDPOINT, ISOLATION_PRIORITY, Match, NETWORK_REG, NetworkFlows, ORIGIN_REG,
    OUTPUT_REG, Table, flow, load,
};
use crate::docker::network_policy::burst_kbit;
use crate::ovs::cookie::Owner;

/// The meter of what the endpoint on `ofport` sends.
pub fn upload_meter(ofport: u32) -> u32 {
    ofport * 2
}

/// The meter of what the endpoint on `ofport` is sent.
pub fn download_meter(ofport: u32) -> u32 {
    ofport * 2 + 1
}

/// The endpoint's two meters, if its network has a rate limit.
pub fn endpoint_meters(endpoint: &EndpointFlows) -> Vec<Meter> {
    let Some(kbps) = endpoint.rate_kbps else {
        return Vec::new();
    };
    [
        upload_meter(endpoint.ofport),
        download_meter(endpoint.ofport),
    ]
    .into_iter()
    .map(|id| Meter {
        id,
        kbps,
        burst_kb: burst_kbit(kbps),
    })
    .collect()
}

/// `icc=false`: what an endpoint sends goes to the gateway (the host:
/// egress, published ports) or nowhere, above the forwarding to other
/// endpoints and past this host. ARP and neighbour discovery are
/// answered before (the responder), as on Docker's bridge.
pub(super) fn isolation(round: u16, network: &NetworkFlows) -> Vec<Flow> {
    let owner = Owner::network(network.index);
    let from_endpoint = || {
        Match::new()
            .reg(NETWORK_REG, network.index.into())
            .reg(ORIGIN_REG, FROM_ENDPOINT)
    };
    let mut flows =
        vec![flow(Table::Forwarding, ISOLATION_PRIORITY, owner, round).matching(from_endpoint())];
    if let Some(gateway) = &network.gateway {
        flows.push(
            flow(Table::Forwarding, 200, owner, round)
                .matching(from_endpoint().eth_dst(gateway.mac))
                .action(load(OUTPUT_REG, gateway.ofport))
                .goto(Table::Output.number()),
        );
    }
    flows
}
