//! Time until a new endpoint passes traffic: from the start of Join until
//! the first ping answered from a sandbox namespace (wired as libnetwork
//! wires a container's) to another endpoint of the network.

use std::time::{Duration, Instant};

use test_support::Sandbox;

use crate::plugin::{Driver, Endpoint};
use crate::stats::Samples;
use crate::sweep::run_ok;

/// Names of the sandbox namespaces the benchmark makes.
pub const NETNS_PREFIX: &str = "be0c-";

/// An endpoint in a sandbox that new endpoints ping.
pub struct Peer<'a> {
    driver: &'a Driver,
    endpoint: Endpoint,
    _sandbox: Sandbox,
}

/// What one probe measured.
#[derive(Debug, Clone, Copy)]
pub struct FirstPing {
    /// From the start of Join to the first reply.
    pub after_join_start: Duration,
    /// From Join's reply to the first reply.
    pub after_join_reply: Duration,
}

impl<'a> Peer<'a> {
    pub fn new(driver: &'a Driver) -> anyhow::Result<Peer<'a>> {
        let endpoint = driver.create_endpoint()?;
        let src = driver.join(&endpoint)?;
        let sandbox = Sandbox::new(&format!("{NETNS_PREFIX}{}-peer", driver.name));
        sandbox.attach(None, &src, &endpoint.address, None);
        Ok(Peer {
            driver,
            endpoint,
            _sandbox: sandbox,
        })
    }

    /// `count` probes; the two times of each.
    pub fn measure(&self, count: usize) -> anyhow::Result<(Samples, Samples)> {
        let probes = (0..count)
            .map(|index| self.probe(index))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((
            Samples::new(probes.iter().map(|p| p.after_join_start).collect()),
            Samples::new(probes.iter().map(|p| p.after_join_reply).collect()),
        ))
    }

    fn probe(&self, index: usize) -> anyhow::Result<FirstPing> {
        let endpoint = self.driver.create_endpoint()?;
        let sandbox = Sandbox::new(&format!("{NETNS_PREFIX}{}-{index}", self.driver.name));
        let start = Instant::now();
        let src = self.driver.join(&endpoint)?;
        let joined = Instant::now();
        sandbox.attach(None, &src, &endpoint.address, None);
        let target = self.endpoint.address.split('/').next().unwrap_or_default();
        // Every 10 ms until the first reply, for at most 10 s.
        let pinged = run_ok(
            "ip",
            &[
                "netns",
                "exec",
                &sandbox.name,
                "ping",
                "-n",
                "-q",
                "-c1",
                "-i0.01",
                "-w10",
                target,
            ],
        );
        let answered = Instant::now();
        // Leave takes the veth, and with it the sandbox's end.
        self.driver.leave(&endpoint)?;
        self.driver.delete_endpoint(&endpoint)?;
        pinged?;
        Ok(FirstPing {
            after_join_start: answered - start,
            after_join_reply: answered - joined,
        })
    }

    /// Removes the peer endpoint (its namespace goes when dropped).
    pub fn remove(self) -> anyhow::Result<()> {
        self.driver.leave(&self.endpoint)?;
        self.driver.delete_endpoint(&self.endpoint)
    }
}
