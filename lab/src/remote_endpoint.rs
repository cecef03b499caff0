//! Being dockerd on a host that has none: the plugin calls `docker network
//! create` and `docker run` make, in dockerd's order, through the host's
//! plugin socket, then the sandbox wired as libnetwork would
//! ([`super::sandbox`]); and the calls that undo them. What has been
//! obtained is recorded after every step (`<host dir>/demo-endpoint.json`),
//! so that exactly that is given back, even after a failure half-way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use plugin_api::wire::{CreateEndpointResponse, JoinResponse, RequestAddressResponse};
use plugin_api::wire::{RequestPoolResponse, labels};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::env::HostEnv;
use super::plugin_client::PluginClient;
use super::sandbox::{self, Attachment};

/// The address space of the `ovn` IPAM driver, which shared networks need.
const ADDRESS_SPACE: &str = "docker-ovn";
const RECORD_FILE: &str = "demo-endpoint.json";

/// The network to be on: its switch (`-o ovn.network`) and subnet.
pub struct SharedNetwork<'a> {
    pub switch: &'a str,
    pub subnet: &'a str,
}

/// What the driver handed out, step by step (`None`: not yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub pool_id: Option<String>,
    /// Bare IP, as ReleaseAddress wants it.
    pub gateway: Option<String>,
    pub network_id: Option<String>,
    /// CIDR.
    pub address: Option<String>,
    pub endpoint_id: Option<String>,
    /// The MAC CreateEndpoint chose, if it did.
    pub mac: Option<String>,
    pub joined: bool,
}

/// The record of `host`'s demo endpoint, if it has one.
pub fn record(host: &HostEnv) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(host)).ok()?;
    serde_json::from_str(&text).ok()
}

fn record_path(host: &HostEnv) -> PathBuf {
    host.dir.join(RECORD_FILE)
}

fn save(host: &HostEnv, record: &Record) -> anyhow::Result<()> {
    let path = record_path(host);
    let text = serde_json::to_string_pretty(record)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Creates the network, an endpoint on it and the sandbox `sandbox_name`
/// holding it; returns the endpoint's address (CIDR). On failure, whatever
/// was obtained is given back.
pub fn attach(
    host: &HostEnv,
    network: &SharedNetwork,
    sandbox_name: &str,
) -> anyhow::Result<String> {
    let mut record = Record::default();
    let made = create_network(host, network, &mut record)
        .and_then(|()| create_endpoint(host, &mut record))
        .and_then(|()| join(host, sandbox_name, &mut record));
    match (made, record.address) {
        (Ok(()), Some(address)) => Ok(address),
        (made, _) => {
            // The failure that matters is the one that stopped us.
            let _ = detach(host, sandbox_name);
            Err(made.err().unwrap_or_else(|| anyhow::anyhow!("no address")))
        }
    }
}

/// RequestPool, the gateway's RequestAddress, CreateNetwork.
fn create_network(
    host: &HostEnv,
    network: &SharedNetwork,
    record: &mut Record,
) -> anyhow::Result<()> {
    let socket = &host.driver.socket;
    let pool: RequestPoolResponse = call(
        socket,
        "IpamDriver.RequestPool",
        &json!({"AddressSpace": ADDRESS_SPACE, "Pool": network.subnet, "SubPool": "",
                "Options": {}, "V6": false}),
    )?;
    record.pool_id = Some(pool.pool_id.clone());
    save(host, record)?;
    let gateway = request_address(socket, &pool.pool_id, Some(labels::GATEWAY))?;
    record.gateway = Some(bare(&gateway).to_string());
    save(host, record)?;
    let id = stable_id(host, "network");
    let _: Value = call(
        socket,
        "NetworkDriver.CreateNetwork",
        &json!({"NetworkID": id,
                "Options": {"com.docker.network.enable_ipv6": false,
                            "com.docker.network.generic": {"ovn.network": network.switch}},
                "IPv4Data": [{"AddressSpace": ADDRESS_SPACE, "Pool": pool.pool,
                              "Gateway": gateway, "AuxAddresses": {}}],
                "IPv6Data": []}),
    )?;
    record.network_id = Some(id);
    save(host, record)
}

/// RequestAddress (the gateway's when `kind` says so); the CIDR.
fn request_address(socket: &Path, pool_id: &str, kind: Option<&str>) -> anyhow::Result<String> {
    let options: BTreeMap<&str, &str> = kind
        .map(|kind| (labels::REQUEST_ADDRESS_TYPE, kind))
        .into_iter()
        .collect();
    let reply: RequestAddressResponse = call(
        socket,
        "IpamDriver.RequestAddress",
        &json!({"PoolID": pool_id, "Address": "", "Options": options}),
    )?;
    Ok(reply.address)
}

/// RequestAddress and CreateEndpoint.
fn create_endpoint(host: &HostEnv, record: &mut Record) -> anyhow::Result<()> {
    let socket = &host.driver.socket;
    let (Some(pool_id), Some(network_id)) = (&record.pool_id, &record.network_id) else {
        bail!("no network to create an endpoint on");
    };
    let address = request_address(socket, pool_id, None)?;
    record.address = Some(address.clone());
    save(host, record)?;
    let id = stable_id(host, "endpoint");
    let created: CreateEndpointResponse = call(
        socket,
        "NetworkDriver.CreateEndpoint",
        &json!({"NetworkID": network_id, "EndpointID": id,
                "Interface": {"Address": address, "AddressIPv6": "", "MacAddress": ""},
                "Options": {}}),
    )?;
    record.endpoint_id = Some(id);
    record.mac = created
        .interface
        .map(|interface| interface.mac_address)
        .filter(|mac| !mac.is_empty());
    save(host, record)
}

/// Join, then the sandbox with the driver's interface in it.
fn join(host: &HostEnv, sandbox_name: &str, record: &mut Record) -> anyhow::Result<()> {
    let (Some(network_id), Some(endpoint_id), Some(address)) =
        (&record.network_id, &record.endpoint_id, &record.address)
    else {
        bail!("no endpoint to join");
    };
    let host_netns = host.netns.as_deref().context("the host has no namespace")?;
    sandbox::create(sandbox_name)?;
    let joined: JoinResponse = call(
        &host.driver.socket,
        "NetworkDriver.Join",
        &json!({"NetworkID": network_id, "EndpointID": endpoint_id,
                "SandboxKey": sandbox::key(sandbox_name), "Options": {}}),
    )?;
    record.joined = true;
    save(host, record)?;
    let interface = joined.interface_name.context("Join named no interface")?;
    let attachment = Attachment {
        host_netns: Some(host_netns),
        src_name: &interface.src_name,
        address,
        mac: record.mac.as_deref(),
        gateway: Some(joined.gateway.as_str()).filter(|gateway| !gateway.is_empty()),
    };
    sandbox::attach(sandbox_name, &attachment)
}

/// Gives back what [`attach`] obtained (as recorded) and deletes the
/// sandbox. Every step is tried; the first failure is returned.
pub fn detach(host: &HostEnv, sandbox_name: &str) -> anyhow::Result<()> {
    let record = record(host).unwrap_or_default();
    let socket = host.driver.socket.as_path();
    let mut first_error = None;
    let mut attempt = |result: anyhow::Result<()>| {
        if let Err(error) = result {
            first_error.get_or_insert(error);
        }
    };
    if let (Some(network_id), Some(endpoint_id)) = (&record.network_id, &record.endpoint_id) {
        let ids = json!({"NetworkID": network_id, "EndpointID": endpoint_id});
        if record.joined {
            attempt(post(socket, "NetworkDriver.Leave", &ids));
        }
        attempt(post(socket, "NetworkDriver.DeleteEndpoint", &ids));
    }
    attempt(sandbox::remove(sandbox_name));
    let pool_id = record.pool_id.as_deref().unwrap_or_default();
    if let Some(address) = &record.address {
        attempt(release_address(socket, pool_id, address));
    }
    if let Some(network_id) = &record.network_id {
        let body = json!({"NetworkID": network_id});
        attempt(post(socket, "NetworkDriver.DeleteNetwork", &body));
    }
    if let Some(gateway) = &record.gateway {
        attempt(release_address(socket, pool_id, gateway));
    }
    if record.pool_id.is_some() {
        attempt(post(
            socket,
            "IpamDriver.ReleasePool",
            &json!({"PoolID": pool_id}),
        ));
    }
    attempt(remove_record(host));
    first_error.map_or(Ok(()), Err)
}

fn post(socket: &Path, method: &str, body: &Value) -> anyhow::Result<()> {
    call::<Value>(socket, method, body).map(drop)
}

/// ReleaseAddress of an address, bare or CIDR.
fn release_address(socket: &Path, pool_id: &str, address: &str) -> anyhow::Result<()> {
    let body = json!({"PoolID": pool_id, "Address": bare(address)});
    post(socket, "IpamDriver.ReleaseAddress", &body)
}

fn remove_record(host: &HostEnv) -> anyhow::Result<()> {
    let path = record_path(host);
    match std::fs::remove_file(&path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The address of a CIDR.
fn bare(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}

/// A Docker-style id (64 hex digits) that is the same for the same host
/// and purpose on every run: what `up` made, a later `up` or `down` finds.
/// Its first 12 digits name the endpoint's veths, so they differ per host.
pub fn stable_id(host: &HostEnv, purpose: &str) -> String {
    (0..4u64)
        .map(|part| {
            let text = format!("docker-ovn lab {purpose} {} {part}", host.system_id);
            format!("{:016x}", fnv1a(text.as_bytes()))
        })
        .collect()
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One call to the driver on `socket`, as dockerd makes it.
fn call<T: serde::de::DeserializeOwned>(
    socket: &Path,
    method: &str,
    body: &Value,
) -> anyhow::Result<T> {
    PluginClient::new(socket).call(method, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Layout, lab_env_with};

    #[test]
    fn ids_are_stable_per_host_and_purpose() {
        let env = lab_env_with(Path::new("/tmp/lab"), Layout::Local { hosts: 3 });
        let (host2, host3) = (&env.hosts[1], &env.hosts[2]);
        let id = stable_id(host2, "network");
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, stable_id(host2, "network"));
        assert_ne!(id, stable_id(host2, "endpoint"));
        let (a, b) = (stable_id(host2, "endpoint"), stable_id(host3, "endpoint"));
        assert_ne!(a[..12], b[..12]);
    }

    #[test]
    fn the_record_survives_a_round_trip_and_goes_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = lab_env_with(dir.path(), Layout::Local { hosts: 2 });
        let host = &env.hosts[1];
        std::fs::create_dir_all(&host.dir).expect("host dir");
        assert_eq!(record(host), None);
        let written = Record {
            pool_id: Some("p".into()),
            address: Some("10.89.0.3/24".into()),
            ..Record::default()
        };
        save(host, &written).expect("save");
        assert_eq!(record(host), Some(written));
        remove_record(host).expect("remove");
        remove_record(host).expect("already gone");
        assert_eq!(record(host), None);
    }
}
