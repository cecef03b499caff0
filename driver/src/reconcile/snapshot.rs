//! Reading this host's side of things into a [`Snapshot`].

use super::{LogicalPortState, PortState, Snapshot, VethState};
use crate::error::Result;
use crate::external_ids::{ENDPOINT, HOST, JOINED};
use crate::host::links::Links;
use crate::host::local_switch::{LocalSwitch, id_of};
use crate::host::veth_alias::{self, VethAlias};

/// Reads this host's side of things: the databases' replicas first (the
/// caller has read the endpoints' records, `logical_ports`, before), then
/// the kernel (see [`crate::reconcile`] for why that order).
pub async fn snapshot(
    ovs: &LocalSwitch,
    logical_ports: Vec<LogicalPortState>,
    links: &Links,
    host: &str,
) -> Result<Snapshot> {
    let ports = ovs
        .owned_ports()
        .into_iter()
        .filter(|p| id_of(p, HOST) == Some(host))
        .filter_map(|p| {
            Some(PortState {
                endpoint: id_of(&p, ENDPOINT)?.to_string(),
                joined_at: id_of(&p, JOINED).and_then(|t| t.parse().ok()),
                interface: p.name,
            })
        })
        .collect();
    let veths = links
        .with_alias_prefix(veth_alias::PREFIX)
        .await?
        .into_iter()
        .filter_map(|link| {
            let alias = VethAlias::parse(&link.alias)
                .filter(|a| a.host == host && a.bridge == ovs.bridge())?;
            Some(VethState {
                endpoint: alias.endpoint.to_string(),
                interface: link.name,
                peer_in_sandbox: link.peer_elsewhere,
                created_at: alias.created,
            })
        })
        .collect();
    Ok(Snapshot {
        ports,
        veths,
        logical_ports,
        ..Snapshot::default()
    })
}
