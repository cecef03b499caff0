//! A logical switch's gateway on this host ([`crate::host::gateway`]):
//! its OVS internal port is bound to the switch's `localport`, which
//! carries the gateway's MAC and address ([`crate::ovn::northbound`]).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::host::gateway::Gateway;
use crate::names::gateway_logical_port;
use crate::ovn::northbound::SwitchInfo;

/// The gateway of `switch`, if it is a network with one (not
/// `--internal`, an IPv4 subnet and gateway), of MTU `mtu`.
pub fn of_switch(switch: &SwitchInfo, mtu: u32) -> Option<Gateway> {
    let address: Ipv4Addr = switch.gateway()?;
    let subnet: Ipv4Net = switch.subnet4.as_deref()?.parse().ok()?;
    let gateway = Gateway::new(&switch.name, address, subnet, mtu)?;
    Some(Gateway {
        logical_port: Some(gateway_logical_port(&switch.name)),
        ..gateway
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb_client::Uuid;

    fn switch(internal: bool, gateway: Option<&str>) -> SwitchInfo {
        SwitchInfo {
            uuid: Uuid::nil(),
            name: "blue".into(),
            subnet4: Some("10.1.0.0/24".into()),
            subnet6: None,
            gateway4: gateway.map(str::to_string),
            gateway6: None,
            mtu: None,
            internal,
            icc: true,
            rate_mbit: None,
            provider: None,
            docker_networks: vec![],
            ports: vec![],
        }
    }

    #[test]
    fn only_non_internal_networks_with_an_ipv4_gateway_have_one() {
        let gateway = of_switch(&switch(false, Some("10.1.0.1")), 1442).unwrap();
        assert_eq!(gateway.address.to_string(), "10.1.0.1/24");
        assert_eq!(gateway.mtu, 1442);
        assert_eq!(
            gateway.logical_port.as_deref(),
            Some("docker-ovn-gateway-blue")
        );
        assert!(of_switch(&switch(true, Some("10.1.0.1")), 1442).is_none());
        assert!(of_switch(&switch(false, None), 1442).is_none());
        assert!(of_switch(&switch(false, Some("fd00::1")), 1442).is_none());
        let provider = |host_gateway| SwitchInfo {
            provider: Some(crate::docker::provider_network::ProviderNetwork {
                physnet: "physnet1".into(),
                vlan: None,
                host_gateway,
            }),
            ..switch(false, Some("10.1.0.1"))
        };
        assert!(of_switch(&provider(false), 1500).is_none());
        assert_eq!(provider(false).router(), Some(Ipv4Addr::new(10, 1, 0, 1)));
        assert!(of_switch(&provider(true), 1500).is_some());
    }
}
