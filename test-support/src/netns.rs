//! Network namespaces standing in for container sandboxes (the lab's
//! [`docker_ovn_lab::sandbox`]) and for "the outside", and `ip`.

use std::process::{Command, Output};

use docker_ovn_lab::sandbox::{self, Attachment};

/// Runs `ip args...` (Debian: iproute2) and returns its output.
pub fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (Debian package iproute2)")
}

/// Runs `ip args...`, panicking with its stderr unless it succeeds.
pub fn ip_ok(args: &[&str]) {
    let output = ip(args);
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A network namespace, deleted when dropped (even if the test failed);
/// made and wired by the lab's [`docker_ovn_lab::sandbox`].
pub struct Sandbox {
    pub name: String,
}

impl Sandbox {
    /// A fresh namespace called `name` (an old one of that name is removed).
    pub fn new(name: &str) -> Sandbox {
        sandbox::remove(name).unwrap_or_else(|e| panic!("remove netns {name}: {e:#}"));
        sandbox::create(name).unwrap_or_else(|e| panic!("create netns {name}: {e:#}"));
        Sandbox {
            name: name.to_string(),
        }
    }

    /// What libnetwork does with Join's answer: moves `src` in from the
    /// namespace `from` (`None`: this one), renames it eth0, sets the MAC
    /// (if given) and address, and brings it up.
    pub fn attach(&self, from: Option<&str>, src: &str, cidr: &str, mac: Option<&str>) {
        self.attach_routed(from, src, cidr, mac, None);
    }

    /// [`Sandbox::attach`] with a default route via `gateway`.
    pub fn attach_routed(
        &self,
        from: Option<&str>,
        src: &str,
        cidr: &str,
        mac: Option<&str>,
        gateway: Option<&str>,
    ) {
        let attachment = Attachment {
            host_netns: from,
            src_name: src,
            address: cidr,
            mac,
            gateway,
        };
        sandbox::attach(&self.name, &attachment)
            .unwrap_or_else(|e| panic!("attach {src} to {}: {e:#}", self.name));
    }

    /// iputils ping from inside (busybox ping lacks `-M do`).
    pub fn ping(&self, target: &str, extra: &[&str]) -> Output {
        let mut args = vec!["netns", "exec", &self.name, "ping", "-c1", "-W2"];
        args.extend_from_slice(extra);
        args.push(target);
        ip(&args)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = sandbox::remove(&self.name);
    }
}

/// "The outside" for egress tests: a namespace of the test's own joined to
/// this one by a veth pair, `PREFIX.1/24` on this side and `PREFIX.2/24`
/// inside, with no route back to anything else (use 198.18.0.0/15, the
/// benchmark range: local only). A packet from a container that is
/// answered from inside was masqueraded to this side's address: the
/// namespace can reach nothing else. Removed (namespace and veth) when
/// dropped, even if the test failed.
pub struct Outside {
    pub ns: Sandbox,
    /// This side of the veth pair.
    pub veth: String,
    /// This side's address (the host's, as the outside sees it).
    pub near: String,
    /// The address inside.
    pub far: String,
}

impl Outside {
    pub fn new(name: &str, prefix: &str) -> Outside {
        let veth = format!("{name}-o");
        let _ = ip(&["link", "del", &veth]);
        let outside = Outside {
            ns: Sandbox::new(name),
            veth,
            near: format!("{prefix}.1"),
            far: format!("{prefix}.2"),
        };
        let (ns, veth) = (outside.ns.name.as_str(), outside.veth.as_str());
        ip_ok(&[
            "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        ip_ok(&["addr", "add", &format!("{}/24", outside.near), "dev", veth]);
        ip_ok(&["link", "set", veth, "up"]);
        ip_ok(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", outside.far),
            "dev",
            "eth0",
        ]);
        ip_ok(&["-n", ns, "link", "set", "eth0", "up"]);
        ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
        outside
    }

    /// The addresses the namespace has resolved (it answered them).
    pub fn neighbours(&self) -> Vec<String> {
        let output = ip(&["-n", &self.ns.name, "neigh", "show"]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.contains("FAILED") && !l.contains("INCOMPLETE"))
            .filter_map(|line| line.split_whitespace().next().map(str::to_string))
            .collect()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        // The namespace's deletion (Sandbox's drop) would take the pair
        // too; deleting this side first makes that certain.
        let _ = ip(&["link", "del", &self.veth]);
    }
}
