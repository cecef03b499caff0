//! The `Options` maps of network and endpoint requests.
//!
//! Network options have a fixed set of keys with known types, so they decode
//! into a typed [`NetworkOptions`] (a wrong type is a 400). Endpoint and
//! sandbox options are an open-ended map of arbitrary JSON, so
//! [`EndpointOptions`] keeps the map and offers typed accessors that decode a
//! value only when a driver asks for it: a malformed entry the driver does not
//! use must not fail the call.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::labels;
use crate::error::Error;
use crate::keys;

/// `CreateNetwork.Options` (also `GwAllocCheck.Options`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkOptions {
    /// `com.docker.network.generic`: the `-o k=v` driver options.
    pub generic: BTreeMap<String, String>,
    /// `com.docker.network.enable_ipv4`; `None` from Docker before 28,
    /// which always enabled IPv4.
    pub enable_ipv4: Option<bool>,
    /// `com.docker.network.enable_ipv6`.
    pub enable_ipv6: bool,
    /// `com.docker.network.internal` (`--internal`).
    pub internal: bool,
    /// Any other key, verbatim.
    pub other: Map<String, Value>,
}

impl NetworkOptions {
    /// One `-o` driver option.
    pub fn generic_opt(&self, key: &str) -> Option<&str> {
        self.generic.get(key).map(String::as_str)
    }

    /// Whether IPv4 is enabled; absent means enabled (Docker before 28).
    pub fn ipv4_enabled(&self) -> bool {
        self.enable_ipv4.unwrap_or(true)
    }

    fn to_map(&self) -> Map<String, Value> {
        let mut map = self.other.clone();
        let generic = self
            .generic
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        map.insert(labels::GENERIC.into(), Value::Object(generic));
        map.insert(labels::ENABLE_IPV6.into(), self.enable_ipv6.into());
        if let Some(v4) = self.enable_ipv4 {
            map.insert(labels::ENABLE_IPV4.into(), v4.into());
        }
        // Docker only sends the key for internal networks.
        if self.internal {
            map.insert(labels::INTERNAL.into(), true.into());
        }
        map
    }
}

impl Serialize for NetworkOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NetworkOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut other =
            Option::<Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
        let generic = take_generic(&mut other).map_err(D::Error::custom)?;
        let enable_ipv4 = take_bool(&mut other, labels::ENABLE_IPV4).map_err(D::Error::custom)?;
        let enable_ipv6 = take_bool(&mut other, labels::ENABLE_IPV6).map_err(D::Error::custom)?;
        let internal = take_bool(&mut other, labels::INTERNAL).map_err(D::Error::custom)?;
        Ok(NetworkOptions {
            generic,
            enable_ipv4,
            enable_ipv6: enable_ipv6.unwrap_or(false),
            internal: internal.unwrap_or(false),
            other,
        })
    }
}

fn take_bool(map: &mut Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(format!("`{key}` must be a boolean, got {other}")),
    }
}

/// Driver options are strings; numbers and booleans (possible when a
/// network is created through the API by hand) are taken as their text.
fn take_generic(map: &mut Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    let object = match map.remove(labels::GENERIC) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(other) => {
            return Err(format!(
                "`{}` must be an object, got {other}",
                labels::GENERIC
            ));
        }
    };
    let mut out = BTreeMap::new();
    for (key, value) in object {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(_) | Value::Number(_) => value.to_string(),
            other => {
                return Err(format!(
                    "`{}.{key}` must be a string, got {other}",
                    labels::GENERIC
                ));
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// Endpoint options (CreateEndpoint) or sandbox labels (Join,
/// ProgramExternalConnectivity): an open map of arbitrary JSON values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointOptions(pub Map<String, Value>);

impl EndpointOptions {
    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A string value (e.g. a `--driver-opt k=v`); `None` if absent or not a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// Decodes one value into `T` (with Go's leniency); `Ok(None)` if absent.
    pub fn get_typed<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => keys::from_value(value.clone())
                .map(Some)
                .map_err(|e| e.within(key).within("Options")),
        }
    }

    /// `com.docker.network.endpoint.exposedports`.
    pub fn exposed_ports(&self) -> Result<Vec<TransportPort>, Error> {
        Ok(self.get_typed(labels::EXPOSED_PORTS)?.unwrap_or_default())
    }

    /// `com.docker.network.portmap`.
    pub fn port_map(&self) -> Result<Vec<PortBinding>, Error> {
        Ok(self.get_typed(labels::PORT_MAP)?.unwrap_or_default())
    }

    /// `com.docker.network.endpoint.dnsservers`.
    pub fn dns_servers(&self) -> Result<Vec<String>, Error> {
        Ok(self.get_typed(labels::DNS_SERVERS)?.unwrap_or_default())
    }
}

impl From<Map<String, Value>> for EndpointOptions {
    fn from(map: Map<String, Value>) -> Self {
        EndpointOptions(map)
    }
}

/// An IP protocol number as libnetwork sends it (`types.Protocol`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// ICMP (1).
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// TCP (6).
    pub const TCP: IpProtocol = IpProtocol(6);
    /// UDP (17).
    pub const UDP: IpProtocol = IpProtocol(17);
    /// SCTP (132).
    pub const SCTP: IpProtocol = IpProtocol(132);
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IpProtocol::ICMP => f.write_str("icmp"),
            IpProtocol::TCP => f.write_str("tcp"),
            IpProtocol::UDP => f.write_str("udp"),
            IpProtocol::SCTP => f.write_str("sctp"),
            IpProtocol(other) => write!(f, "{other}"),
        }
    }
}

/// An exposed port (`types.TransportPort`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TransportPort {
    /// Protocol number.
    pub proto: IpProtocol,
    /// Container port.
    pub port: u16,
}

/// A published port (`types.PortBinding`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortBinding {
    /// Protocol number.
    pub proto: IpProtocol,
    /// Container address, usually empty.
    #[serde(rename = "IP")]
    pub ip: String,
    /// Container port.
    pub port: u16,
    /// Host address to bind, empty for all.
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    /// First host port.
    pub host_port: u16,
    /// Last host port of a range (equal to `host_port` for one port).
    pub host_port_end: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn network_options(v: Value) -> Result<NetworkOptions, Error> {
        keys::from_value(v)
    }

    #[test]
    fn network_options_decode_the_reference_example() {
        let opts = network_options(json!({
            "com.docker.network.enable_ipv4": true,
            "com.docker.network.enable_ipv6": false,
            "com.docker.network.internal": true,
            "com.docker.network.generic": {"ovn.network": "blue", "com.docker.network.driver.mtu": "1400"},
            "com.docker.network.future": [1]
        }))
        .unwrap();
        assert_eq!(opts.generic_opt("ovn.network"), Some("blue"));
        assert_eq!(opts.generic_opt(labels::DRIVER_MTU), Some("1400"));
        assert_eq!(opts.enable_ipv4, Some(true));
        assert!(!opts.enable_ipv6);
        assert!(opts.internal);
        assert_eq!(
            opts.other.get("com.docker.network.future"),
            Some(&json!([1]))
        );
    }

    #[test]
    fn network_options_round_trip() {
        let input = json!({
            "com.docker.network.enable_ipv6": true,
            "com.docker.network.internal": true,
            "com.docker.network.generic": {"a": "b"},
            "x": {"y": null}
        });
        let opts = network_options(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&opts).unwrap(), input);
    }

    #[test]
    fn missing_network_options_take_docker_defaults() {
        let opts = network_options(json!({})).unwrap();
        assert!(opts.ipv4_enabled());
        assert!(!opts.enable_ipv6 && !opts.internal);
        assert!(opts.generic.is_empty());
        let opts = network_options(Value::Null).unwrap();
        assert_eq!(opts, NetworkOptions::default());
    }

    #[test]
    fn generic_scalars_become_text_and_nulls_vanish() {
        let opts =
            network_options(json!({"com.docker.network.generic": {"n": 5, "b": true, "z": null}}))
                .unwrap();
        assert_eq!(opts.generic_opt("n"), Some("5"));
        assert_eq!(opts.generic_opt("b"), Some("true"));
        assert_eq!(opts.generic_opt("z"), None);
    }

    #[test]
    fn mistyped_network_options_are_rejected() {
        let err = network_options(json!({"com.docker.network.internal": "yes"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("`com.docker.network.internal` must be a boolean"),
            "{err}"
        );
        let err = network_options(json!({"com.docker.network.generic": {"k": [1]}})).unwrap_err();
        assert!(
            err.to_string()
                .contains("`com.docker.network.generic.k` must be a string"),
            "{err}"
        );
    }

    #[test]
    fn endpoint_options_typed_accessors() {
        let opts: EndpointOptions = keys::from_value(json!({
            "com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}],
            "com.docker.network.portmap": [{"Proto": 17, "IP": "", "Port": 53, "HostIP": "127.0.0.1", "HostPort": 5353, "HostPortEnd": 5353}],
            "com.docker.network.endpoint.dnsservers": ["1.1.1.1"],
            "com.docker.network.endpoint.ifname": "eth7"
        }))
        .unwrap();
        assert_eq!(
            opts.exposed_ports().unwrap(),
            vec![TransportPort {
                proto: IpProtocol::TCP,
                port: 80
            }]
        );
        let map = opts.port_map().unwrap();
        assert_eq!(map[0].proto.to_string(), "udp");
        assert_eq!(
            (map[0].host_ip.as_str(), map[0].host_port),
            ("127.0.0.1", 5353)
        );
        assert_eq!(opts.dns_servers().unwrap(), vec!["1.1.1.1".to_string()]);
        assert_eq!(opts.get_str(labels::IFNAME), Some("eth7"));
    }

    #[test]
    fn endpoint_option_errors_name_the_key() {
        let opts: EndpointOptions =
            keys::from_value(json!({"com.docker.network.endpoint.exposedports": [{"Port": "x"}]}))
                .unwrap();
        let err = opts.exposed_ports().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("field `Options.com.docker.network.endpoint.exposedports[0].Port`"),
            "{err}"
        );
        assert!(opts.port_map().unwrap().is_empty());
    }
}
