//! The lab's `-d ovs` bridge on host1 as tests look at it: its flows
//! (the driver's by their cookie mark), packet traces, port numbers and
//! the networks recorded on it, through `ovs-ofctl`, `ovs-appctl` and
//! `ovs-vsctl` (the tests' oracles; the driver runs none of them).

use crate::binaries::tool_ok;
use crate::lab::Lab;

/// The driver's cookie mark and its mask, as `ovs-ofctl` filters take them.
pub const DRIVER_COOKIES: &str = "0xd000000000000000/0xff00000000000000";

/// host1's `-d ovs` bridge.
pub struct LabBridge {
    pub name: String,
    ovs_db: String,
    rundir: String,
}

impl LabBridge {
    /// host1's `br-docker`, the driver's default.
    pub fn of(lab: &Lab) -> LabBridge {
        LabBridge::named(lab, "br-docker")
    }

    /// host1's bridge `name` (a managed plugin's, say).
    pub fn named(lab: &Lab, name: &str) -> LabBridge {
        LabBridge {
            name: name.into(),
            ovs_db: lab.ovs_db(),
            rundir: lab.var("OVS_RUNDIR"),
        }
    }

    fn target(&self) -> String {
        format!("unix:{}/{}.mgmt", self.rundir, self.name)
    }

    /// `ovs-ofctl -O OpenFlow13 COMMAND <bridge> EXTRA...`.
    pub fn ofctl(&self, command: &str, extra: &[&str]) -> String {
        let target = self.target();
        let mut args = vec!["-O", "OpenFlow13", command, target.as_str()];
        args.extend_from_slice(extra);
        tool_ok("ovs-ofctl", &args)
    }

    /// `ovs-ofctl -O OpenFlow13 COMMAND <bridge> EXTRA...`, whatever the
    /// outcome: whether it succeeded (for clean-ups, which must not panic).
    pub fn try_ofctl(&self, command: &str, extra: &[&str]) -> bool {
        std::process::Command::new(crate::require_binary("ovs-ofctl"))
            .args(["-O", "OpenFlow13", command, &self.target()])
            .args(extra)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The flows whose cookie matches `cookie` (`VALUE/MASK`), as
    /// `dump-flows --no-stats` prints them.
    pub fn flows(&self, cookie: &str) -> Vec<String> {
        self.try_flows(cookie)
            .unwrap_or_else(|error| panic!("dump-flows of {}: {error}", self.name))
    }

    /// [`LabBridge::flows`], or why `ovs-ofctl` could not tell (the
    /// switch is restarting, say).
    pub fn try_flows(&self, cookie: &str) -> Result<Vec<String>, String> {
        let target = self.target();
        let filter = format!("cookie={cookie}");
        let output = std::process::Command::new(crate::require_binary("ovs-ofctl"))
            .args([
                "-O",
                "OpenFlow13",
                "dump-flows",
                "--no-stats",
                &target,
                &filter,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.starts_with("OFPST_FLOW"))
            .map(|line| line.trim().to_string())
            .collect())
    }

    /// `ofproto/trace <bridge> FLOW`'s output.
    pub fn trace(&self, flow: &str) -> String {
        let control = format!("{}/ovs-vswitchd.ctl", self.rundir);
        tool_ok(
            "ovs-appctl",
            &["-t", &control, "ofproto/trace", &self.name, flow],
        )
    }

    /// `ovs-vsctl --db=<host1> ARGS...`, trimmed.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.ovs_db);
        let mut all = vec![db.as_str()];
        all.extend_from_slice(args);
        tool_ok("ovs-vsctl", &all).trim().to_string()
    }

    /// The bridge's `external_ids`: the `-d ovs` network records among them.
    pub fn records(&self) -> String {
        self.vsctl(&["get", "Bridge", &self.name, "external_ids"])
    }

    /// The OpenFlow port number of interface `name`.
    pub fn ofport(&self, name: &str) -> u32 {
        let text = self.vsctl(&["get", "Interface", name, "ofport"]);
        text.parse()
            .unwrap_or_else(|_| panic!("ofport of {name}: {text:?}"))
    }

    /// The bridge's record of Docker network `network`, if any.
    pub fn network_record(&self, network: &str) -> Option<String> {
        let key = format!("external_ids:\"docker-ovn:network:{network}\"");
        let db = format!("--db={}", self.ovs_db);
        let output = std::process::Command::new(crate::require_binary("ovs-vsctl"))
            .args([
                db.as_str(),
                "--if-exists",
                "get",
                "Bridge",
                &self.name,
                &key,
            ])
            .output()
            .expect("run ovs-vsctl");
        let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// The network index a record holds (`index=N ...`).
    pub fn network_index(&self, network: &str) -> u16 {
        let record = self
            .network_record(network)
            .unwrap_or_else(|| panic!("no record of network {network} on {}", self.name));
        record
            .trim_matches('"')
            .split(' ')
            .find_map(|f| f.strip_prefix("index="))
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("no index in {record}"))
    }
}
