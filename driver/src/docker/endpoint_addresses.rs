//! An endpoint's addresses and MAC as CreateEndpoint gives them, checked
//! against its network: the same rules for every backend.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use plugin_api::wire::EndpointInterface;

use crate::error::{DriverError, Result};
use crate::mac::MacAddr;
use crate::names::DockerId;

/// The endpoint's MAC: the one Docker gave (`--mac-address`), else one
/// derived from its IPv4 address (stable across re-creations), else from
/// its id; and whether Docker gave it (Docker takes back only fields it
/// left empty).
pub fn endpoint_mac(
    interface: &EndpointInterface,
    ipv4: Option<Ipv4Addr>,
    endpoint: &DockerId,
) -> Result<(MacAddr, bool)> {
    let given = !interface.mac_address.is_empty();
    let mac = match (given, ipv4) {
        (true, _) => interface.mac_address.parse()?,
        (false, Some(v4)) => MacAddr::from_ipv4(v4),
        (false, None) => MacAddr::from_id(endpoint.as_str()),
    };
    Ok((mac, given))
}

/// The endpoint's addresses from Docker's IPAM, checked against the
/// network's subnets.
pub fn endpoint_addresses(
    interface: &EndpointInterface,
    subnet4: Option<&str>,
    subnet6: Option<&str>,
) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let ipv4 = parse_in_subnet("Address", &interface.address, subnet4)?;
    let ipv6 = parse_in_subnet("AddressIPv6", &interface.address_ipv6, subnet6)?;
    let ipv4 = ipv4.map(|ip| match ip {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(DriverError::invalid("Address", "expected an IPv4 address")),
    });
    let ipv6 = ipv6.map(|ip| match ip {
        IpAddr::V6(v6) => Ok(v6),
        IpAddr::V4(_) => Err(DriverError::invalid(
            "AddressIPv6",
            "expected an IPv6 address",
        )),
    });
    let (ipv4, ipv6) = (ipv4.transpose()?, ipv6.transpose()?);
    if ipv4.is_none() && ipv6.is_none() {
        return Err(DriverError::invalid(
            "Interface",
            "the endpoint has no address from IPAM",
        ));
    }
    Ok((ipv4, ipv6))
}

fn parse_in_subnet(what: &str, cidr: &str, subnet: Option<&str>) -> Result<Option<IpAddr>> {
    if cidr.is_empty() {
        return Ok(None);
    }
    let address: IpNet = cidr.parse().map_err(|_| {
        DriverError::invalid(what, format!("{cidr:?} is not an address in CIDR form"))
    })?;
    let subnet: Option<IpNet> = subnet.and_then(|s| s.parse().ok());
    match subnet {
        Some(subnet) if subnet.contains(&address.addr()) => Ok(Some(address.addr())),
        Some(subnet) => Err(DriverError::invalid(
            what,
            format!(
                "{} is outside the network's subnet {subnet}",
                address.addr()
            ),
        )),
        None => Err(DriverError::invalid(
            what,
            format!("the network has no subnet of {}'s family", address.addr()),
        )),
    }
}
