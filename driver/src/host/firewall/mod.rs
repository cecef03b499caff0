//! The iptables rules of a gateway: masquerade for traffic leaving the
//! network's subnet, and accept rules that let it through Docker's
//! `FORWARD DROP` policy.
//!
//! Why the `iptables` command and not netlink or an nftables table of our
//! own: Docker (Debian 12: iptables over nf_tables) drops in iptables'
//! `FORWARD` chain, and a packet dropped by one base chain is dropped
//! whatever another table accepts, so the accept rules must sit in that
//! chain's path: Docker's `DOCKER-USER` chain, which it jumps to first and
//! never flushes (plain `FORWARD` where no dockerd runs). Those chains are
//! the `iptables` tool's to edit. It runs once per network create and
//! delete and twice per reconciliation pass (listing), never in an
//! endpoint's call.
//!
//! Every rule carries the comment `docker-ovn-gw:<logical switch>@<host>`:
//! listing, removal and reconciliation touch exactly the rules with the
//! comment of the switch at hand, and only this host's (`system-id`), so
//! drivers of other hosts sharing the kernel's tables (the tests run
//! several) leave each other's rules alone, as they do their veths.

use crate::error::{DriverError, Result};
use crate::names::GATEWAY_INTERFACE_PREFIX;
use ipnet::Ipv4Net;

mod iptables;
pub mod published;

use iptables::exec;
pub use iptables::{Listing, Restore, Rule, comment_safe, parse_rules};

/// The comment prefix of every rule the driver adds.
pub const COMMENT_PREFIX: &str = "docker-ovn-gw:";
/// Docker's chain for rules of its users, jumped to first from FORWARD.
pub const DOCKER_USER: &str = "DOCKER-USER";
const FORWARD: &str = "FORWARD";
const POSTROUTING: &str = "POSTROUTING";
const PREROUTING: &str = "PREROUTING";
/// The host's loopback network.
const LOOPBACK: &str = "127.0.0.0/8";

/// The comment of the rules of `switch`'s gateway on host `host`.
pub fn comment(switch: &str, host: &str) -> String {
    format!("{COMMENT_PREFIX}{switch}@{}", comment_safe(host))
}

/// `command` failed because `program` is not installed.
fn not_installed(program: &str, command: String) -> DriverError {
    DriverError::Firewall {
        command,
        reason: format!("{program} is not installed (Debian package iptables)"),
    }
}

/// A rule's words, owned.
fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// What a gateway needs: its switch, port and subnet.
#[derive(Debug, Clone, Copy)]
pub struct GatewayRules<'a> {
    pub switch: &'a str,
    /// This host's `system-id`, in the comment.
    pub host: &'a str,
    pub interface: &'a str,
    pub subnet: Ipv4Net,
    /// For a network of direct routing, the subnets routed to it
    /// unmasqueraded and let in (its parts on the peers); anything else
    /// going in that is not a reply is dropped, whatever the `FORWARD`
    /// policy (a host without dockerd has no `DROP` policy). `None` for
    /// every other network.
    pub routed_peers: Option<&'a [Ipv4Net]>,
}

impl GatewayRules<'_> {
    /// (table, spec) of each rule, without the chain (`nat`: POSTROUTING,
    /// `raw`: PREROUTING, `filter`: the forward chain); the rules of each
    /// table in the order they must have in their chain.
    fn wanted(&self) -> Vec<(&'static str, Vec<String>)> {
        let comment = comment(self.switch, self.host);
        let tagged = |words: &Vec<String>| -> Vec<String> {
            let mut spec = words.clone();
            let target = spec.split_off(spec.len() - 2);
            spec.extend(["-m", "comment", "--comment", &comment].map(String::from));
            spec.extend(target);
            spec
        };
        let mut wanted: Vec<(&'static str, Vec<String>)> = Vec::new();
        wanted.extend(self.nat_rules().iter().map(|r| ("nat", tagged(r))));
        wanted.extend(self.filter_rules().iter().map(|r| ("filter", tagged(r))));
        // Published ports reach 127.0.0.1 through the gateway device
        // (`route_localnet`, see [`published`]); nothing else may: a
        // container's packet to the host's loopback is dropped before
        // routing, as a kernel without `route_localnet` would.
        let loopback = words(&["-d", LOOPBACK, "-i", self.interface, "-j", "DROP"]);
        wanted.push(("raw", tagged(&loopback)));
        wanted
    }

    /// POSTROUTING: routed peers' parts as they are (RETURN before the
    /// masquerade), the rest leaving masqueraded; a published port's
    /// connection from the network itself (hairpin) or from the host's
    /// loopback masqueraded to the gateway, so that the reply comes back
    /// through the host to be translated.
    fn nat_rules(&self) -> Vec<Vec<String>> {
        let (subnet, interface) = (self.subnet.to_string(), self.interface);
        let routed = self.routed_peers.unwrap_or_default();
        let mut rules: Vec<Vec<String>> = routed
            .iter()
            .map(|peer| words(&["-s", &subnet, "-d", &peer.to_string(), "-j", "RETURN"]))
            .collect();
        rules.extend([
            words(&["-s", &subnet, "!", "-o", interface, "-j", "MASQUERADE"]),
            words(&[
                "-s",
                &subnet,
                "-o",
                interface,
                "-m",
                "conntrack",
                "--ctstate",
                "DNAT",
                "-j",
                "MASQUERADE",
            ]),
            words(&["-s", LOOPBACK, "-o", interface, "-j", "MASQUERADE"]),
        ]);
        rules
    }

    /// The forward chain: published ports' connections (DNAT) let through
    /// both ways first, before the drop that keeps networks apart (a
    /// container of another network reaches a published port, as on
    /// Docker's bridge); then what leaves, replies, and for a routed
    /// network the peers' parts and a drop of the rest.
    fn filter_rules(&self) -> Vec<Vec<String>> {
        let interface = self.interface;
        let gateways = format!("{GATEWAY_INTERFACE_PREFIX}+");
        let conntrack = |direction: &str, state: &str| {
            words(&[
                direction,
                interface,
                "-m",
                "conntrack",
                "--ctstate",
                state,
                "-j",
                "ACCEPT",
            ])
        };
        let mut rules = vec![
            conntrack("-o", "DNAT"),
            conntrack("-i", "DNAT"),
            // The host routes between its gateway ports: without this
            // drop one network reaches another's containers.
            words(&["-i", interface, "-o", &gateways, "-j", "DROP"]),
            words(&["-i", interface, "-j", "ACCEPT"]),
            conntrack("-o", "RELATED,ESTABLISHED"),
        ];
        let routed = self.routed_peers.unwrap_or_default();
        rules.extend(
            routed
                .iter()
                .map(|peer| words(&["-s", &peer.to_string(), "-o", interface, "-j", "ACCEPT"])),
        );
        if self.routed_peers.is_some() {
            rules.push(words(&["-o", interface, "-j", "DROP"]));
        }
        rules
    }

    /// Whether `present` (the rules of this switch, in `iptables -S`
    /// order) are exactly the ones wanted, the filter ones in their order
    /// (a drop after the accept would isolate nothing). `iptables -S`
    /// prints a rule's words in the order they are given here, so equal
    /// words are the same rule.
    pub fn complete(&self, present: &[&Rule]) -> bool {
        let wanted = self.wanted();
        ["filter", "nat", "raw"].iter().all(|table| {
            let present = present
                .iter()
                .filter(|r| r.table == *table)
                .map(|r| &r.spec);
            let wanted = wanted
                .iter()
                .filter(|(t, _)| t == table)
                .map(|(_, spec)| spec);
            present.eq(wanted)
        })
    }
}

/// The `iptables` program, for this host's rules.
#[derive(Debug, Clone)]
pub struct Firewall {
    program: String,
    host: String,
}

impl Firewall {
    /// The rules of host `host` (its `system-id`).
    pub fn new(host: &str) -> Firewall {
        Firewall {
            program: "iptables".into(),
            host: host.to_string(),
        }
    }

    /// Every gateway rule of the driver, and whether Docker's
    /// `DOCKER-USER` exists. Without iptables installed there are none,
    /// and none to remove.
    pub async fn list(&self) -> Result<(Vec<Rule>, bool)> {
        let listing = self.listing().await?;
        let docker_user = listing.docker_user();
        Ok((listing.rules(COMMENT_PREFIX, &self.host), docker_user))
    }

    /// The nat table alone (published ports' DNATs live there), as
    /// `iptables -S` lists it: one command instead of three.
    pub async fn nat_listing(&self) -> Result<Listing> {
        let nat = self.output(&["-w", "-t", "nat", "-S"]).await?;
        Ok(Listing {
            nat: nat.unwrap_or_default(),
            ..Listing::default()
        })
    }

    /// The three tables the driver has rules in, as `iptables -S` lists
    /// them (empty without iptables).
    pub async fn listing(&self) -> Result<Listing> {
        let Some(filter) = self.output(&["-w", "-S"]).await? else {
            return Ok(Listing::default());
        };
        Ok(Listing {
            filter,
            nat: self.run(&["-w", "-t", "nat", "-S"]).await?,
            raw: self.run(&["-w", "-t", "raw", "-S", PREROUTING]).await?,
        })
    }

    /// Makes the rules of `gateway` exactly the wanted ones: nothing if
    /// they are, else the switch's old ones go and all are added. A
    /// failure part way removes what was added.
    pub async fn ensure(&self, gateway: &GatewayRules<'_>) -> Result<bool> {
        let (rules, docker_user) = self.list().await?;
        let ours: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.switch == gateway.switch)
            .collect();
        if gateway.complete(&ours) {
            return Ok(false);
        }
        self.delete_all(&ours).await?;
        let chain = if docker_user { DOCKER_USER } else { FORWARD };
        if let Err(error) = self.insert_all(gateway, chain).await {
            if let Err(undo) = self.remove(gateway.switch).await {
                tracing::error!(switch = gateway.switch, %undo, "rules of a failed gateway left behind");
            }
            return Err(error);
        }
        Ok(true)
    }

    /// All of the gateway's rules in one `iptables-restore`: at the top
    /// of their chains (before Docker's RETURN, any drop of the chain and
    /// Docker's masquerades), in their wanted order.
    async fn insert_all(&self, gateway: &GatewayRules<'_>, chain: &str) -> Result<()> {
        let mut script = Restore::default();
        for (table, spec) in gateway.wanted() {
            let chain = match table {
                "nat" => POSTROUTING,
                "raw" => PREROUTING,
                _ => chain,
            };
            script.insert(table, chain, &spec);
        }
        self.restore(&script).await
    }

    /// Applies `script` with `iptables-restore --noflush`: one call, which
    /// iptables-nft applies as one transaction (the legacy backend, one
    /// per table).
    pub async fn restore(&self, script: &Restore) -> Result<()> {
        let program = format!("{}-restore", self.program);
        let text = script.text();
        let output = exec(&program, &["-w", "--noflush"], Some(&text)).await?;
        output
            .map(drop)
            .ok_or_else(|| not_installed(&program, format!("{program} --noflush")))
    }

    /// Removes every rule of `switch`; `Ok(false)` if there was none.
    pub async fn remove(&self, switch: &str) -> Result<bool> {
        let (rules, _) = self.list().await?;
        let ours: Vec<&Rule> = rules.iter().filter(|r| r.switch == switch).collect();
        self.delete_all(&ours).await?;
        Ok(!ours.is_empty())
    }

    pub(crate) async fn delete_all(&self, rules: &[&Rule]) -> Result<()> {
        for rule in rules {
            let mut args = vec!["-w", "-t", rule.table, "-D", rule.chain.as_str()];
            args.extend(rule.spec.iter().map(String::as_str));
            match self.run(&args).await {
                Ok(_) => {}
                // Someone (a second daemon, an operator) removed it first.
                Err(DriverError::Firewall { reason, .. })
                    if reason.contains("does a matching rule exist") => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn run(&self, args: &[&str]) -> Result<String> {
        self.output(args)
            .await?
            .ok_or_else(|| not_installed(&self.program, args.join(" ")))
    }

    /// The command's stdout; `None` if the program is not installed.
    async fn output(&self, args: &[&str]) -> Result<Option<String>> {
        exec(&self.program, args, None).await
    }
}

#[cfg(test)]
mod tests;
