//! Where everything of a lab lives, derived from its directory and its
//! [`Layout`] alone.
//!
//! Every path is a pure function of (directory, layout) so that `up`,
//! `down`, `provision` and the end-to-end tests agree without other state;
//! the layout itself is recorded in `lab.env` (see [`super::env_file`]).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

/// The lab directory when `--dir` is not given.
pub const DEFAULT_DIR: &str = "/var/run/docker-ovn-lab";
/// The environment variable that overrides [`DEFAULT_DIR`] for `lab up`
/// and `lab down`, and tells end-to-end tests where a running lab is.
pub const DIR_VARIABLE: &str = "DOCKER_OVN_LAB_DIR";
/// Where dockerd looks for the `ovn` plugin (`docker network create -d ovn`).
pub const PLUGIN_SOCKET: &str = "/run/docker/plugins/ovn.sock";
/// Where dockerd finds the `-d ovs` driver of the same daemon.
pub const OVS_PLUGIN_SOCKET: &str = "/run/docker/plugins/ovs.sock";
/// Where host1's driver serves its Prometheus metrics.
pub const METRICS_LISTEN: &str = "127.0.0.1:9477";
/// containerd's default socket, which dockerd is pointed at.
pub const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";
/// The OVN integration bridge of every host.
pub const BRIDGE: &str = "br-int";
/// The OVS bridge holding a host's underlay port and tunnel endpoint address.
pub const PHY_BRIDGE: &str = "br-phy";
/// The network namespace of the local lab's underlay switch.
pub const UNDERLAY_NETNS: &str = "dovn-underlay";
/// The Linux bridge, inside [`UNDERLAY_NETNS`], that joins the hosts.
pub const UNDERLAY_BRIDGE: &str = "br-underlay";
/// The local lab's underlay: host K is `.(10 + K)`. Chosen outside the
/// pools Docker hands out by default (172.17–172.30 first, then 192.168)
/// and outside the usual home and cloud ranges.
pub const UNDERLAY_SUBNET: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(172, 31, 250, 0), 24) {
    Ok(net) => net,
    Err(_) => panic!("valid prefix"),
};
/// The tunnel endpoint of a single-host lab, which tunnels to nobody.
pub const LOOPBACK_ENCAP_IP: &str = "127.0.0.1";
/// OVN's Northbound and Southbound TCP ports (what `provision` listens on).
pub const NB_PORT: u16 = 6641;
pub const SB_PORT: u16 = 6642;
/// How many hosts a local lab may have: host K's address `.(10 + K)` must
/// stay inside the /24.
pub const MAX_HOSTS: usize = 200;

/// What a lab directory is for: chosen by `up` or `provision`, recorded in
/// `lab.env`, read back by `down`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `lab up --hosts N`: the central and N hosts on this machine; host1
    /// in this network namespace, the others in namespaces of their own.
    Local { hosts: usize },
    /// `lab up --no-ovn [--hosts N]`: hosts with OVS and the driver (host1
    /// with dockerd) and no OVN daemon at all (`-d ovs` alone), peers of
    /// each other over the underlay when there are several.
    LocalNoOvn { hosts: usize },
    /// `lab provision central`: NB, SB and northd, on TCP at `listen_ip` too.
    Central { listen_ip: Ipv4Addr },
    /// `lab provision host`: this machine as one Docker host of a central
    /// elsewhere.
    Host(RemoteHost),
}

/// A Docker host whose central is another machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHost {
    pub central_ip: Ipv4Addr,
    pub system_id: String,
    /// The tunnel endpoint address with its prefix, as the machine had it.
    pub encap: Ipv4Net,
    /// The machine's interface that held `encap`: it becomes the port of
    /// [`PHY_BRIDGE`], and gets its address back on `down`.
    pub uplink: String,
}

impl Layout {
    /// The number of hosts this machine runs.
    pub fn host_count(&self) -> usize {
        match self {
            Layout::Local { hosts } => *hosts,
            Layout::LocalNoOvn { hosts } => *hosts,
            Layout::Central { .. } => 0,
            Layout::Host(_) => 1,
        }
    }
}

/// Files of one daemon: its pidfile, log and unixctl (control) socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonFiles {
    pub pidfile: PathBuf,
    pub log: PathBuf,
    /// `None` for ovn-controller, which has no `--unixctl` option: its socket
    /// is `ovn-controller.<pid>.ctl` in its `OVN_RUNDIR`, found by
    /// `OVN_RUNDIR=<dir> ovn-appctl -t ovn-controller`.
    pub ctl: Option<PathBuf>,
}

impl DaemonFiles {
    fn new(dir: &Path, stem: &str) -> Self {
        DaemonFiles {
            pidfile: dir.join(format!("{stem}.pid")),
            log: dir.join(format!("{stem}.log")),
            ctl: Some(dir.join(format!("{stem}.ctl"))),
        }
    }
}

/// One standalone `ovsdb-server` serving one database on a unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbEnv {
    /// The server's run directory (its `OVS_RUNDIR`).
    pub dir: PathBuf,
    pub schema: PathBuf,
    pub db: PathBuf,
    pub socket: PathBuf,
    pub files: DaemonFiles,
}

impl OvsdbEnv {
    fn new(dir: &Path, stem: &str, db_file: &str, socket: &str, schema: &str) -> Self {
        OvsdbEnv {
            schema: PathBuf::from(schema),
            db: dir.join(db_file),
            socket: dir.join(socket),
            files: DaemonFiles::new(dir, stem),
            dir: dir.to_path_buf(),
        }
    }

    /// The OVSDB remote clients use: `unix:<socket>`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

/// The OVN central: Northbound and Southbound databases and northd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralEnv {
    pub dir: PathBuf,
    pub nb: OvsdbEnv,
    pub sb: OvsdbEnv,
    pub northd: DaemonFiles,
    /// Also listen on TCP there (a central for other machines).
    pub listen_ip: Option<Ipv4Addr>,
}

impl CentralEnv {
    fn new(dir: PathBuf, listen_ip: Option<Ipv4Addr>) -> Self {
        let schemas = "/usr/share/ovn";
        CentralEnv {
            nb: OvsdbEnv::new(
                &dir,
                "ovnnb_db",
                "ovnnb_db.db",
                "ovnnb_db.sock",
                &format!("{schemas}/ovn-nb.ovsschema"),
            ),
            sb: OvsdbEnv::new(
                &dir,
                "ovnsb_db",
                "ovnsb_db.db",
                "ovnsb_db.sock",
                &format!("{schemas}/ovn-sb.ovsschema"),
            ),
            northd: DaemonFiles::new(&dir, "ovn-northd"),
            listen_ip,
            dir,
        }
    }
}

/// The docker-ovn driver (`docker-ovn serve`) of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverEnv {
    pub socket: PathBuf,
    /// The `-d ovs` driver's socket.
    pub ovs_socket: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
    /// More `serve` flags (the nested VM's `--nested-parent`, ...).
    pub extra_args: Vec<String>,
}

/// How a host reaches the others: an interface that is a port of
/// [`PHY_BRIDGE`], whose own address moves onto that bridge (the userspace
/// datapath's tunnels need the endpoint address on an OVS internal port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkEnv {
    /// The interface in the host's namespace.
    pub device: String,
    /// The other end of a veth the lab made, in the underlay namespace;
    /// `None` for the machine's own interface (its address is restored on
    /// `down`).
    pub underlay_peer: Option<String>,
    /// The tunnel endpoint address and prefix.
    pub address: Ipv4Net,
    pub bridge: String,
}

/// The local lab's underlay switch, in a namespace of its own: in the root
/// namespace dockerd's `iptables -P FORWARD DROP` with
/// `bridge-nf-call-iptables=1` drops bridged IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderlayEnv {
    pub netns: String,
    pub bridge: String,
    pub subnet: Ipv4Net,
    /// The physical switch's Open vSwitch, in [`UnderlayEnv::netns`]
    /// (see `vlan_switch`): no OVN, no uplink, no driver.
    pub switch: HostEnv,
}

/// One host: its own ovsdb-server, ovs-vswitchd and ovn-controller, each
/// with run directories of its own, optionally inside a network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnv {
    pub name: String,
    /// The OVN chassis name (`external_ids:system-id`).
    pub system_id: String,
    /// `None`: this (the root) namespace.
    pub netns: Option<String>,
    pub dir: PathBuf,
    /// `OVS_RUNDIR` of the host's OVS daemons; `<bridge>.mgmt` lands here.
    pub ovs_rundir: PathBuf,
    /// `OVN_RUNDIR` of the host's ovn-controller.
    pub ovn_rundir: PathBuf,
    pub ovsdb: OvsdbEnv,
    pub vswitchd: DaemonFiles,
    pub controller: DaemonFiles,
    pub bridge: String,
    /// The tunnel endpoint address (`ovn-encap-ip`, `docker-ovn-tunnel-ip`).
    pub encap_ip: String,
    /// The CIDR of this host's routed `-d ovs` networks
    /// (`docker-ovn-host-cidr`), on a lab of several hosts.
    pub host_cidr: Option<Ipv4Net>,
    /// Every host's `IP=CIDR` (its own too: the driver leaves it out), as
    /// `docker-ovn-peers` lists them; empty with one host.
    pub peers: Vec<String>,
    pub uplink: Option<UplinkEnv>,
    /// The Southbound and Northbound databases (`ovn-remote`, `ovn-nb`).
    pub sb_remote: String,
    pub nb_remote: String,
    pub driver: DriverEnv,
}

impl HostEnv {
    /// Host `index` with paths under `lab_dir`; tunnels and remotes are
    /// filled in by the layout.
    fn new(lab_dir: &Path, index: usize) -> Self {
        HostEnv::named(lab_dir, format!("host{index}"))
    }

    /// The physical switch of a lab of several hosts: an Open vSwitch in
    /// the underlay's namespace `netns`, with paths under `lab_dir/switch`.
    fn physical_switch(lab_dir: &Path, netns: &str) -> Self {
        HostEnv {
            netns: Some(netns.to_string()),
            ..HostEnv::named(lab_dir, "switch".to_string())
        }
    }

    fn named(lab_dir: &Path, name: String) -> Self {
        let dir = lab_dir.join(&name);
        let ovs_rundir = dir.join("ovs");
        let ovn_rundir = dir.join("ovn");
        HostEnv {
            system_id: format!("lab-{name}"),
            netns: None,
            ovsdb: OvsdbEnv::new(
                &ovs_rundir,
                "ovsdb-server",
                "conf.db",
                "db.sock",
                "/usr/share/openvswitch/vswitch.ovsschema",
            ),
            vswitchd: DaemonFiles::new(&ovs_rundir, "ovs-vswitchd"),
            controller: DaemonFiles {
                ctl: None,
                ..DaemonFiles::new(&ovn_rundir, "ovn-controller")
            },
            bridge: BRIDGE.to_string(),
            encap_ip: LOOPBACK_ENCAP_IP.to_string(),
            host_cidr: None,
            peers: Vec::new(),
            uplink: None,
            sb_remote: String::new(),
            nb_remote: String::new(),
            driver: DriverEnv {
                socket: dir.join("ovn.sock"),
                ovs_socket: dir.join("ovs.sock"),
                pidfile: dir.join("driver.pid"),
                log: dir.join("driver.log"),
                extra_args: Vec::new(),
            },
            name,
            dir,
            ovs_rundir,
            ovn_rundir,
        }
    }

    /// The VM of `lab up --nested` ([`crate::nested_vm`]): a host in
    /// namespace `netns` named `name`, its bridge `bridge`, with the
    /// Northbound database `nb_remote` and no ovn-controller.
    pub fn nested_vm(
        lab_dir: &Path,
        name: &str,
        netns: &str,
        bridge: &str,
        nb_remote: String,
    ) -> Self {
        HostEnv {
            netns: Some(netns.to_string()),
            bridge: bridge.to_string(),
            nb_remote,
            ..HostEnv::named(lab_dir, name.to_string())
        }
    }

    /// Whether the host runs OVN (`lab up --no-ovn` makes one without).
    pub fn has_ovn(&self) -> bool {
        !self.sb_remote.is_empty()
    }

    /// The OpenFlow management socket ovs-vswitchd opens for the bridge.
    pub fn bridge_mgmt(&self) -> PathBuf {
        self.ovs_rundir.join(format!("{}.mgmt", self.bridge))
    }

    /// Whether dockerd runs here (only in the root namespace).
    pub fn runs_docker(&self) -> bool {
        self.netns.is_none()
    }
}

/// containerd and dockerd, when the lab starts them. A pidfile here means
/// the lab started that daemon, and only then does `down` stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEnv {
    pub dir: PathBuf,
    pub containerd_pidfile: PathBuf,
    pub containerd_log: PathBuf,
    pub containerd_socket: PathBuf,
    pub dockerd_pidfile: PathBuf,
    pub dockerd_log: PathBuf,
}

impl DockerEnv {
    fn new(dir: PathBuf) -> Self {
        DockerEnv {
            containerd_pidfile: dir.join("containerd.pid"),
            containerd_log: dir.join("containerd.log"),
            containerd_socket: PathBuf::from(CONTAINERD_SOCKET),
            dockerd_pidfile: dir.join("dockerd.pid"),
            dockerd_log: dir.join("dockerd.log"),
            dir,
        }
    }
}

/// Every path of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabEnv {
    pub dir: PathBuf,
    pub layout: Layout,
    /// `None` when the central is another machine.
    pub central: Option<CentralEnv>,
    pub hosts: Vec<HostEnv>,
    /// `None` unless several local hosts need an underlay between them.
    pub underlay: Option<UnderlayEnv>,
    pub docker: DockerEnv,
}

/// The paths of the single-host lab in `dir` (`lab up` without `--hosts`).
pub fn lab_env(dir: &Path) -> LabEnv {
    lab_env_with(dir, Layout::Local { hosts: 1 })
}

/// The paths of the lab in `dir` laid out as `layout`.
pub fn lab_env_with(dir: &Path, layout: Layout) -> LabEnv {
    let (central, hosts, underlay) = match &layout {
        Layout::Local { hosts } => local(dir, *hosts),
        Layout::LocalNoOvn { hosts } => {
            let (_, mut hosts, underlay) = local(dir, *hosts);
            for host in &mut hosts {
                // No central: the host's OVN settings stay empty.
                host.nb_remote.clear();
                host.sb_remote.clear();
            }
            (None, hosts, underlay)
        }
        Layout::Central { listen_ip } => (
            Some(CentralEnv::new(dir.join("central"), Some(*listen_ip))),
            Vec::new(),
            None,
        ),
        Layout::Host(remote) => (None, vec![remote_host(dir, remote)], None),
    };
    LabEnv {
        central,
        hosts,
        underlay,
        docker: DockerEnv::new(dir.join("docker")),
        dir: dir.to_path_buf(),
        layout,
    }
}

/// The central, `count` hosts and (for more than one) the underlay.
fn local(dir: &Path, count: usize) -> (Option<CentralEnv>, Vec<HostEnv>, Option<UnderlayEnv>) {
    let central = CentralEnv::new(dir.join("central"), None);
    let underlay = (count > 1).then(|| UnderlayEnv {
        netns: UNDERLAY_NETNS.to_string(),
        bridge: UNDERLAY_BRIDGE.to_string(),
        subnet: UNDERLAY_SUBNET,
        switch: HostEnv::physical_switch(dir, UNDERLAY_NETNS),
    });
    let mut hosts: Vec<HostEnv> = (1..=count)
        .map(|index| {
            let mut host = HostEnv::new(dir, index);
            host.sb_remote = central.sb.remote();
            host.nb_remote = central.nb.remote();
            if index == 1 {
                // dockerd finds host1's driver where it looks for plugins.
                host.driver.socket = PathBuf::from(PLUGIN_SOCKET);
                host.driver.ovs_socket = PathBuf::from(OVS_PLUGIN_SOCKET);
                host.driver.pidfile = dir.join("driver.pid");
                host.driver.log = dir.join("driver.log");
                host.driver.extra_args = vec!["--metrics-listen".into(), METRICS_LISTEN.into()];
            } else {
                host.netns = Some(format!("dovn-{}", host.name));
            }
            if let Some(underlay) = &underlay {
                host.uplink = Some(local_uplink(index, underlay));
                host.encap_ip = underlay_address(index, underlay).addr().to_string();
                host.host_cidr = Some(host_cidr(index));
            }
            host
        })
        .collect();
    let peers: Vec<String> = hosts
        .iter()
        .filter_map(|h| Some(format!("{}={}", h.encap_ip, h.host_cidr?)))
        .collect();
    for host in &mut hosts {
        host.peers = peers.clone();
    }
    (Some(central), hosts, underlay)
}

/// Host `index`'s part of routed `-d ovs` networks: `10.230.<index>.0/24`.
fn host_cidr(index: usize) -> Ipv4Net {
    let third = u8::try_from(index).unwrap_or(u8::MAX);
    Ipv4Net::new(Ipv4Addr::new(10, 230, third, 0), 24).unwrap_or(UNDERLAY_SUBNET)
}

/// Host `index`'s address on the local underlay: `.(10 + index)`.
fn underlay_address(index: usize, underlay: &UnderlayEnv) -> Ipv4Net {
    let base = u32::from(underlay.subnet.network());
    let offset = u32::try_from(10 + index).unwrap_or(u32::MAX);
    let addr = Ipv4Addr::from(base.saturating_add(offset));
    Ipv4Net::new(addr, underlay.subnet.prefix_len()).unwrap_or(underlay.subnet)
}

fn local_uplink(index: usize, underlay: &UnderlayEnv) -> UplinkEnv {
    UplinkEnv {
        // Both names are unique in the root namespace too (host1's end is there).
        device: format!("dovn-upl{index}"),
        underlay_peer: Some(format!("dovn-h{index}")),
        address: underlay_address(index, underlay),
        bridge: PHY_BRIDGE.to_string(),
    }
}

fn remote_host(dir: &Path, remote: &RemoteHost) -> HostEnv {
    let mut host = HostEnv::new(dir, 1);
    host.system_id = remote.system_id.clone();
    host.encap_ip = remote.encap.addr().to_string();
    host.uplink = Some(UplinkEnv {
        device: remote.uplink.clone(),
        underlay_peer: None,
        address: remote.encap,
        bridge: PHY_BRIDGE.to_string(),
    });
    host.sb_remote = format!("tcp:{}:{SB_PORT}", remote.central_ip);
    host.nb_remote = format!("tcp:{}:{NB_PORT}", remote.central_ip);
    host.driver.socket = PathBuf::from(PLUGIN_SOCKET);
    host.driver.ovs_socket = PathBuf::from(OVS_PLUGIN_SOCKET);
    host
}

impl LabEnv {
    /// The host in this namespace, where dockerd runs (if the lab has hosts).
    pub fn first_host(&self) -> Option<&HostEnv> {
        self.hosts.first()
    }

    /// Whether this lab runs Docker at all (a central alone does not).
    pub fn has_docker_host(&self) -> bool {
        self.hosts.iter().any(HostEnv::runs_docker)
    }

    /// `<dir>/lab.env`.
    pub fn env_file(&self) -> PathBuf {
        self.dir.join(super::env_file::ENV_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_directory() {
        let env = lab_env(Path::new("/tmp/lab"));
        let central = env.central.as_ref().expect("a local lab has a central");
        assert_eq!(central.nb.remote(), "unix:/tmp/lab/central/ovnnb_db.sock");
        assert_eq!(central.nb.db, Path::new("/tmp/lab/central/ovnnb_db.db"));
        assert_eq!(
            central.sb.socket,
            Path::new("/tmp/lab/central/ovnsb_db.sock")
        );
        let host = env.first_host().expect("host1");
        assert_eq!(host.ovsdb.remote(), "unix:/tmp/lab/host1/ovs/db.sock");
        assert_eq!(host.ovsdb.db, Path::new("/tmp/lab/host1/ovs/conf.db"));
        assert_eq!(
            host.bridge_mgmt(),
            Path::new("/tmp/lab/host1/ovs/br-int.mgmt")
        );
        assert_eq!(
            host.controller.pidfile,
            Path::new("/tmp/lab/host1/ovn/ovn-controller.pid")
        );
        assert_eq!(
            env.docker.dockerd_pidfile,
            Path::new("/tmp/lab/docker/dockerd.pid")
        );
        assert_eq!(host.driver.log, Path::new("/tmp/lab/driver.log"));
        assert_eq!(env.env_file(), Path::new("/tmp/lab/lab.env"));
    }

    #[test]
    fn one_host_is_the_single_host_lab() {
        let env = lab_env(Path::new("/tmp/lab"));
        assert_eq!(env.hosts.len(), 1);
        assert_eq!(env.underlay, None);
        let host = &env.hosts[0];
        assert_eq!((host.netns.as_deref(), host.uplink.as_ref()), (None, None));
        assert_eq!(host.encap_ip, "127.0.0.1");
        assert_eq!(host.driver.socket, Path::new(PLUGIN_SOCKET));
    }

    #[test]
    fn several_hosts_get_namespaces_and_underlay_addresses() {
        let env = lab_env_with(Path::new("/tmp/lab"), Layout::Local { hosts: 3 });
        assert_eq!(
            env.underlay.as_ref().map(|u| u.netns.as_str()),
            Some("dovn-underlay")
        );
        let host1 = &env.hosts[0];
        assert_eq!(host1.netns, None);
        assert_eq!(host1.encap_ip, "172.31.250.11");
        let host3 = &env.hosts[2];
        assert_eq!(host3.netns.as_deref(), Some("dovn-host3"));
        assert_eq!(host3.system_id, "lab-host3");
        assert_eq!(host3.encap_ip, "172.31.250.13");
        let uplink = host3.uplink.as_ref().expect("uplink");
        assert_eq!(uplink.address.to_string(), "172.31.250.13/24");
        assert_eq!(uplink.device, "dovn-upl3");
        assert_eq!(uplink.underlay_peer.as_deref(), Some("dovn-h3"));
        assert_eq!(host3.driver.socket, Path::new("/tmp/lab/host3/ovn.sock"));
        assert_eq!(host3.sb_remote, "unix:/tmp/lab/central/ovnsb_db.sock");
        assert!(host1.runs_docker() && !host3.runs_docker());
    }

    #[test]
    fn a_provisioned_host_points_at_the_central_over_tcp() {
        let layout = Layout::Host(RemoteHost {
            central_ip: Ipv4Addr::new(192, 168, 56, 10),
            system_id: "host1".into(),
            encap: "192.168.56.11/24".parse().expect("cidr"),
            uplink: "eth1".into(),
        });
        let env = lab_env_with(Path::new("/tmp/lab"), layout);
        assert_eq!(env.central, None);
        let host = &env.hosts[0];
        assert_eq!(host.sb_remote, "tcp:192.168.56.10:6642");
        assert_eq!(host.nb_remote, "tcp:192.168.56.10:6641");
        assert_eq!(host.encap_ip, "192.168.56.11");
        assert_eq!(
            host.uplink.as_ref().map(|u| u.underlay_peer.is_none()),
            Some(true)
        );
        let central = lab_env_with(
            Path::new("/tmp/lab"),
            Layout::Central {
                listen_ip: Ipv4Addr::new(192, 168, 56, 10),
            },
        );
        assert!(central.hosts.is_empty() && !central.has_docker_host());
    }
}
