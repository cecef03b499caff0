//! `docker run --rm` on an `ovn` network against Docker's built-in
//! `bridge` network, through the lab's dockerd, runs interleaved so that
//! any drift of the machine hits both alike.

use std::time::{Duration, Instant};

use anyhow::bail;
use test_support::docker;

use crate::stats::Samples;
use crate::sweep::DOCKER_NETWORK;

/// The lab's image (`docker-ovn lab up` imports it; driver/src/lab/image.rs).
const IMAGE: &str = "docker-ovn/busybox:latest";
const SUBNET: &str = "10.245.0.0/24";

/// `runs` containers on each network; their times on `ovn` and on `bridge`.
pub fn measure(runs: usize) -> anyhow::Result<(Samples, Samples)> {
    docker_checked(&[
        "network",
        "create",
        "-d",
        "ovn",
        "--subnet",
        SUBNET,
        DOCKER_NETWORK,
    ])?;
    let measured = interleaved(runs);
    let removed = docker_checked(&["network", "rm", DOCKER_NETWORK]);
    let measured = measured?;
    removed?;
    Ok(measured)
}

fn interleaved(runs: usize) -> anyhow::Result<(Samples, Samples)> {
    // One of each first: image and network state warm for both.
    run_once(DOCKER_NETWORK)?;
    run_once("bridge")?;
    let (mut ovn, mut bridge) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ovn.push(run_once(DOCKER_NETWORK)?);
        bridge.push(run_once("bridge")?);
    }
    Ok((Samples::new(ovn), Samples::new(bridge)))
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
