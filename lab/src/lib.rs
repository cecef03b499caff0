//! The lab: a complete docker-ovn setup on this machine, started by
//! `docker-ovn-lab up [--hosts N]` and removed by `docker-ovn-lab down`; and
//! the same steps for one machine of a multi-machine setup,
//! `docker-ovn-lab provision central|host` (what the Vagrant VMs run).
//!
//! A crate of its own so that the driver (`docker-ovn`) links nothing of
//! it: the lab installs packages and starts daemons, the driver never does.
//! The lab starts the driver binary built beside it. The end-to-end tests
//! read a running lab through this crate's [`env_file`], call drivers with
//! its [`plugin_client`] and wire sandboxes with its [`sandbox`]
//! (`test-support` wraps them).
//!
//! What it is: an OVN central (Northbound and Southbound `ovsdb-server`s and
//! `ovn-northd`), N hosts (each its own `ovsdb-server`, `ovs-vswitchd` on
//! the userspace datapath, the integration bridge `br-int`,
//! `ovn-controller` and `docker-ovn serve`), Docker on host1 (an already
//! running dockerd, or containerd and dockerd started here) and a busybox
//! test image. host1 lives in this network namespace, where dockerd finds
//! its driver; hosts 2..N each live in a namespace `dovn-hostK`, their
//! drivers on `<dir>/hostK/ovn.sock`. With more than one host, each has a
//! veth to an underlay bridge (in the namespace `dovn-underlay`) as the
//! port of its OVS bridge `br-phy`, which holds the host's Geneve endpoint
//! 172.31.250.(10+K)/24. Every daemon runs from its own directory under the
//! lab directory, with its own pidfile and log; `lab.env` there names the
//! sockets and records the layout. `up` is idempotent: a part whose pidfile
//! names a live process of the expected program is left alone. `down`
//! stops only what the lab started, by pid, and deletes the namespaces,
//! veths and tap devices it made.
//!
//! What it is not: a production installation (no systemd units, no
//! system OVS/OVN: /var/run/openvswitch and /var/run/ovn are never used).
//!
//! Modules, in the order `up` uses them:
//! - [`lifecycle`]: the options of `up` and `down`, the order of the parts.
//! - [`provision`]: `lab provision central|host`, one machine's part.
//! - [`env`]: every path and address, derived from the directory and layout.
//! - [`env_file`]: `lab.env`, written by `up`, read back by `down`.
//! - [`packages`]: required programs and the Debian packages that bring them.
//! - [`cmd`]: running programs with deadlines, polling, log tails.
//! - [`process`]: daemons: start, pidfiles, is-it-ours, stop by pid.
//! - [`ovsdb`]: one standalone `ovsdb-server`.
//! - [`central`]: NB, SB and northd.
//! - [`underlay`]: host namespaces, the underlay bridge and its veths.
//! - [`host`]: OVS, the integration bridge and ovn-controller of one host.
//! - [`uplink`]: `br-phy`, the uplink port and the tunnel endpoint address.
//! - [`vlan_switch`]: the physical switch of several hosts (an Open vSwitch
//!   in the underlay's namespace), the hosts' trunks to it, the underlay
//!   uplinked to it as `physnet1`, and the outside hosts (untagged, on
//!   VLANs 100 and 200).
//! - [`offload`]: checksum offload where TCP crosses the userspace datapath.
//! - [`taps`]: the userspace datapath's tap devices.
//! - [`docker`]: reusing or starting containerd and dockerd.
//! - [`image`]: the `docker-ovn/busybox` test image.
//! - [`driver`]: `docker-ovn serve` of each host.
//! - [`nested_vm`]: `up --nested`, a VM on host1 whose NIC is a logical
//!   port, with its own Open vSwitch and driver, for nested containers.
//! - [`demo`]: a network, two containers and a ping, on host1.
//! - [`cross_host_demo`]: with several hosts, one network across them all;
//!   [`ovs_cross_host_demo`]: the same without OVN, one `-d ovs` VXLAN network.
//!   [`provider_demo`]: its provider network, on the physical network.
//! - [`remote_endpoint`]: dockerd's plugin calls, for hosts without dockerd.
//! - [`plugin_client`]: HTTP calls to a driver's plugin socket, as dockerd makes them.
//! - [`sandbox`]: a namespace wired as libnetwork wires a container's.
//! - [`shared_demo`]: the provisioned hosts' demo across machines.
//! - [`summary`]: what `up` prints at the end.

mod central;
mod cmd;
mod cross_host_demo;
mod demo;
mod docker;
mod driver;
pub mod env;
pub mod env_file;
mod host;
mod image;
mod lifecycle;
pub mod nested_vm;
mod offload;
mod ovs_cross_host_demo;
mod ovsdb;
mod packages;
pub mod plugin_client;
mod process;
mod provider_demo;
mod provision;
mod remote_endpoint;
pub mod sandbox;
pub(crate) mod shared_demo;
mod stale;
mod summary;
pub mod taps;
mod underlay;
mod uplink;
mod vlan_switch;

pub use env::{LabEnv, lab_env};
pub use lifecycle::{DownOptions, UpOptions, down, up};
pub use provision::{ProvisionOptions, provision};

/// `docker-ovn-lab ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LabCommand {
    /// Start the lab (idempotent); `--hosts N` for several hosts, `--demo`
    /// also runs the demo.
    Up(UpOptions),
    /// Stop what `lab up` or `lab provision` started and remove what it made.
    Down(DownOptions),
    /// Set this machine up as the OVN central or as one Docker host of a
    /// multi-machine setup (the Vagrant VMs).
    Provision(ProvisionOptions),
}

/// Runs a `docker-ovn-lab` subcommand.
pub fn run(command: &LabCommand) -> anyhow::Result<()> {
    match command {
        LabCommand::Up(options) => up(options),
        LabCommand::Down(options) => down(options),
        LabCommand::Provision(options) => provision(options),
    }
}
