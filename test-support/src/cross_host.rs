//! The cross-host checks every `-d ovs` mode must pass, on the lab of
//! `docker-ovn-lab up --hosts N`: a network of the mode made on host1's
//! dockerd (container `<name>-a`) and, as dockerd would, on the other
//! hosts through their plugin sockets ([`CrossHostNetwork`]); then pings
//! both ways, the full MTU, two networks apart, and a switch restart.

use std::process::Output;
use std::time::Duration;

use crate::docker_network::{DockerNetwork, container_pings};
use crate::lab::docker;
use crate::lab::{Lab, LabHost};
use crate::lab_bridge::LabBridge;
use crate::lab_daemons::{LabDaemon, restart_missing};
use crate::remote::{RemoteEndpoint, RemoteNetwork, assert_apart};
use crate::underlay::{PeersOfHost1, text};

/// How long a cross-host ping may take to first pass.
pub const CROSS_HOST_TIMEOUT: Duration = Duration::from_secs(15);

/// One network of one mode, on host1 and on the other hosts.
pub trait CrossHostNetwork {
    fn name(&self) -> &'static str;

    /// The network on host1's dockerd with its container started; the
    /// container's address.
    fn on_host1(&self) -> (DockerNetwork, String);

    /// The network on `host`, made as dockerd would make it there.
    fn on(&self, host: &LabHost) -> RemoteNetwork;

    /// An endpoint of `network` on `host`, in a sandbox of its own.
    fn endpoint(&self, host: &LabHost, network: &RemoteNetwork) -> RemoteEndpoint;

    /// host1's container.
    fn container(&self) -> String {
        format!("{}-a", self.name())
    }
}

/// `attempt` passes within [`CROSS_HOST_TIMEOUT`].
pub fn eventually(what: &str, attempt: impl FnMut() -> Output) {
    crate::docker_network::eventually(what, CROSS_HOST_TIMEOUT, attempt);
}

/// host1's container `a` reaches every remote endpoint and back, and
/// each remote the next.
pub fn assert_reach_each_other(net: &impl CrossHostNetwork, a: &str, remotes: &[&RemoteEndpoint]) {
    for remote in remotes {
        eventually(&format!("host1's container -> {}", remote.address), || {
            container_pings(&net.container(), &remote.address)
        });
        let back = remote.sandbox.ping(a, &[]);
        assert!(back.status.success(), "back to host1: {}", text(&back));
    }
    for pair in remotes.windows(2) {
        let between = pair[0].sandbox.ping(&pair[1].address, &[]);
        assert!(
            between.status.success(),
            "remote to remote: {}",
            text(&between)
        );
    }
}

/// From host2 to host1, a ping that fills `mtu` exactly with DF crosses,
/// and one byte more does not.
pub fn assert_full_size_crosses(lab: &Lab, net: &impl CrossHostNetwork, mtu: u32) {
    let hosts = lab.hosts();
    let on2 = net.on(&hosts[1]);
    let b = net.endpoint(&hosts[1], &on2);
    let (local, a) = net.on_host1();
    eventually("a small ping across", || b.sandbox.ping(&a, &[]));
    // Payload + 8 (ICMP) + 20 (IPv4) = the MTU.
    let fits = (mtu - 28).to_string();
    let output = b.sandbox.ping(&a, &["-M", "do", "-s", &fits]);
    assert!(
        output.status.success(),
        "{fits} bytes with DF: {}",
        text(&output)
    );
    let too_big = (mtu - 27).to_string();
    let output = b.sandbox.ping(&a, &["-M", "do", "-s", &too_big]);
    assert!(
        !output.status.success(),
        "{too_big} bytes with DF got through"
    );
    drop((b, on2));
    local.remove();
}

/// `red` on host1 and host3, `blue` on host2: red reaches red across,
/// `also` checks more while both are up (given red's endpoint on host3
/// and host1's address), and blue reaches none of red's, nor red blue's.
pub fn assert_apart_across(
    lab: &Lab,
    red_net: &impl CrossHostNetwork,
    blue_net: &impl CrossHostNetwork,
    also: impl FnOnce(&RemoteEndpoint, &RemoteEndpoint, &str),
) {
    let hosts = lab.hosts();
    let (red, a) = red_net.on_host1();
    let red3 = red_net.on(&hosts[2]);
    let blue2 = blue_net.on(&hosts[1]);
    let on_red = red_net.endpoint(&hosts[2], &red3);
    let on_blue = blue_net.endpoint(&hosts[1], &blue2);
    eventually("red on host3 -> red on host1", || {
        on_red.sandbox.ping(&a, &[])
    });
    also(&on_red, &on_blue, &a);
    assert_apart(&on_blue, &[&a, &on_red.address], &red_net.container());
    drop((on_red, on_blue, red3, blue2));
    red.remove();
}

/// host2's ovs-vswitchd SIGKILLed: pings between host1 and host2 stop,
/// and return both ways once the lab restarts it (`driver` is the
/// driver binary the lab restarts with).
pub fn assert_pings_return_after_host2_switch_restart(
    lab: &Lab,
    net: &impl CrossHostNetwork,
    driver: &str,
) {
    let hosts = lab.hosts();
    let (local, a) = net.on_host1();
    let on2 = net.on(&hosts[1]);
    let b = net.endpoint(&hosts[1], &on2);
    eventually("host2 -> host1 before", || b.sandbox.ping(&a, &[]));
    let switch = LabDaemon::HostOvsVswitchd(2);
    switch.require_started_by_lab(lab);
    switch.kill(lab, libc::SIGKILL);
    let down = b.sandbox.ping(&a, &["-c", "1", "-W", "1"]);
    assert!(
        !down.status.success(),
        "a ping crossed with host2's switch dead"
    );
    restart_missing(lab, driver);
    // The switch comes back empty: host2's driver puts its flows back on
    // the reconnection (and its gateways, routes and ports as the mode has).
    eventually("host2 -> host1 after the restart", || {
        b.sandbox.ping(&a, &[])
    });
    eventually("host1 -> host2 after the restart", || {
        container_pings(&net.container(), &b.address)
    });
    drop((b, on2));
    local.remove();
}

/// A network on host1's dockerd (container `a`) and on hosts 2 and 3,
/// an endpoint `b` and `c` on each.
pub struct Spanned {
    pub a: String,
    pub b: RemoteEndpoint,
    pub c: RemoteEndpoint,
    remotes: (RemoteNetwork, RemoteNetwork),
    local: DockerNetwork,
}

impl Spanned {
    pub fn three_hosts(lab: &Lab, net: &impl CrossHostNetwork) -> Spanned {
        let hosts = lab.hosts();
        let (local, a) = net.on_host1();
        let remotes = (net.on(&hosts[1]), net.on(&hosts[2]));
        let b = net.endpoint(&hosts[1], &remotes.0);
        let c = net.endpoint(&hosts[2], &remotes.1);
        Spanned {
            a,
            b,
            c,
            remotes,
            local,
        }
    }

    /// Leaves and deletes the remote parts, then removes the Docker network.
    pub fn remove(self) {
        drop((self.b, self.c, self.remotes));
        self.local.remove();
    }
}

/// host3 taken out of host1's `docker-ovn-peers`: within 5 s nothing of
/// host1's driver points at it (`toward(host3's address)` lists what
/// does: flows, routes) and host1's container no longer reaches it; put
/// back, it is reached again.
pub fn assert_removed_peer_is_cut_off_and_back(
    lab: &Lab,
    net: &impl CrossHostNetwork,
    toward: impl Fn(&str) -> Vec<String>,
) {
    let hosts = lab.hosts();
    let host3 = hosts[2].encap_ip.as_str();
    let (local, _) = net.on_host1();
    let on3 = net.on(&hosts[2]);
    let c = net.endpoint(&hosts[2], &on3);
    let reach_host3 = || container_pings(&net.container(), &c.address);
    eventually("host1 -> host3", reach_host3);
    assert!(
        !toward(host3).is_empty(),
        "host3 is a peer: nothing toward it"
    );
    let peers = PeersOfHost1::take(lab);
    peers.set(&peers.original_without(host3));
    let mut left = toward(host3);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = toward(host3);
    }
    assert!(left.is_empty(), "left toward a removed peer: {left:#?}");
    let output = reach_host3();
    assert!(!output.status.success(), "a removed peer is still reached");
    drop(peers);
    eventually("host3 again once it is a peer again", reach_host3);
    drop((c, on3));
    local.remove();
}

/// Each `docker network create -d ovs ARGS... <name>` of `cases` is
/// refused with an error that says its text, and host1's bridge records
/// are as before.
pub fn assert_refused_and_nothing_changed(lab: &Lab, name: &str, cases: &[(Vec<&str>, &str)]) {
    let bridge = LabBridge::of(lab);
    let before = bridge.records();
    for (args, says) in cases {
        let mut create = vec!["network", "create", "-d", "ovs"];
        create.extend(args);
        create.push(name);
        let output = docker(&create);
        let _ = docker(&["network", "rm", name]);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(text(&output).contains(says), "{args:?}: {}", text(&output));
    }
    assert_eq!(
        before,
        bridge.records(),
        "a refused network changed the bridge's records"
    );
}
