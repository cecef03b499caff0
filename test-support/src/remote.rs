//! Being dockerd on a lab host that has none: a network and endpoints
//! made through the host's plugin socket in dockerd's order, the
//! endpoint's interface wired into a sandbox namespace as libnetwork
//! does. Each undoes itself when dropped (DeleteNetwork; Leave and
//! DeleteEndpoint, then the sandbox), even when the test failed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::docker_network::container_pings;
use crate::lab::LabHost;
use crate::netns::{Sandbox, ip};
use crate::plugin_client::PluginClient;

/// A Docker-style 64-hex id, unique to this run. Its first 12 digits name
/// the endpoint's veths, so they are the ones that vary.
pub fn random_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let low = (nanos as u64).wrapping_add(u64::from(count) << 20) & 0xffff_ffff_ffff;
    let pid = std::process::id();
    format!("{low:012x}{count:04x}{pid:08x}{nanos:040x}")
}

/// An address of `subnet` from the `ovn` IPAM of the driver behind
/// `client` (`"10.85.0.5/24"`), as dockerd on that host would ask for it.
pub fn ipam_address(client: &PluginClient, subnet: &str) -> String {
    let pool = client.ok(
        "IpamDriver.RequestPool",
        json!({"AddressSpace": "docker-ovn", "Pool": subnet, "SubPool": "", "Options": {}, "V6": false}),
    );
    let pool_id = pool["PoolID"].as_str().expect("PoolID");
    let reply = client.ok(
        "IpamDriver.RequestAddress",
        json!({"PoolID": pool_id, "Address": "", "Options": {}}),
    );
    reply["Address"].as_str().expect("Address").to_string()
}

/// A network CreateNetwork made on one host's driver.
pub struct RemoteNetwork {
    pub client: PluginClient,
    pub id: String,
}

impl RemoteNetwork {
    /// CreateNetwork on `client` with these generic options (`-o`) and
    /// IPv4 data, under a fresh id.
    pub fn create(client: PluginClient, options: Value, ipv4_data: Value) -> RemoteNetwork {
        let id = random_id();
        client.ok(
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": id, "Options": {"com.docker.network.generic": options},
                   "IPv4Data": ipv4_data, "IPv6Data": []}),
        );
        RemoteNetwork { client, id }
    }
}

impl Drop for RemoteNetwork {
    fn drop(&mut self) {
        let body = json!({"NetworkID": self.id});
        let _ = self.client.call("NetworkDriver.DeleteNetwork", &body);
    }
}

/// An endpoint in a sandbox namespace, as libnetwork makes it.
pub struct RemoteEndpoint {
    client: PluginClient,
    network: String,
    pub id: String,
    /// Its address, bare.
    pub address: String,
    pub sandbox: Sandbox,
}

impl RemoteEndpoint {
    /// CreateEndpoint with `cidr` (the IPAM driver's part), Join, then the
    /// interface moved from `host`'s namespace into a new sandbox
    /// `sandbox`, renamed eth0, given its address and MAC, up, with a
    /// default route via Join's gateway if it gives one.
    pub fn join(
        host: &LabHost,
        network: &RemoteNetwork,
        cidr: &str,
        sandbox: &str,
    ) -> RemoteEndpoint {
        let id = random_id();
        let created = network.client.ok(
            "NetworkDriver.CreateEndpoint",
            json!({"NetworkID": network.id, "EndpointID": id,
                   "Interface": {"Address": cidr, "AddressIPv6": "", "MacAddress": ""},
                   "Options": {}}),
        );
        let endpoint = RemoteEndpoint {
            client: network.client.clone(),
            network: network.id.clone(),
            id,
            address: cidr.split('/').next().unwrap_or_default().to_string(),
            sandbox: Sandbox::new(sandbox),
        };
        let joined = endpoint.client.ok(
            "NetworkDriver.Join",
            json!({"NetworkID": endpoint.network, "EndpointID": endpoint.id,
                   "SandboxKey": format!("/var/run/netns/{}", endpoint.sandbox.name),
                   "Options": {}}),
        );
        let src = joined["InterfaceName"]["SrcName"]
            .as_str()
            .expect("Join names the interface");
        let mac = created["Interface"]["MacAddress"].as_str().unwrap_or("");
        let mac = (!mac.is_empty()).then_some(mac);
        let gateway = joined["Gateway"].as_str().filter(|g| !g.is_empty());
        endpoint
            .sandbox
            .attach_routed(host.netns.as_deref(), src, cidr, mac, gateway);
        endpoint
    }

    /// The MTU of its eth0.
    pub fn mtu(&self) -> u32 {
        let name = &self.sandbox.name;
        let output = ip(&["netns", "exec", name, "cat", "/sys/class/net/eth0/mtu"]);
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("eth0 has an MTU")
    }
}

impl Drop for RemoteEndpoint {
    fn drop(&mut self) {
        let body = json!({"NetworkID": self.network, "EndpointID": self.id});
        let _ = self.client.call("NetworkDriver.Leave", &body);
        let _ = self.client.call("NetworkDriver.DeleteEndpoint", &body);
    }
}

/// Insists that two networks are apart: `outsider`, on the other one,
/// reaches none of `targets`, and host1's `container` does not reach it.
pub fn assert_apart(outsider: &RemoteEndpoint, targets: &[&str], container: &str) {
    for target in targets {
        let output = outsider.sandbox.ping(target, &[]);
        assert!(
            !output.status.success(),
            "{} reached {target} of another network",
            outsider.sandbox.name
        );
    }
    let output = container_pings(container, &outsider.address);
    assert!(
        !output.status.success(),
        "{container} reached {} of another network",
        outsider.address
    );
}
