//! The `ovn` IPAM driver (`--ipam-driver ovn`): Docker's IPAM requests,
//! validated, onto the shared [address pools](crate::ovn::address_pools).

use std::net::IpAddr;

use ipnet::IpNet;
use plugin_api::wire::{
    AddressSpacesResponse, IpamCapabilitiesResponse, ReleaseAddressRequest, ReleasePoolRequest,
    RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse,
};

use crate::error::{DriverError, Result};
use crate::host::links::Links;
use crate::names::Short;
use crate::ovn::address_pools::{ADDRESS_SPACE, AddressPools, is_pool_id};

/// The IPAM driver: one per daemon.
pub struct Ipam {
    pools: AddressPools,
    /// The host's routes, which an automatic subnet keeps clear of.
    links: Links,
}

impl Ipam {
    pub fn new(pools: AddressPools, links: Links) -> Ipam {
        Ipam { pools, links }
    }

    /// Nothing to replay: the state is in the Northbound database.
    pub fn capabilities() -> IpamCapabilitiesResponse {
        IpamCapabilitiesResponse::default()
    }

    pub fn address_spaces() -> AddressSpacesResponse {
        AddressSpacesResponse {
            local_default_address_space: ADDRESS_SPACE.into(),
            global_default_address_space: ADDRESS_SPACE.into(),
        }
    }

    pub async fn request_pool(&self, request: &RequestPoolRequest) -> Result<RequestPoolResponse> {
        if request.address_space != ADDRESS_SPACE {
            return Err(DriverError::invalid(
                "AddressSpace",
                format!(
                    "the ovn IPAM driver serves {ADDRESS_SPACE:?}, not {:?}",
                    Short(&request.address_space)
                ),
            ));
        }
        let subnet = match request.pool.as_str() {
            // Clear of the host's routes too, as Docker's default IPAM
            // picks its pools: CreateNetwork would refuse one over a route.
            "" => {
                let routed = self.links.routed_networks(request.v6).await?;
                self.pools.free_subnet(request.v6, &routed)?
            }
            text => parse_subnet("Pool", text, request.v6)?,
        };
        let range = match request.sub_pool.as_str() {
            "" => None,
            text => Some(parse_subnet("SubPool", text, request.v6)?),
        };
        if let Some(range) = range
            && !subnet.contains(&range)
        {
            return Err(DriverError::invalid(
                "SubPool",
                format!("{range} is not inside {subnet}"),
            ));
        }
        let pool_id = self.pools.acquire(subnet, range).await?;
        tracing::info!(pool = %pool_id, %subnet, "address pool requested");
        Ok(RequestPoolResponse {
            pool_id,
            pool: subnet.to_string(),
            data: Default::default(),
        })
    }

    pub async fn release_pool(&self, request: &ReleasePoolRequest) -> Result<()> {
        check_pool_id(&request.pool_id)?;
        self.pools.release(&request.pool_id).await?;
        tracing::info!(pool = %request.pool_id, "address pool released");
        Ok(())
    }

    pub async fn request_address(
        &self,
        request: &RequestAddressRequest,
    ) -> Result<RequestAddressResponse> {
        check_pool_id(&request.pool_id)?;
        let wanted = parse_address(&request.address)?;
        let pool = &request.pool_id;
        let address = match (request.is_gateway(), wanted) {
            (true, wanted) => self.pools.reserve_gateway(pool, wanted).await?,
            (false, Some(address)) => self.pools.reserve(pool, address).await?,
            (false, None) => self.pools.allocate(pool).await?,
        };
        let cidr = self
            .pools
            .get(pool)
            .map(|p| p.cidr(address))
            .ok_or_else(|| DriverError::invalid("PoolID", format!("no address pool {pool:?}")))?;
        tracing::debug!(%pool, %address, "address allocated");
        Ok(RequestAddressResponse {
            address: cidr,
            data: Default::default(),
        })
    }

    pub async fn release_address(&self, request: &ReleaseAddressRequest) -> Result<()> {
        check_pool_id(&request.pool_id)?;
        let Some(address) = parse_address(&request.address)? else {
            return Err(DriverError::invalid("Address", "no address given"));
        };
        self.pools.free(&request.pool_id, address).await
    }
}

/// Pool ids come from RequestPool; one of another form names no pool.
fn check_pool_id(id: &str) -> Result<()> {
    if is_pool_id(id) {
        return Ok(());
    }
    Err(DriverError::invalid(
        "PoolID",
        format!("{:?} is not a pool id of the ovn IPAM driver", Short(id)),
    ))
}

fn parse_subnet(what: &str, text: &str, v6: bool) -> Result<IpNet> {
    let subnet: IpNet = text
        .parse()
        .map_err(|_| DriverError::invalid(what, format!("{:?} is not a CIDR", Short(text))))?;
    if matches!(subnet, IpNet::V6(_)) != v6 {
        let family = if v6 { "IPv6" } else { "IPv4" };
        return Err(DriverError::invalid(
            what,
            format!("{text} is not an {family} subnet"),
        ));
    }
    Ok(subnet.trunc())
}

/// Docker sends a bare address; a CIDR is accepted too.
fn parse_address(text: &str) -> Result<Option<IpAddr>> {
    if text.is_empty() {
        return Ok(None);
    }
    let bare = text.split('/').next().unwrap_or(text);
    bare.parse().map(Some).map_err(|_| {
        DriverError::invalid("Address", format!("{:?} is not an IP address", Short(text)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_and_addresses_are_checked() {
        assert_eq!(
            parse_subnet("Pool", "10.30.0.7/24", false)
                .unwrap()
                .to_string(),
            "10.30.0.0/24"
        );
        assert!(parse_subnet("Pool", "10.30.0.0/24", true).is_err());
        assert!(parse_subnet("Pool", "fd00::/64", false).is_err());
        assert!(parse_subnet("Pool", "nope", false).is_err());
        assert_eq!(parse_address("").unwrap(), None);
        assert_eq!(
            parse_address("10.0.0.5/24").unwrap(),
            Some("10.0.0.5".parse().unwrap())
        );
        assert!(parse_address("10.0.0.300").is_err());
    }
}
