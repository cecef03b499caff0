//! `lab up --nested`: a VM on host1 for OVN's nested containers. The VM
//! is the namespace `dovn-vm1` with an Open vSwitch of its own (no
//! ovn-controller: a VM on OVN has none), the bridge `br-vm` in `NORMAL`
//! mode, and its NIC `eth0`, a port of `br-vm` that trunks every VLAN;
//! the NIC's peer `dovn-vm1-nic` is a port of host1's `br-int` bound to
//! the logical switch port `vm1` (on the lab's switch `lab-vms`), as a
//! hypervisor would plug a VM. The VM's own driver serves
//! `--nested-parent vm1 --vm-bridge br-vm` on `<lab>/vm1/ovn.sock`.

use std::path::Path;

use anyhow::{Context, bail};

use super::cmd::say;
use super::env::{HostEnv, LabEnv};
use super::shared_demo::nbctl;
use super::underlay::{delete_netns, ensure_netns, ensure_veth_pair, ip, link_exists};
use super::{driver, host};

/// The VM's name: its directory, its logical switch port, `system-id`
/// `lab-vm1`.
pub const VM: &str = "vm1";
pub const VM_NETNS: &str = "dovn-vm1";
pub const VM_BRIDGE: &str = "br-vm";
/// The logical switch of the VMs' own ports, the lab's (not the driver's).
pub const VM_SWITCH: &str = "lab-vms";
/// The NIC's two ends: on host1's `br-int`, and in the VM.
const NIC: (&str, &str) = ("dovn-vm1-nic", "eth0");

/// The VM of this lab: in a lab with OVN and a host1.
pub fn vm_of(env: &LabEnv) -> Option<HostEnv> {
    let host1 = env
        .hosts
        .first()
        .filter(|h| h.has_ovn() && h.netns.is_none())?;
    let mut vm = HostEnv::nested_vm(&env.dir, VM, VM_NETNS, VM_BRIDGE, host1.nb_remote.clone());
    vm.driver.extra_args = ["--nested-parent", VM, "--vm-bridge", VM_BRIDGE, "--no-ovs"]
        .map(String::from)
        .to_vec();
    Some(vm)
}

/// Starts what of the VM is missing; its driver too unless `binary` is
/// `None`.
pub fn start(env: &LabEnv, binary: Option<&Path>) -> anyhow::Result<()> {
    let (Some(vm), Some(host1)) = (vm_of(env), env.hosts.first()) else {
        bail!("--nested needs a lab with OVN (not --no-ovn)");
    };
    ensure_netns(VM_NETNS)?;
    ip(Some(VM_NETNS), &["link", "set", "lo", "up"])?;
    host::start(&vm)?;
    let mut args = host::netdev_bridge(VM_BRIDGE);
    args.push("fail_mode=standalone".to_string());
    host::vsctl(&vm, &args).context("vm1: creating br-vm")?;
    plug_nic(&vm, host1)?;
    nbctl(host1, &["--may-exist", "ls-add", VM_SWITCH])?;
    nbctl(
        host1,
        &[
            "--may-exist",
            "lsp-add",
            VM_SWITCH,
            VM,
            "--",
            "lsp-set-addresses",
            VM,
            "unknown",
        ],
    )?;
    say(format!(
        "{VM}: a VM in namespace {VM_NETNS} (bridge {VM_BRIDGE}, NIC {} on host1's br-int as \
         logical port {VM} of {VM_SWITCH})",
        NIC.1
    ));
    if let Some(binary) = binary {
        driver::start(&vm, binary)?;
    }
    Ok(())
}

/// The VM's NIC: a veth pair, the VM's end a trunk of `br-vm`, host1's a
/// port of `br-int` bound to logical port `vm1`.
fn plug_nic(vm: &HostEnv, host1: &HostEnv) -> anyhow::Result<()> {
    let (outer, inner) = NIC;
    ensure_veth_pair((None, outer), (Some(VM_NETNS), inner))?;
    let trunk = ["--may-exist", "add-port", VM_BRIDGE, inner];
    host::vsctl(vm, &trunk.map(String::from)).context("vm1: its NIC on br-vm")?;
    let bound = format!("external_ids:iface-id={VM}");
    let plug = [
        "--may-exist",
        "add-port",
        &host1.bridge,
        outer,
        "--",
        "set",
        "Interface",
        outer,
        &bound,
    ];
    host::vsctl(host1, &plug.map(String::from)).context("host1: the VM's NIC on br-int")?;
    Ok(())
}

/// Stops the VM's driver and Open vSwitch and removes the VM, its NIC
/// and its logical port; nothing to do for a lab without one.
pub fn stop(env: &LabEnv) -> anyhow::Result<()> {
    let Some(vm) = vm_of(env).filter(|vm| vm.dir.exists()) else {
        return Ok(());
    };
    driver::stop(&vm)?;
    host::stop(&vm)?;
    if let Some(host1) = env.hosts.first() {
        // host1's database and the central may be gone already: best effort.
        let unplug = ["--if-exists", "del-port", &host1.bridge, NIC.0];
        let _ = host::vsctl(host1, &unplug.map(String::from));
        let _ = nbctl(host1, &["--if-exists", "ls-del", VM_SWITCH]);
    }
    delete_netns(VM_NETNS)?;
    if link_exists(None, NIC.0) {
        ip(None, &["link", "del", NIC.0])?;
    }
    std::fs::remove_dir_all(&vm.dir).with_context(|| vm.dir.display().to_string())
}
