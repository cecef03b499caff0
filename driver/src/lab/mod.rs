//! The lab: a complete single-host docker-ovn setup on this machine, started
//! by `docker-ovn lab up` and removed by `docker-ovn lab down`.
//!
//! What it is: an OVN central (Northbound and Southbound `ovsdb-server`s and
//! `ovn-northd`), one host (its own `ovsdb-server`, `ovs-vswitchd` on the
//! userspace datapath, the integration bridge `br-int`, `ovn-controller`),
//! Docker (an already running dockerd, or containerd and dockerd started
//! here), a busybox test image, and the driver (`docker-ovn serve`). Every
//! daemon runs from its own directory under the lab directory, with its
//! own pidfile and log; `lab.env` there names the sockets. `up` is
//! idempotent: a part whose pidfile names a live process of the expected
//! program is left alone. `down` stops only what the lab started, by pid,
//! and deletes the tap devices the userspace datapath leaves behind.
//!
//! What it is not: a production installation (no systemd units, no
//! system OVS/OVN: /var/run/openvswitch and /var/run/ovn are never used),
//! nor multi-host yet. The code keeps a host (`env::HostEnv`: name, run
//! directories, optional network namespace) apart from the central so that
//! several hosts in network namespaces can come later.
//!
//! Modules, in the order `up` uses them:
//! - [`lifecycle`]: the command-line options, `up` and `down`.
//! - [`env`]: every path, derived from the lab directory; `lab.env`.
//! - [`packages`]: required programs and the Debian packages that bring them.
//! - [`cmd`]: running programs with deadlines, polling, log tails.
//! - [`process`]: daemons: start, pidfiles, is-it-ours, stop by pid.
//! - [`ovsdb`]: one standalone `ovsdb-server`.
//! - [`central`]: NB, SB and northd.
//! - [`host`]: OVS, the integration bridge and ovn-controller of one host.
//! - [`taps`]: the userspace datapath's tap devices.
//! - [`docker`]: reusing or starting containerd and dockerd.
//! - [`image`]: the `docker-ovn/busybox` test image.
//! - [`driver`]: `docker-ovn serve` on the plugin socket.
//! - [`demo`]: a network, two containers and a ping.
//! - [`summary`]: what `up` prints at the end.

mod central;
mod cmd;
mod demo;
mod docker;
mod driver;
pub mod env;
mod host;
mod image;
mod lifecycle;
mod ovsdb;
mod packages;
mod process;
mod summary;
mod taps;

pub use env::{LabEnv, lab_env, lab_env_from_environment};
pub use lifecycle::{DownOptions, UpOptions, down, up};
