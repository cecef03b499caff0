//! A network driver as the benchmark drives it: over its plugin API, as
//! dockerd would, on one network of its own with addresses handed out
//! here (Docker's IPAM is not in the loop).

use anyhow::{Context, bail};
use serde_json::{Value, json};
use test_support::PluginClient;

use crate::ids::{Addresses, docker_id};

/// One endpoint, created but maybe not joined.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    /// Its address in CIDR form.
    pub address: String,
}

/// A driver and the network the benchmark made on it.
pub struct Driver {
    /// What the table calls it.
    pub name: &'static str,
    client: PluginClient,
    pub network: String,
    addresses: Addresses,
}

impl Driver {
    /// Creates a network with the /16 `10.<second>.0.0` on the driver.
    pub fn with_network(
        name: &'static str,
        client: PluginClient,
        second: u8,
    ) -> anyhow::Result<Driver> {
        let driver = Driver {
            name,
            client,
            network: docker_id(),
            addresses: Addresses::new(second),
        };
        driver.call(
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": driver.network, "Options": {"com.docker.network.generic": {}},
                   "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": driver.addresses.pool(),
                                 "Gateway": driver.addresses.gateway()}],
                   "IPv6Data": []}),
        )?;
        Ok(driver)
    }

    /// Calls `method`; a non-200 status or an `Err` in the reply is an error.
    pub fn call(&self, method: &str, body: Value) -> anyhow::Result<Value> {
        let reply = self.client.call(method, &body);
        let err = reply.body.get("Err").and_then(Value::as_str).unwrap_or("");
        if !reply.is_ok() || !err.is_empty() {
            bail!("{}: {method} -> {} {}", self.name, reply.status, reply.body);
        }
        Ok(reply.body)
    }

    pub fn create_endpoint(&self) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint {
            id: docker_id(),
            address: self.addresses.next(),
        };
        self.call(
            "NetworkDriver.CreateEndpoint",
            json!({"NetworkID": self.network, "EndpointID": endpoint.id,
                   "Interface": {"Address": endpoint.address, "AddressIPv6": "", "MacAddress": ""},
                   "Options": {}}),
        )?;
        Ok(endpoint)
    }

    /// Joins `endpoint`; returns the interface to move into the sandbox.
    pub fn join(&self, endpoint: &Endpoint) -> anyhow::Result<String> {
        let reply = self.call(
            "NetworkDriver.Join",
            json!({"NetworkID": self.network, "EndpointID": endpoint.id,
                   "SandboxKey": format!("/var/run/docker/netns/{}", &endpoint.id[..12]),
                   "Options": {}}),
        )?;
        reply["InterfaceName"]["SrcName"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{}: Join replied without SrcName: {reply}", self.name))
    }

    pub fn leave(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
        self.endpoint_call("NetworkDriver.Leave", endpoint)
    }

    pub fn delete_endpoint(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
        self.endpoint_call("NetworkDriver.DeleteEndpoint", endpoint)
    }

    fn endpoint_call(&self, method: &str, endpoint: &Endpoint) -> anyhow::Result<()> {
        self.call(
            method,
            json!({"NetworkID": self.network, "EndpointID": endpoint.id}),
        )?;
        Ok(())
    }

    /// Deletes the network (the driver removes what is still on it).
    pub fn delete_network(&self) -> anyhow::Result<()> {
        self.call(
            "NetworkDriver.DeleteNetwork",
            json!({"NetworkID": self.network}),
        )?;
        Ok(())
    }
}
