//! What a `CreateNetwork` request asks for, validated before anything is
//! written.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use plugin_api::wire::{CreateNetworkRequest, IpamData};

use crate::docker::network_policy::NetworkPolicy;
use crate::docker::provider_network::{OPT_GATEWAY, OPT_PHYSNET, OPT_VLAN, ProviderNetwork};
use crate::error::{DriverError, Result};
use crate::names::{DockerId, Short, parse_network_name, private_switch_name};
use crate::ovn::address_pools::ADDRESS_SPACE;

/// `-o ovn.network=NAME`: the logical switch shared by Docker networks.
pub const OPT_NETWORK: &str = "ovn.network";
/// Docker's own per-network MTU option.
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";

/// The `-o` options of one backend: the keys of its prefix it accepts.
/// A key of either backend's prefix (`ovn.`, `ovs.`) that the backend does
/// not know is refused, so a misspelt option, or one meant for the other
/// driver, is never silently ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownOptions {
    /// `-d ovn` or `-d ovs`, for messages.
    pub driver: &'static str,
    pub keys: &'static [&'static str],
}

/// The options of `-d ovn` (see [`crate::docker::network_policy`]).
pub const OVN_OPTIONS: KnownOptions = KnownOptions {
    driver: "ovn",
    keys: &[
        OPT_NETWORK,
        "ovn.icc",
        "ovn.rate",
        "ovn.allow-overlap",
        OPT_PHYSNET,
        OPT_VLAN,
        OPT_GATEWAY,
    ],
};

/// The options of `-d ovs` (see [`crate::ovs::network_mode`]).
pub const OVS_OPTIONS: KnownOptions = KnownOptions {
    driver: "ovs",
    keys: &crate::ovs::network_mode::OVS_KEYS,
};

const BACKEND_PREFIXES: [&str; 2] = ["ovn.", "ovs."];

/// A validated network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub network: DockerId,
    /// The logical switch's name.
    pub switch: String,
    /// Named by the user (may span hosts) rather than private to `network`.
    pub shared: bool,
    /// The IPv4 subnet and gateway (always of that family).
    pub subnet4: Option<IpNet>,
    pub gateway4: Option<IpAddr>,
    /// The IPv6 subnet and gateway (always of that family).
    pub subnet6: Option<IpNet>,
    pub gateway6: Option<IpAddr>,
    /// An MTU the user asked for; otherwise the underlay's minus overhead.
    pub mtu: Option<u32>,
    pub internal: bool,
    /// `--aux-address`es: reserved, never given to an endpoint.
    pub aux: Vec<IpAddr>,
    /// The backend's own `-o` options (`ovs.mode`, ...), checked to be known.
    pub backend_options: BTreeMap<String, String>,
    /// What the network allows its containers (`icc`, `rate`,
    /// `allow-overlap`).
    pub policy: NetworkPolicy,
    /// `-d ovn` on the physical network (`ovn.physnet`), not the overlay.
    pub provider: Option<ProviderNetwork>,
}

impl NetworkSpec {
    pub fn from_request(
        request: &CreateNetworkRequest,
        options: KnownOptions,
    ) -> Result<NetworkSpec> {
        let network = DockerId::parse("NetworkID", &request.network_id)?;
        let generic = &request.options.generic;
        reject_unknown_options(generic, options)?;
        let (switch, shared) = match generic.get(OPT_NETWORK) {
            Some(name) => (parse_network_name(name)?, true),
            None => (private_switch_name(&network), false),
        };
        // Swarm sends a network made without `--config-from` with none of
        // the driver's options and a subnet of Docker's picking.
        let configured = generic
            .keys()
            .any(|k| BACKEND_PREFIXES.iter().any(|p| k.starts_with(p)));
        if network.is_swarm() && !configured {
            return Err(DriverError::invalid("swarm network", SWARM_WITHOUT_CONFIG));
        }
        if shared {
            require_shared_ipam(&request.ipv4_data, &request.ipv6_data)?;
        }
        let (subnet4, gateway4) =
            family_data("IPv4", &request.ipv4_data, |n| matches!(n, IpNet::V4(_)))?;
        let (subnet6, gateway6) =
            family_data("IPv6", &request.ipv6_data, |n| matches!(n, IpNet::V6(_)))?;
        if subnet4.is_none() && subnet6.is_none() {
            return Err(DriverError::invalid(
                "IPAM data",
                "the network has no subnet; docker-ovn needs IPv4 or IPv6 addresses from IPAM",
            ));
        }
        let policy = NetworkPolicy::from_options(generic, options.driver)?;
        let provider = ProviderNetwork::from_options(generic)?;
        Ok(NetworkSpec {
            network,
            switch,
            shared,
            subnet4,
            gateway4,
            subnet6,
            gateway6,
            mtu: generic.get(OPT_MTU).map(|v| parse_mtu(v)).transpose()?,
            internal: request.options.internal,
            aux: aux_addresses(request.ipv4_data.iter().chain(&request.ipv6_data))?,
            backend_options: generic
                .iter()
                .filter(|(key, _)| options.keys.contains(&key.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            policy,
            provider,
        })
    }
}

/// Why a swarm network without `--config-from` is refused, and the fix.
const SWARM_WITHOUT_CONFIG: &str = "swarm drops the IPAM driver and -o options of a \
    local-scope driver's network, so each node would pick its own subnet: create the \
    swarm network from a configuration, on every node `docker network create \
    --config-only --ipam-driver <plugin> --subnet <S> -o ovn.network=<NAME> <CFG>` \
    (-d ovs: `-o ovs.network=<NAME>`), then \
    on a manager `docker network create -d <plugin> --scope swarm --attachable \
    --config-from <CFG> <NETWORK>`";

/// A network that spans hosts must take its addresses from the `ovn` IPAM
/// driver: with any other, each host hands out the same addresses.
fn require_shared_ipam(v4: &[IpamData], v6: &[IpamData]) -> Result<()> {
    match v4
        .iter()
        .chain(v6)
        .find(|d| d.address_space != ADDRESS_SPACE)
    {
        None => Ok(()),
        Some(data) => Err(DriverError::invalid(
            OPT_NETWORK,
            format!(
                "a network shared across hosts needs addresses from the ovn IPAM driver \
                 (add --ipam-driver ovn); this one uses address space {:?}",
                data.address_space
            ),
        )),
    }
}

fn reject_unknown_options(generic: &BTreeMap<String, String>, options: KnownOptions) -> Result<()> {
    let ours = |key: &String| BACKEND_PREFIXES.iter().any(|p| key.starts_with(p));
    for key in generic.keys().filter(|k| ours(k)) {
        if !options.keys.contains(&key.as_str()) {
            let known = match options.keys {
                [] => "none".to_string(),
                keys => keys.join(", "),
            };
            return Err(DriverError::invalid(
                "option",
                format!(
                    "unknown option {key:?} for -d {}; known: {known}",
                    options.driver
                ),
            ));
        }
    }
    Ok(())
}

fn parse_mtu(value: &str) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(mtu) if (576..=9216).contains(&mtu) => Ok(mtu),
        _ => Err(DriverError::invalid(
            OPT_MTU,
            format!("{value:?}: give a number from 576 to 9216"),
        )),
    }
}

fn single<'a>(family: &str, data: &'a [IpamData]) -> Result<Option<&'a IpamData>> {
    match data {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(DriverError::invalid(
            format!("{family} subnets"),
            "docker-ovn supports one subnet per address family",
        )),
    }
}

/// The subnet and gateway of one family's IPAM data, checked to be of
/// that family and to agree with each other.
fn family_data(
    family: &str,
    data: &[IpamData],
    is_family: fn(&IpNet) -> bool,
) -> Result<(Option<IpNet>, Option<IpAddr>)> {
    let Some(data) = single(family, data)? else {
        return Ok((None, None));
    };
    let pool: IpNet = data.pool.parse().ok().filter(is_family).ok_or_else(|| {
        DriverError::invalid(
            format!("{family} pool"),
            format!("{:?} is not an {family} CIDR", Short(&data.pool)),
        )
    })?;
    let gateway = parse_gateway(&data.gateway, |text| {
        text.parse::<IpNet>().map(|n| n.addr())
    })?;
    if let Some(gw) = gateway
        && !pool.contains(&gw)
    {
        return Err(DriverError::invalid(
            format!("{family} gateway"),
            format!("{gw} is outside {pool}"),
        ));
    }
    Ok((Some(pool.trunc()), gateway))
}

/// The aux addresses of the IPAM data (CIDR values; Docker writes `<nil>`
/// for one it could not reserve, which reserves nothing), each inside
/// the pool it was reserved from.
fn aux_addresses<'a>(data: impl Iterator<Item = &'a IpamData>) -> Result<Vec<IpAddr>> {
    let mut aux = Vec::new();
    for data in data {
        for (name, cidr) in &data.aux_addresses {
            if cidr == "<nil>" {
                continue;
            }
            aux.push(aux_address(data, name, cidr)?);
        }
    }
    Ok(aux)
}

fn aux_address(data: &IpamData, name: &str, cidr: &str) -> Result<IpAddr> {
    let invalid = |reason: String| {
        DriverError::invalid("AuxAddresses", format!("{:?}: {reason}", Short(name)))
    };
    let address = cidr
        .parse::<IpNet>()
        .map_err(|_| invalid(format!("{:?} is not an address in CIDR form", Short(cidr))))?;
    // family_data has checked the pool already: a short, valid CIDR.
    let pool = data.pool.parse::<IpNet>().ok();
    if !pool.is_some_and(|pool| pool.contains(&address.addr())) {
        return Err(invalid(format!(
            "{} is outside the pool {}",
            address.addr(),
            data.pool
        )));
    }
    Ok(address.addr())
}

/// Docker sends the gateway as CIDR; an empty one means "none".
fn parse_gateway<A, E>(text: &str, parse: impl Fn(&str) -> Result<A, E>) -> Result<Option<A>> {
    if text.is_empty() {
        return Ok(None);
    }
    parse(text).map(Some).map_err(|_| {
        DriverError::invalid(
            "gateway",
            format!("{:?} is not an address in CIDR form", Short(text)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NID: &str = "4d3c2b1a00112233445566778899aabbccddeeff00112233445566778899aabb";

    impl NetworkSpec {
        fn from_request_ovn(request: &CreateNetworkRequest) -> Result<NetworkSpec> {
            NetworkSpec::from_request(request, OVN_OPTIONS)
        }
    }

    #[test]
    fn each_driver_refuses_the_other_s_options_and_unknown_ones() {
        let with = |key: &str| {
            request(json!({"NetworkID": NID,
                "Options": {"com.docker.network.generic": {key: "x"}},
                "IPv4Data": [{"Pool": "10.0.0.0/24"}]}))
        };
        let ovs = NetworkSpec::from_request(&with("ovn.network"), OVS_OPTIONS).unwrap_err();
        assert!(
            ovs.to_string().contains(
                "for -d ovs; known: ovs.mode, ovs.network, ovs.vni, ovs.vlan, ovs.uplink, ovs.icc"
            ),
            "{ovs}"
        );
        let ovn = NetworkSpec::from_request(&with("ovs.mode"), OVN_OPTIONS).unwrap_err();
        assert!(
            ovn.to_string().contains("known: ovn.network, ovn.icc"),
            "{ovn}"
        );
        assert!(NetworkSpec::from_request(&with("other.key"), OVS_OPTIONS).is_ok());
    }

    fn request(body: serde_json::Value) -> CreateNetworkRequest {
        plugin_api::keys::from_value(body).unwrap()
    }

    #[test]
    fn a_swarm_network_needs_its_configuration() {
        const SWARM_ID: &str = "7n1m0bztp5gvdq2jh1w3x4yzk";
        let without = request(json!({"NetworkID": SWARM_ID,
            "Options": {"com.docker.network.generic": {}},
            "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "172.20.0.0/16"}]}));
        let error = NetworkSpec::from_request_ovn(&without)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--config-from <CFG>"), "{error}");
        let from_config = request(json!({"NetworkID": SWARM_ID,
            "Options": {"com.docker.network.generic": {"ovn.network": "blue"}},
            "IPv4Data": [{"AddressSpace": ADDRESS_SPACE, "Pool": "10.9.0.0/24"}]}));
        let spec = NetworkSpec::from_request_ovn(&from_config).unwrap();
        assert_eq!((spec.switch.as_str(), spec.shared), ("blue", true));
    }

    #[test]
    fn private_network_with_ipv4_and_ipv6() {
        let spec = NetworkSpec::from_request_ovn(&request(json!({
            "NetworkID": NID,
            "Options": {"com.docker.network.generic": {"com.docker.network.driver.mtu": "1400"},
                        "com.docker.network.enable_ipv6": true},
            "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.1.0.0/24", "Gateway": "10.1.0.1/24"}],
            "IPv6Data": [{"AddressSpace": "LocalDefault", "Pool": "fd00::/64", "Gateway": "fd00::1/64"}]
        })))
        .unwrap();
        assert_eq!(spec.switch, "docker-4d3c2b1a0011");
        assert!(!spec.shared);
        assert_eq!(spec.subnet4, Some("10.1.0.0/24".parse().unwrap()));
        let v4_pool_in_v6 =
            request(json!({"NetworkID": NID, "IPv6Data": [{"Pool": "10.1.0.0/24"}]}));
        assert!(NetworkSpec::from_request_ovn(&v4_pool_in_v6).is_err());
        assert_eq!(spec.gateway4, Some(IpAddr::from([10, 1, 0, 1])));
        assert_eq!(spec.gateway6, Some("fd00::1".parse().unwrap()));
        assert_eq!(spec.mtu, Some(1400));
        let with_aux = request(
            json!({"NetworkID": NID, "IPv4Data": [{"Pool": "10.1.0.0/24",
            "AuxAddresses": {"router": "10.1.0.5/24", "skipped": "<nil>"}}]}),
        );
        let aux = NetworkSpec::from_request_ovn(&with_aux).unwrap().aux;
        assert_eq!(aux, vec![IpAddr::from([10, 1, 0, 5])]);
    }

    #[test]
    fn shared_network_and_bad_input() {
        let ok = request(
            json!({"NetworkID": NID, "Options": {"com.docker.network.generic": {"ovn.network": "blue"}},
                                "IPv4Data": [{"AddressSpace": "docker-ovn", "Pool": "10.30.0.0/24"}]}),
        );
        let spec = NetworkSpec::from_request_ovn(&ok).unwrap();
        let default_ipam = request(
            json!({"NetworkID": NID, "Options": {"com.docker.network.generic": {"ovn.network": "blue"}},
                   "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.30.0.0/24"}]}),
        );
        let refused = NetworkSpec::from_request_ovn(&default_ipam)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--ipam-driver ovn"), "{refused}");
        assert_eq!(
            (spec.switch.as_str(), spec.shared, spec.gateway4),
            ("blue", true, None)
        );
        let cases = [
            json!({"NetworkID": "x", "IPv4Data": [{"Pool": "10.0.0.0/24"}]}),
            json!({"NetworkID": NID, "IPv4Data": []}),
            json!({"NetworkID": NID, "IPv4Data": [{"Pool": "10.0.0.0/33"}]}),
            json!({"NetworkID": NID, "IPv4Data": [{"Pool": "10.0.0.0/24", "Gateway": "10.9.9.9/24"}]}),
            json!({"NetworkID": NID, "IPv4Data": [{"Pool": "10.0.0.0/24"}, {"Pool": "10.1.0.0/24"}]}),
            json!({"NetworkID": NID, "Options": {"com.docker.network.generic": {"ovn.netwrok": "x"}}, "IPv4Data": [{"Pool": "10.0.0.0/24"}]}),
            json!({"NetworkID": NID, "Options": {"com.docker.network.generic": {"com.docker.network.driver.mtu": "70000"}}, "IPv4Data": [{"Pool": "10.0.0.0/24"}]}),
            json!({"NetworkID": NID, "IPv4Data": [{"Pool": "10.0.0.0/24", "AuxAddresses": {"r": "10.1.0.5/24"}}]}),
        ];
        for case in cases {
            assert!(
                NetworkSpec::from_request_ovn(&request(case.clone())).is_err(),
                "{case}"
            );
        }
    }
}
