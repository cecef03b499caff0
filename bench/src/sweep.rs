//! Removes everything the benchmark makes, whether the run ended well or
//! not: every name and id it uses starts with [`PREFIX`]. It runs after
//! each run and on its own (`--sweep`), which `scripts/bench.sh` does on
//! exit. Only the benchmark's own objects are touched.

use std::process::Command;

use anyhow::bail;
use test_support::{Lab, PluginClient, docker};

use crate::ids::PREFIX;
use crate::traffic::NETNS_PREFIX;

/// The Docker network of the `docker run` measurement.
pub const DOCKER_NETWORK: &str = "be0c-ovn";
/// The same, `--internal`: no `docker_gwbridge` endpoint.
pub const DOCKER_NETWORK_INTERNAL: &str = "be0c-ovn-internal";
/// The same on `-d ovs`.
pub const DOCKER_NETWORK_OVS: &str = "be0c-ovs";

/// Sweeps the lab; reports what could not be removed.
pub fn sweep(lab: &Lab) -> anyhow::Result<()> {
    let _ = docker(&[
        "network",
        "rm",
        DOCKER_NETWORK,
        DOCKER_NETWORK_INTERNAL,
        DOCKER_NETWORK_OVS,
    ]);
    let (nb, ovs) = (
        format!("--db={}", lab.nb_db()),
        format!("--db={}", lab.ovs_db()),
    );
    // Our driver's networks first: it removes their ports, veths and switch.
    let driver = PluginClient::new(lab.plugin_socket());
    for network in driver_networks(&nb)? {
        let body = serde_json::json!({"NetworkID": network});
        driver.call("NetworkDriver.DeleteNetwork", &body);
    }
    // The -d ovs networks, named by the keys of its bridge's record.
    let ovs_driver = PluginClient::new(lab.var("OVS_PLUGIN_SOCKET"));
    let records = run_ok(
        "ovs-vsctl",
        &[
            &ovs,
            "--if-exists",
            "get",
            "Bridge",
            OVS_BRIDGE,
            "external_ids",
        ],
    )?;
    for network in ovs_networks_in(&records) {
        let body = serde_json::json!({"NetworkID": network});
        ovs_driver.call("NetworkDriver.DeleteNetwork", &body);
    }
    // The Python driver's switches (named by network id) and the hand-bound one.
    for switch in lines(&run_ok(
        "ovn-nbctl",
        &[&nb, "--bare", "--columns=name", "list", "Logical_Switch"],
    )?) {
        run_ok("ovn-nbctl", &[&nb, "--if-exists", "ls-del", &switch])?;
    }
    for bridge in [lab.var("BRIDGE"), OVS_BRIDGE.to_string()] {
        let listed = run_ok("ovs-vsctl", &[&ovs, "list-ports", &bridge]).unwrap_or_default();
        for port in lines(&listed) {
            run_ok(
                "ovs-vsctl",
                &[&ovs, "--if-exists", "del-port", &bridge, &port],
            )?;
        }
    }
    for link in lines(&run_ok("ip", &["-o", "link", "show"])?.replace(':', " ")) {
        // One end of a veth pair takes the other with it.
        let _ = run_ok(
            "ip",
            &["link", "del", link.split('@').next().unwrap_or(&link)],
        );
    }
    for netns in run_ok("ip", &["netns", "list"])?.lines() {
        let name = netns.split_whitespace().next().unwrap_or_default();
        if name.starts_with(NETNS_PREFIX) {
            run_ok("ip", &["netns", "del", name])?;
        }
    }
    Ok(())
}

/// Docker network ids of our driver's switches made by the benchmark.
fn driver_networks(nb: &str) -> anyhow::Result<Vec<String>> {
    let ids = run_ok(
        "ovn-nbctl",
        &[
            nb,
            "--bare",
            "--columns=external_ids",
            "list",
            "Logical_Switch",
        ],
    )?;
    Ok(networks_in(&ids))
}

/// The benchmark's networks among the switches' `external_ids`: a switch
/// names each host's Docker network in a key of its own.
fn networks_in(ids: &str) -> Vec<String> {
    let key = "docker-ovn:docker-network:";
    ids.split_whitespace()
        .filter_map(|pair| pair.strip_prefix(key))
        .filter_map(|rest| rest.split('=').next())
        .filter(|id| id.starts_with(PREFIX))
        .map(str::to_string)
        .collect()
}

/// The `-d ovs` bridge the lab's driver makes.
const OVS_BRIDGE: &str = "br-docker";

/// The benchmark's networks among a `-d ovs` bridge's `external_ids`.
fn ovs_networks_in(ids: &str) -> Vec<String> {
    let key = "\"docker-ovn:network:";
    ids.split(key)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| id.starts_with(PREFIX))
        .map(str::to_string)
        .collect()
}

/// The words of `text` that start with [`PREFIX`], or with it after
/// the three letters of a driver's interface names (`ovn`, `ovc`).
fn lines(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|word| {
            word.starts_with(PREFIX) || word.get(3..).is_some_and(|w| w.starts_with(PREFIX))
        })
        .map(str::to_string)
        .collect()
}

/// Runs `program args...`; its stdout, or an error with its stderr.
pub fn run_ok(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program).args(args).output()?;
    if !output.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_s_ovs_networks_are_read_from_the_bridge() {
        let ids = format!(
            "{{\"docker-ovn:network:{PREFIX}01\"=\"index=1\", \"docker-ovn:network:ab12\"=\"index=2\"}}"
        );
        assert_eq!(ovs_networks_in(&ids), [format!("{PREFIX}01")]);
    }

    #[test]
    fn only_prefixed_words_are_ours() {
        let text = "br-int be0c1234 ovnbe0c12 ovn12be0c be0ch00001\n2: eth0";
        assert_eq!(lines(text), ["be0c1234", "ovnbe0c12", "be0ch00001"]);
    }

    #[test]
    fn driver_networks_are_found_by_their_docker_network_key() {
        let ids = "docker-ovn:docker-network:be0c12=lab-host1 docker-ovn:owner=docker-ovn \
                   docker-ovn:docker-network:9abc=lab-host1";
        assert_eq!(networks_in(ids), ["be0c12"]);
    }
}
