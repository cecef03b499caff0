//! One host of the lab: its own Open_vSwitch `ovsdb-server`, `ovs-vswitchd`
//! on the userspace datapath (no OVS kernel module here), the integration
//! bridge, its uplink (`br-phy`, see [`super::uplink`]) when it tunnels to
//! other hosts, and `ovn-controller` registered as a chassis in the shared
//! Southbound database. The same steps serve `lab up` (a host in this or
//! in its own network namespace) and `lab provision host` (a machine).

use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use super::central::ovn_dirs;
use super::cmd::{self, say};
use super::env::HostEnv;
use super::ovsdb;
use super::process::Daemon;
use super::{taps, uplink, vlan_switch};

/// ovs-vsctl's own deadline; it waits for ovs-vswitchd to apply changes.
const VSCTL_TIMEOUT_SECS: u64 = 30;
/// From ovn-controller's start until its chassis shows in the Southbound.
const CHASSIS_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts whatever of the host is not running and (re)applies its settings.
/// The host's network namespace, if any, must exist already.
pub fn start(host: &HostEnv) -> anyhow::Result<()> {
    for dir in [&host.ovs_rundir, &host.ovn_rundir] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    ovsdb::ensure(&ovsdb_server(host), &host.ovsdb)?;
    configure(host)?;
    start_vswitchd(host)?;
    if !host.has_ovn() {
        // Plain Open vSwitch: the driver makes its own bridge; VXLAN to
        // other hosts needs the address on br-phy, as Geneve does.
        return uplink::attach(host);
    }
    create_bridge(host)?;
    // Before ovn-controller makes tunnels: they need the route via br-phy.
    uplink::attach(host)?;
    controller(host).ensure(Daemon::start_detaching)?;
    wait_for_chassis(host)
}

/// Stops ovn-controller, ovs-vswitchd and the database, deletes the tap
/// devices the userspace datapath leaves behind (`br-phy` with the tunnel
/// address among them), and gives a machine's NIC its address back.
pub fn stop(host: &HostEnv) -> anyhow::Result<()> {
    if !host.dir.exists() {
        return Ok(());
    }
    // Ask the database which devices are ours while it still runs.
    let devices = taps::of_host(host);
    controller(host).stop()?;
    vswitchd(host).stop()?;
    ovsdb_server(host).stop()?;
    taps::remove(host.netns.as_deref(), &devices)?;
    uplink::release(host)
}

fn label(host: &HostEnv, what: &str) -> String {
    format!("{}: {what}", host.name)
}

fn ovsdb_server(host: &HostEnv) -> Daemon {
    // manager_options: so that `ovs-vsctl set-manager` works as on a real host.
    let remotes = ["db:Open_vSwitch,Open_vSwitch,manager_options".to_string()];
    ovsdb::server(
        &label(host, "ovsdb-server"),
        &host.ovsdb,
        &remotes,
        host.netns.as_deref(),
    )
}

/// Runs `ovs-vsctl` against the host's database; returns its output.
pub fn vsctl(host: &HostEnv, args: &[String]) -> anyhow::Result<String> {
    let mut vsctl = cmd::command_in(host.netns.as_deref(), "ovs-vsctl");
    vsctl
        .arg(format!("--db={}", host.ovsdb.remote()))
        .arg(format!("--timeout={VSCTL_TIMEOUT_SECS}"));
    vsctl.args(args);
    cmd::run(vsctl, Duration::from_secs(VSCTL_TIMEOUT_SECS + 10))
}

/// `ovs-vsctl` words that create `bridge` (if absent) on the userspace
/// datapath, ending in its `set Bridge` so that more columns can follow.
pub fn netdev_bridge(bridge: &str) -> Vec<String> {
    [
        "--",
        "--may-exist",
        "add-br",
        bridge,
        "--",
        "set",
        "Bridge",
        bridge,
        "datapath_type=netdev",
    ]
    .map(String::from)
    .to_vec()
}

/// The settings ovn-controller reads (and the driver: `ovn-nb`); on a
/// host without OVN, only its names.
fn configure(host: &HostEnv) -> anyhow::Result<()> {
    let names = [
        ("system-id", host.system_id.clone()),
        ("hostname", hostname(host)),
    ];
    let ovn = [
        ("ovn-remote", host.sb_remote.clone()),
        ("ovn-nb", host.nb_remote.clone()),
        ("ovn-encap-type", "geneve".to_string()),
        ("ovn-encap-ip", host.encap_ip.clone()),
        ("ovn-bridge", host.bridge.clone()),
        ("ovn-bridge-datapath-type", "netdev".to_string()),
    ];
    let ovn = if host.has_ovn() { &ovn[..] } else { &[] };
    let peers = peers(host);
    // The uplink bridge is on the lab's physical network: provider
    // networks (`-o ovn.physnet=physnet1`) leave through it.
    let mappings: Vec<(&str, String)> = host
        .uplink
        .iter()
        .filter(|_| host.has_ovn())
        .map(|u| {
            (
                "ovn-bridge-mappings",
                format!("{}:{}", vlan_switch::PHYSNET, u.bridge),
            )
        })
        .collect();
    let settings: Vec<&(&str, String)> = names
        .iter()
        .chain(ovn)
        .chain(&peers)
        .chain(&mappings)
        .collect();
    let mut args: Vec<String> = ["--no-wait", "init", "--", "set", "Open_vSwitch", "."]
        .map(String::from)
        .to_vec();
    args.extend(
        settings
            .iter()
            .map(|(key, value)| format!("external_ids:{key}={}", ovsdb_string(value))),
    );
    vsctl(host, &args).with_context(|| label(host, "configuring Open_vSwitch"))?;
    match host.has_ovn() {
        true => say(format!(
            "{}: chassis {} configured (encap geneve {})",
            host.name, host.system_id, host.encap_ip
        )),
        false => say(format!(
            "{}: system-id {} configured",
            host.name, host.system_id
        )),
    }
    Ok(())
}

/// The `-d ovs` peer settings of a host among several: its tunnel
/// address, its routed CIDR and every host (see `docker-ovn`'s
/// `ovs::peers`); none for a lone host.
fn peers(host: &HostEnv) -> Vec<(&'static str, String)> {
    let Some(cidr) = host.host_cidr else {
        return Vec::new();
    };
    vec![
        ("docker-ovn-tunnel-ip", host.encap_ip.clone()),
        ("docker-ovn-host-cidr", cidr.to_string()),
        ("docker-ovn-peers", host.peers.join(",")),
    ]
}

/// The chassis hostname: the machine's for a host in the root namespace,
/// the host's own name for one in a namespace (they share the machine's).
fn hostname(host: &HostEnv) -> String {
    if host.netns.is_some() {
        return host.name.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| host.name.clone())
}

/// A value quoted for ovs-vsctl, which would otherwise parse `,`, `=` or
/// spaces in it.
fn ovsdb_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn vswitchd(host: &HostEnv) -> Daemon {
    let files = &host.vswitchd;
    let mut daemon = Daemon::new(
        label(host, "ovs-vswitchd"),
        "ovs-vswitchd",
        files.pidfile.clone(),
        files.log.clone(),
    );
    daemon.args = vec![host.ovsdb.remote()];
    daemon.args.extend(ovsdb::ovs_daemon_args(files));
    // OVS_RUNDIR decides where `<bridge>.mgmt` (the OpenFlow socket) goes.
    daemon.env = ovsdb::ovs_dirs(&host.ovs_rundir);
    daemon.netns = host.netns.clone();
    daemon.marker = Some(host.ovsdb.remote());
    daemon
}

/// Starts ovs-vswitchd; a previous one of this lab that died left its tap
/// devices (and any addresses on them), which would be inherited: delete
/// them first.
fn start_vswitchd(host: &HostEnv) -> anyhow::Result<()> {
    let daemon = vswitchd(host);
    if daemon.running().is_none() && daemon.pidfile.exists() {
        taps::remove(host.netns.as_deref(), &taps::of_host(host))?;
    }
    daemon.ensure(Daemon::start_detaching)?;
    Ok(())
}

fn create_bridge(host: &HostEnv) -> anyhow::Result<()> {
    let bridge = host.bridge.as_str();
    let mut args = netdev_bridge(bridge);
    args.extend(["fail_mode=secure", "other_config:disable-in-band=true"].map(String::from));
    vsctl(host, &args).with_context(|| label(host, "creating the integration bridge"))?;
    say(format!(
        "{}: bridge {bridge} (datapath netdev, fail_mode secure)",
        host.name
    ));
    Ok(())
}

fn controller(host: &HostEnv) -> Daemon {
    let files = &host.controller;
    let mut daemon = Daemon::new(
        label(host, "ovn-controller"),
        "ovn-controller",
        files.pidfile.clone(),
        files.log.clone(),
    );
    daemon.args = vec![host.ovsdb.remote()];
    daemon.args.extend(ovsdb::ovs_daemon_args(files));
    daemon.env = ovn_dirs(&host.ovn_rundir);
    // ovn-controller finds the bridge's OpenFlow socket through OVS_RUNDIR.
    daemon.env.retain(|(key, _)| !key.starts_with("OVS_"));
    daemon
        .env
        .push(("OVS_RUNDIR", host.ovs_rundir.clone().into_os_string()));
    daemon.netns = host.netns.clone();
    daemon.marker = Some(files.pidfile.display().to_string());
    daemon
}

/// Waits until the host's chassis is in the Southbound database with its
/// tunnel endpoint.
fn wait_for_chassis(host: &HostEnv) -> anyhow::Result<()> {
    let controller = controller(host);
    let probe = || {
        if controller.running().is_none() {
            bail!("ovn-controller exited");
        }
        // The expected address, not just any: a lab that grew from one host
        // to several moves host1's endpoint off 127.0.0.1.
        let encaps = chassis_encaps(host)?;
        Ok(encaps
            .iter()
            .any(|encap| encap.split_whitespace().last() == Some(host.encap_ip.as_str())))
    };
    cmd::wait_until(
        &format!("chassis {}", host.system_id),
        CHASSIS_TIMEOUT,
        probe,
    )
    .map_err(|error| anyhow!("{error:#}; {}", cmd::log_tail(&controller.log, 15)))?;
    let encaps = chassis_encaps(host)?;
    say(format!(
        "{}: chassis {} is in the Southbound database (encap {})",
        host.name,
        host.system_id,
        encaps.join(", ")
    ));
    Ok(())
}

/// `type ip` of each encapsulation of the host's chassis (none: not registered).
fn chassis_encaps(host: &HostEnv) -> anyhow::Result<Vec<String>> {
    let mut sbctl = cmd::command("ovn-sbctl");
    sbctl.arg(format!("--db={}", host.sb_remote)).args([
        "--timeout=10",
        "--data=bare",
        "--no-headings",
    ]);
    sbctl
        .args(["--columns=type,ip", "find", "Encap"])
        .arg(format!("chassis_name={}", ovsdb_string(&host.system_id)));
    let output = cmd::run(sbctl, Duration::from_secs(15))?;
    // --data=bare prints each column on its own line and a blank line between rows.
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    Ok(lines
        .split(|line| line.is_empty())
        .filter(|row| !row.is_empty())
        .map(|row| row.join(" "))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovsdb_strings_are_quoted_and_escaped() {
        assert_eq!(ovsdb_string("unix:/a/b.sock"), "\"unix:/a/b.sock\"");
        assert_eq!(ovsdb_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
