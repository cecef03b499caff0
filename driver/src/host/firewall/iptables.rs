//! The `iptables` commands under the firewall: running them (with a
//! script on stdin for `iptables-restore`), what `iptables -S` lists,
//! and which of the listed rules are the driver's (by their comment).

use tokio::process::Command;

use crate::error::{DriverError, Result};

use super::DOCKER_USER;

/// `host` with anything but `[A-Za-z0-9._:-]` made `_`: a comment with a
/// space or quote would be quoted differently by `iptables -S`.
pub fn comment_safe(host: &str) -> String {
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
    /// What its comment names after the prefix: the logical switch of a
    /// gateway rule, the endpoint of a published port's.
    pub switch: String,
}

/// Runs `program` with `args` (and `input` on its stdin): its stdout;
/// `None` if it is not installed; its stderr as the error if it fails.
pub(super) async fn exec(
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<Option<String>> {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let failed = |reason: String| DriverError::Firewall {
        command: format!("{program} {}", args.join(" ")),
        reason,
    };
    let spawned = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(format!("cannot run {program}: {e}"))),
    };
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .await
            .map_err(|e| failed(format!("cannot write to {program}: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| failed(format!("cannot run {program}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(stderr.trim().to_string()));
    }
    Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// What `iptables -S` lists of the tables the driver has rules in.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub filter: String,
    pub nat: String,
    /// Only its PREROUTING chain.
    pub raw: String,
}

impl Listing {
    /// Whether Docker's `DOCKER-USER` chain exists.
    pub fn docker_user(&self) -> bool {
        let line = format!("-N {DOCKER_USER}");
        self.filter.lines().any(|l| l == line)
    }

    /// The rules of `host` with a comment starting `prefix`, of every table.
    pub fn rules(&self, prefix: &str, host: &str) -> Vec<Rule> {
        let mut rules = parse_rules("filter", &self.filter, prefix, host);
        rules.extend(parse_rules("nat", &self.nat, prefix, host));
        rules.extend(parse_rules("raw", &self.raw, prefix, host));
        rules
    }
}

/// An `iptables-restore --noflush` script: rules inserted and deleted,
/// table by table.
#[derive(Debug, Clone, Default)]
pub struct Restore {
    /// (table, lines) in the order the tables were first named.
    tables: Vec<(&'static str, Vec<String>)>,
}

impl Restore {
    /// Inserts `spec` into `chain` of `table` after the rules this script
    /// inserted there before (at the top, in the order given).
    pub fn insert(&mut self, table: &'static str, chain: &str, spec: &[String]) {
        let lines = self.lines_of(table);
        let position = lines
            .iter()
            .filter(|l| l.starts_with(&format!("-I {chain} ")))
            .count()
            + 1;
        lines.push(format!("-I {chain} {position} {}", spec.join(" ")));
    }

    /// Deletes `rule` (as listed).
    pub fn delete(&mut self, rule: &Rule) {
        let lines = self.lines_of(rule.table);
        lines.push(format!("-D {} {}", rule.chain, rule.spec.join(" ")));
    }

    fn lines_of(&mut self, table: &'static str) -> &mut Vec<String> {
        match self.tables.iter().position(|(t, _)| *t == table) {
            Some(at) => &mut self.tables[at].1,
            None => {
                self.tables.push((table, Vec::new()));
                &mut self.tables.last_mut().expect("just pushed").1
            }
        }
    }

    /// Whether the script changes nothing.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        for (table, lines) in &self.tables {
            text.push_str(&format!("*{table}\n"));
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str("COMMIT\n");
        }
        text
    }
}

/// The driver's rules of `host` among `iptables -S` lines of `table`:
/// `-A CHAIN SPEC...` lines with a `--comment` of [`COMMENT_PREFIX`] and
/// `@host`. The comment is the only quoted word of such a rule, and holds
/// no space (switch names are restricted, host names made safe), so
/// splitting at spaces is exact.
pub fn parse_rules(table: &'static str, listing: &str, prefix: &str, host: &str) -> Vec<Rule> {
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
            let tagged = spec.get(at + 1)?.strip_prefix(prefix)?;
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
