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

use ipnet::Ipv4Net;
use tokio::process::Command;

use crate::error::{DriverError, Result};
use crate::names::GATEWAY_INTERFACE_PREFIX;

/// The comment prefix of every rule the driver adds.
pub const COMMENT_PREFIX: &str = "docker-ovn-gw:";
/// Docker's chain for rules of its users, jumped to first from FORWARD.
pub const DOCKER_USER: &str = "DOCKER-USER";
const FORWARD: &str = "FORWARD";
const POSTROUTING: &str = "POSTROUTING";

/// The comment of the rules of `switch`'s gateway on host `host`.
pub fn comment(switch: &str, host: &str) -> String {
    format!("{COMMENT_PREFIX}{switch}@{}", comment_safe(host))
}

/// `host` with anything but `[A-Za-z0-9._:-]` made `_`: a comment with a
/// space or quote would be quoted differently by `iptables -S`.
fn comment_safe(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One of the driver's rules as `iptables -S` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub table: &'static str,
    pub chain: String,
    /// The rule's match and target, as `-D` takes them back.
    pub spec: Vec<String>,
    /// The logical switch its comment names.
    pub switch: String,
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
    /// (table, spec) of each rule, without the chain of the filter ones;
    /// the rules of each table in the order they must have in their chain.
    fn wanted(&self) -> Vec<(&'static str, Vec<String>)> {
        let comment = comment(self.switch, self.host);
        let tagged = |words: &[&str]| -> Vec<String> {
            let mut spec: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            let target = spec.split_off(spec.len() - 2);
            spec.extend(["-m", "comment", "--comment", &comment].map(String::from));
            spec.extend(target);
            spec
        };
        let subnet = self.subnet.to_string();
        let interface = self.interface;
        let gateways = format!("{GATEWAY_INTERFACE_PREFIX}+");
        let routed = self.routed_peers.unwrap_or_default();
        let peers: Vec<String> = routed.iter().map(|p| p.to_string()).collect();
        // Routed to a peer's part as they are: the RETURNs come before
        // the masquerade.
        let mut wanted: Vec<(&'static str, Vec<String>)> = peers
            .iter()
            .map(|peer| ("nat", tagged(&["-s", &subnet, "-d", peer, "-j", "RETURN"])))
            .collect();
        wanted.extend([
            (
                "nat",
                tagged(&["-s", &subnet, "!", "-o", interface, "-j", "MASQUERADE"]),
            ),
            // Networks stay apart as on separate logical switches: the
            // host routes between its gateway ports, so without this drop
            // (before the accept) one network reaches another's containers.
            (
                "filter",
                tagged(&["-i", interface, "-o", &gateways, "-j", "DROP"]),
            ),
            ("filter", tagged(&["-i", interface, "-j", "ACCEPT"])),
            (
                "filter",
                tagged(&[
                    "-o",
                    interface,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "RELATED,ESTABLISHED",
                    "-j",
                    "ACCEPT",
                ]),
            ),
        ]);
        // New connections in from the peers' parts of the network only.
        wanted.extend(peers.iter().map(|peer| {
            (
                "filter",
                tagged(&["-s", peer, "-o", interface, "-j", "ACCEPT"]),
            )
        }));
        if self.routed_peers.is_some() {
            wanted.push(("filter", tagged(&["-o", interface, "-j", "DROP"])));
        }
        wanted
    }

    /// Whether `present` (the rules of this switch, in `iptables -S`
    /// order) are exactly the ones wanted, the filter ones in their order
    /// (a drop after the accept would isolate nothing). `iptables -S`
    /// prints a rule's words in the order they are given here, so equal
    /// words are the same rule.
    pub fn complete(&self, present: &[&Rule]) -> bool {
        let wanted = self.wanted();
        ["filter", "nat"].iter().all(|table| {
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

    /// Every rule of the driver, and whether Docker's `DOCKER-USER` exists.
    /// Without iptables installed there are none, and none to remove.
    pub async fn list(&self) -> Result<(Vec<Rule>, bool)> {
        let Some(filter) = self.output(&["-w", "-S"]).await? else {
            return Ok((Vec::new(), false));
        };
        let nat = self.run(&["-w", "-t", "nat", "-S", POSTROUTING]).await?;
        let docker_user = filter
            .lines()
            .any(|line| line == format!("-N {DOCKER_USER}"));
        let mut rules = parse_rules("filter", &filter, &self.host);
        rules.extend(parse_rules("nat", &nat, &self.host));
        Ok((rules, docker_user))
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

    async fn insert_all(&self, gateway: &GatewayRules<'_>, chain: &str) -> Result<()> {
        let (mut filter_position, mut nat_position) = (0, 0);
        for (table, spec) in gateway.wanted() {
            // At the top (before Docker's RETURN and any drop of the
            // chain, and Docker's masquerades), in their wanted order.
            let (chain, position) = match table {
                "nat" => {
                    nat_position += 1;
                    (POSTROUTING, nat_position)
                }
                _ => {
                    filter_position += 1;
                    (chain, filter_position)
                }
            };
            let position = position.to_string();
            let mut args = vec!["-w", "-t", table, "-I", chain, &position];
            args.extend(spec.iter().map(String::as_str));
            self.run(&args).await?;
        }
        Ok(())
    }

    /// Removes every rule of `switch`; `Ok(false)` if there was none.
    pub async fn remove(&self, switch: &str) -> Result<bool> {
        let (rules, _) = self.list().await?;
        let ours: Vec<&Rule> = rules.iter().filter(|r| r.switch == switch).collect();
        self.delete_all(&ours).await?;
        Ok(!ours.is_empty())
    }

    async fn delete_all(&self, rules: &[&Rule]) -> Result<()> {
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
            .ok_or_else(|| DriverError::Firewall {
                command: args.join(" "),
                reason: format!(
                    "{} is not installed (Debian package iptables)",
                    self.program
                ),
            })
    }

    /// The command's stdout; `None` if the program is not installed.
    async fn output(&self, args: &[&str]) -> Result<Option<String>> {
        let failed = |reason: String| DriverError::Firewall {
            command: args.join(" "),
            reason,
        };
        let output = match Command::new(&self.program)
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
        {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed(format!("cannot run {}: {e}", self.program))),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(failed(stderr.trim().to_string()));
        }
        Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
    }
}

/// The driver's rules of `host` among `iptables -S` lines of `table`:
/// `-A CHAIN SPEC...` lines with a `--comment` of [`COMMENT_PREFIX`] and
/// `@host`. The comment is the only quoted word of such a rule, and holds
/// no space (switch names are restricted, host names made safe), so
/// splitting at spaces is exact.
pub fn parse_rules(table: &'static str, listing: &str, host: &str) -> Vec<Rule> {
    let suffix = format!("@{}", comment_safe(host));
    listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next() != Some("-A") {
                return None;
            }
            let chain = words.next()?.to_string();
            let spec: Vec<String> = words.map(|w| w.trim_matches('"').to_string()).collect();
            let at = spec.iter().position(|w| w == "--comment")?;
            let tagged = spec.get(at + 1)?.strip_prefix(COMMENT_PREFIX)?;
            let switch = tagged.strip_suffix(&suffix)?.to_string();
            Some(Rule {
                table,
                chain,
                spec,
                switch,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
