//! `docker run --rm` on an `ovn` network against Docker's built-in
//! `bridge` network, through the lab's dockerd, runs interleaved so that
//! any drift of the machine hits all alike. An `--internal` `ovn` network
//! shows what Docker's `docker_gwbridge` (the outside access it adds to a
//! non-internal network of a remote driver) costs. A `-d ovs` network
//! runs beside them.

use std::time::{Duration, Instant};

use anyhow::bail;
use test_support::docker;

use crate::stats::Samples;
use crate::sweep::{DOCKER_NETWORK, DOCKER_NETWORK_INTERNAL, DOCKER_NETWORK_OVS};

/// The lab's image (`docker-ovn-lab up` imports it; lab/src/image.rs).
const IMAGE: &str = "docker-ovn/busybox:latest";

/// The networks, in the order of the samples [`measure`] returns.
const NETWORKS: [&str; 4] = [
    DOCKER_NETWORK,
    DOCKER_NETWORK_INTERNAL,
    "bridge",
    DOCKER_NETWORK_OVS,
];

/// `runs` containers on each network; their times on `ovn`, on an
/// internal `ovn` network, on `bridge` and on `ovs`.
pub fn measure(runs: usize) -> anyhow::Result<[Samples; 4]> {
    let create = |driver: &str, name: &str, subnet: &str, extra: &[&str]| {
        let mut args = vec!["network", "create", "-d", driver, "--subnet", subnet];
        args.extend_from_slice(extra);
        args.push(name);
        docker_checked(&args)
    };
    create("ovn", DOCKER_NETWORK, "10.245.0.0/24", &[])?;
    create(
        "ovn",
        DOCKER_NETWORK_INTERNAL,
        "10.245.1.0/24",
        &["--internal"],
    )?;
    create("ovs", DOCKER_NETWORK_OVS, "10.245.2.0/24", &[])?;
    let measured = interleaved(runs);
    let removed = docker_checked(&[
        "network",
        "rm",
        DOCKER_NETWORK,
        DOCKER_NETWORK_INTERNAL,
        DOCKER_NETWORK_OVS,
    ]);
    let measured = measured?;
    removed?;
    Ok(measured)
}

fn interleaved(runs: usize) -> anyhow::Result<[Samples; 4]> {
    let mut times: [Vec<Duration>; 4] = Default::default();
    // Round 0 is not counted: image and network state warm for all.
    for round in 0..=runs {
        for (network, times) in NETWORKS.iter().zip(times.iter_mut()) {
            let time = run_once(network)?;
            if round > 0 {
                times.push(time);
            }
        }
    }
    Ok(times.map(Samples::new))
}

/// One `docker run --rm` of a container that exits at once.
fn run_once(network: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    docker_checked(&["run", "--rm", "--network", network, IMAGE, "true"])?;
    Ok(start.elapsed())
}

/// Debian's docker client (test-support picks it), failing with its stderr.
fn docker_checked(args: &[&str]) -> anyhow::Result<()> {
    let output = docker(args);
    if !output.status.success() {
        bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
