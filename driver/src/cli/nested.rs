//! The flags of a Docker host that is itself a VM whose NIC is an OVN
//! logical switch port (OVN's "nested containers"): `-d ovn` endpoints
//! become child ports of that port, each on a VLAN ovn-northd picks, and
//! their veths access ports of the VM's own OVS bridge, which trunks the
//! NIC. No ovn-controller runs in the VM: the hypervisor's binds the
//! children with their parent.

use crate::cli::serve::DatabaseArgs;
use crate::host::local_switch::LocalSwitch;

/// The Open_vSwitch key that names the VM's port when no flag does.
pub const PARENT_PORT_KEY: &str = "docker-ovn-parent-port";

/// `--nested-parent` and `--vm-bridge` of `serve` and `reconcile`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NestedArgs {
    /// This Docker host is a VM whose NIC is OVN logical switch port PORT:
    /// endpoints become its children [default:
    /// external_ids:docker-ovn-parent-port of the local Open_vSwitch row,
    /// if set].
    #[arg(long, env = "DOCKER_OVN_NESTED_PARENT", value_name = "PORT")]
    pub nested_parent: Option<String>,

    /// The VM's OVS bridge that trunks its NIC: nested endpoints' veths
    /// are its access ports, one VLAN each. Needed with a parent port.
    #[arg(long, env = "DOCKER_OVN_VM_BRIDGE", value_name = "BRIDGE")]
    pub vm_bridge: Option<String>,
}

impl NestedArgs {
    /// `db` with the VM bridge, if given, as the bridge endpoints go on.
    pub fn database(&self, db: &DatabaseArgs) -> DatabaseArgs {
        let mut db = db.clone();
        if let Some(bridge) = &self.vm_bridge {
            db.bridge = bridge.clone();
        }
        db
    }

    /// The VM's logical port when this host is nested, from the flag or
    /// the Open_vSwitch row; refused without the VM bridge, whose absence
    /// would put children on `br-int`, where nothing binds them.
    pub fn parent(&self, ovs: &LocalSwitch) -> anyhow::Result<Option<String>> {
        let parent = self
            .nested_parent
            .clone()
            .or_else(|| ovs.external_id(PARENT_PORT_KEY))
            .filter(|p| !p.is_empty());
        match (&parent, &self.vm_bridge) {
            (Some(parent), None) => anyhow::bail!(
                "nested under VM port {parent}: give --vm-bridge, the VM's OVS bridge that \
                 trunks its NIC"
            ),
            (None, Some(bridge)) => anyhow::bail!(
                "--vm-bridge {bridge} is for a VM's Docker host: give --nested-parent, its \
                 NIC's logical switch port"
            ),
            _ => Ok(parent),
        }
    }
}
