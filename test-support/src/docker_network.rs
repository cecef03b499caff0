//! Docker networks on the `ovn` and `ovs` drivers and their containers, for tests
//! with the lab's real dockerd: removed when dropped, even when the test
//! failed.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::lab::{Lab, docker, docker_ok};
use crate::leftovers::{Removed, assert_clean};

/// The busybox image `docker-ovn-lab up` builds.
pub const IMAGE: &str = "docker-ovn/busybox";

/// A Docker network of docker-ovn's and the containers started on it.
pub struct DockerNetwork {
    pub name: String,
    pub id: String,
    containers: Vec<String>,
}

impl DockerNetwork {
    /// `docker network create -d ovn EXTRA... NAME`, after removing any
    /// network of that name a failed run left.
    pub fn create(name: &str, extra: &[&str]) -> DockerNetwork {
        DockerNetwork::create_on("ovn", name, extra)
    }

    /// `docker network create -d DRIVER EXTRA... NAME` (`ovn` or `ovs`),
    /// after removing any network of that name a failed run left.
    pub fn create_on(driver: &str, name: &str, extra: &[&str]) -> DockerNetwork {
        let _ = docker(&["network", "rm", name]);
        let mut args = vec!["network", "create", "-d", driver];
        args.extend_from_slice(extra);
        args.push(name);
        let id = docker_ok(&args);
        DockerNetwork {
            name: name.to_string(),
            id,
            containers: Vec::new(),
        }
    }

    /// The network `name`, made some other way, to remove when dropped.
    pub fn adopt_network(name: &str) -> DockerNetwork {
        DockerNetwork {
            name: name.to_string(),
            id: docker_ok(&["network", "inspect", "-f", "{{.Id}}", name]),
            containers: Vec::new(),
        }
    }

    /// Starts a detached `sleep` container on this network.
    pub fn run(&mut self, container: &str, extra: &[&str]) -> String {
        let _ = docker(&["rm", "-f", container]);
        let mut args = vec!["run", "-d", "--name", container, "--network", &self.name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sleep", "3600"]);
        docker_ok(&args);
        self.adopt(container);
        container.to_string()
    }

    /// Removes `container` with the network (one started some other way).
    pub fn adopt(&mut self, container: &str) {
        self.containers.push(container.to_string());
    }

    /// Removes the containers and the network now, insisting that Docker
    /// succeeds; the checks after it can then look for leftovers.
    ///
    /// One container at a time: dockerd 20.10 can lose count of a
    /// network's endpoints when several are released at once (`docker rm
    /// -f a b c` removes in parallel), and `docker network rm` then fails
    /// with "has active endpoints" until dockerd restarts (docs/design.md,
    /// "dockerd 20.10 loses count").
    pub fn remove(mut self) {
        for container in &self.containers {
            docker_ok(&["rm", "-f", container]);
        }
        self.containers.clear();
        docker_ok(&["network", "rm", &self.name]);
    }

    /// [`DockerNetwork::remove`], then insists that no logical switch,
    /// logical switch port, OVS port or veth of the network and of
    /// `endpoints` is left on any host of the lab.
    pub fn remove_leaving_nothing(self, lab: &Lab, endpoints: &[String]) {
        let networks = [self.id.clone()];
        self.remove();
        let removed = Removed {
            networks: &networks,
            endpoints,
            networks_removed: true,
        };
        assert_clean(lab, &removed);
    }

    /// The container's IPv4 address on this network.
    pub fn address(&self, container: &str) -> String {
        endpoint_field(container, &self.name, "IPAddress")
    }

    /// The container's endpoint id on this network.
    pub fn endpoint(&self, container: &str) -> String {
        endpoint_field(container, &self.name, "EndpointID")
    }
}

impl Drop for DockerNetwork {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = docker(&["rm", "-f", container]);
        }
        // Containers of other tests' networks may still be connected.
        let format = "{{range .Containers}}{{.Name}} {{end}}";
        let attached = docker(&["network", "inspect", "-f", format, &self.name]);
        for container in String::from_utf8_lossy(&attached.stdout).split_whitespace() {
            let _ = docker(&["network", "disconnect", "-f", &self.name, container]);
        }
        let _ = docker(&["network", "rm", &self.name]);
    }
}

/// `.NetworkSettings.Networks.<network>.<field>` of a container.
pub fn endpoint_field(container: &str, network: &str, field: &str) -> String {
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").{field}}}}}");
    docker_ok(&["inspect", "-f", &format, container])
}

/// Retries `attempt` until it succeeds; panics with its last output once
/// `timeout` has passed.
pub fn eventually(what: &str, timeout: Duration, mut attempt: impl FnMut() -> Output) {
    let deadline = Instant::now() + timeout;
    loop {
        let output = attempt();
        if output.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: failed for {} s: {}{}",
            timeout.as_secs(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `condition` until it holds; panics naming `what` once `timeout`
/// has passed.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {} s for {what}",
            timeout.as_secs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `docker exec CONTAINER COMMAND...`, insisting that it succeeds; its
/// stdout, trimmed.
pub fn exec_ok(container: &str, command: &[&str]) -> String {
    let mut args = vec!["exec", container];
    args.extend_from_slice(command);
    docker_ok(&args)
}

/// A one-shot container on `network` whose first command pings `target`:
/// it must succeed at once, so the port was ready when the container
/// started.
pub fn first_command_pings(network: &str, target: &str) {
    let output = docker(&[
        "run",
        "--rm",
        "--network",
        network,
        IMAGE,
        "ping",
        "-c1",
        "-W1",
        target,
    ]);
    assert!(
        output.status.success(),
        "the first ping of a new container on {network} to {target} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The bytes of a 200 KiB TCP stream from `server` (at `address` on
/// `network`, listening on port 8080) that a new container's `nc`
/// receives, as `wc -c` counts them: `"204800"` when all arrive. The
/// client's stdin stays open: busybox nc quits at EOF on stdin, before
/// the reply.
pub fn tcp_bytes_received(network: &str, server: &str, address: &str) -> String {
    docker_ok(&[
        "exec",
        "-d",
        server,
        "sh",
        "-c",
        "dd if=/dev/zero bs=1024 count=200 2>/dev/null | nc -l -p 8080",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let script = format!("sleep 5 | nc {address} 8080 | wc -c");
    docker_ok(&[
        "run",
        "--rm",
        "--network",
        network,
        IMAGE,
        "sh",
        "-c",
        &script,
    ])
    .trim()
    .to_string()
}

/// `docker exec CONTAINER ping -c1 -W2 TARGET`.
pub fn container_pings(container: &str, target: &str) -> Output {
    docker(&["exec", container, "ping", "-c1", "-W2", target])
}
