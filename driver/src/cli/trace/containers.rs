//! What `docker inspect` says of a container's networks: the driver never
//! learns container names, Docker does.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::mac::MacAddr;

/// One network of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub network_name: String,
    pub network_id: String,
    /// Which of the driver's backends the network is on (`ovn`, `ovs`),
    /// whatever Docker calls the driver.
    pub driver: String,
    pub endpoint: String,
    pub mac: String,
    pub ipv4: Ipv4Addr,
    pub gateway: Option<Ipv4Addr>,
}

impl Attachment {
    /// The MAC a packet for an address off the network goes to: the
    /// gateway's, which the driver derives from its address.
    pub fn gateway_mac(&self) -> String {
        self.gateway.map_or("ff:ff:ff:ff:ff:ff".to_string(), |g| {
            MacAddr::from_ipv4(g).to_string()
        })
    }
}

/// A container and its networks of this driver.
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub attachments: Vec<Attachment>,
}

impl Container {
    /// `docker inspect NAME`: its networks whose driver is `ovn` or `ovs`.
    pub fn inspect(name: &str) -> anyhow::Result<Container> {
        let json = docker(&["inspect", "--type", "container", name])?;
        let container = json
            .get(0)
            .with_context(|| format!("no container {name}"))?;
        let networks = container["NetworkSettings"]["Networks"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut attachments = Vec::new();
        for (network_name, settings) in networks {
            let text = |key: &str| settings[key].as_str().unwrap_or_default().to_string();
            let network_id = text("NetworkID");
            let driver = network_driver(&network_id)?;
            let (Some(ipv4), Some(driver)) = (text("IPAddress").parse().ok(), backend_of(&driver))
            else {
                continue;
            };
            attachments.push(Attachment {
                network_name,
                network_id,
                driver: driver.to_string(),
                endpoint: text("EndpointID"),
                mac: text("MacAddress"),
                ipv4,
                gateway: text("Gateway").parse().ok(),
            });
        }
        let name = container["Name"]
            .as_str()
            .unwrap_or(name)
            .trim_start_matches('/');
        if attachments.is_empty() {
            bail!("{name} is on no network of docker-ovn (-d ovn or -d ovs) with an IPv4 address");
        }
        Ok(Container {
            name: name.to_string(),
            attachments,
        })
    }

    /// A network both are on: this one's attachment and the other's.
    pub fn shared_network<'a>(
        &'a self,
        other: &'a Container,
    ) -> Option<(&'a Attachment, &'a Attachment)> {
        self.attachments.iter().find_map(|mine| {
            let theirs = other
                .attachments
                .iter()
                .find(|a| a.network_id == mine.network_id)?;
            Some((mine, theirs))
        })
    }
}

/// The backend behind Docker's name for a driver: `ovn` and `ovs` as the
/// daemon serves them, or the managed plugins `scripts/build-plugin.sh`
/// makes, `docker-ovn:latest` and `docker-ovs:latest` (under any
/// repository path and tag).
fn backend_of(driver: &str) -> Option<&'static str> {
    let name = driver.split(':').next().unwrap_or_default();
    match name.rsplit('/').next()? {
        "ovn" | "docker-ovn" => Some("ovn"),
        "ovs" | "docker-ovs" => Some("ovs"),
        _ => None,
    }
}

fn network_driver(network: &str) -> anyhow::Result<String> {
    let json = docker(&["network", "inspect", network])?;
    Ok(json[0]["Driver"].as_str().unwrap_or_default().to_string())
}

/// `docker ARGS...`, its JSON output.
fn docker(args: &[&str]) -> anyhow::Result<Value> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .context("cannot run docker (the Docker client)")?;
    if !output.status.success() {
        bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("docker inspect gave no JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_s_drivers_and_the_managed_plugins_are_ours() {
        for (driver, backend) in [
            ("ovn", Some("ovn")),
            ("ovs", Some("ovs")),
            ("docker-ovn:latest", Some("ovn")),
            ("me/docker-ovs:v1", Some("ovs")),
            ("bridge", None),
            ("overlay", None),
        ] {
            assert_eq!(backend_of(driver), backend, "{driver}");
        }
    }
}
