//! The driver's own account of each Join: the line "endpoint joined and
//! ready" it logs with `duration_us` (the whole call), `ready_wait_us`
//! (the part spent waiting for ovn-controller's `ovn-installed`), and
//! `veth_us` and `port_us` (creating the veth pair, the transaction that
//! adds the OVS port).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

const MESSAGE: &str = "endpoint joined and ready";

/// What the driver logged about one Join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinTimes {
    pub duration: Duration,
    pub ready_wait: Duration,
    /// Absent from the lines of drivers older than these fields.
    pub veth: Option<Duration>,
    pub port: Option<Duration>,
}

/// The driver's log from a point on.
pub struct JoinLog {
    path: PathBuf,
    offset: u64,
}

impl JoinLog {
    /// Starts reading at the log's current end.
    pub fn from_now(path: &Path) -> anyhow::Result<JoinLog> {
        let offset = std::fs::metadata(path)
            .with_context(|| format!("cannot read the driver log {}", path.display()))?
            .len();
        Ok(JoinLog {
            path: path.to_path_buf(),
            offset,
        })
    }

    /// The Joins logged since [`JoinLog::from_now`], by endpoint id.
    pub fn joins(&self) -> anyhow::Result<HashMap<String, JoinTimes>> {
        let mut file = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text.lines().filter_map(parse_line).collect())
    }
}

/// The endpoint and times of a "joined and ready" line of tracing's
/// format (`... INFO endpoint joined and ready network=.. endpoint=..
/// duration_us=N ready_wait_us=N`).
fn parse_line(line: &str) -> Option<(String, JoinTimes)> {
    let (_, fields) = line.split_once(MESSAGE)?;
    let field = |key: &str| {
        fields
            .split_whitespace()
            .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
    };
    let micros = |key: &str| field(key)?.parse().ok().map(Duration::from_micros);
    let times = JoinTimes {
        duration: micros("duration_us")?,
        ready_wait: micros("ready_wait_us")?,
        veth: micros("veth_us"),
        port: micros("port_us"),
    };
    Some((field("endpoint")?.to_string(), times))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_line_gives_its_endpoint_and_times() {
        let line = "2026-11-28T02:29:17.784736Z  INFO endpoint joined and ready network=aa \
                    endpoint=be0c01 interface=ovnbe0c01 mtu=1442 duration_us=15230 ready_wait_us=12001";
        let (endpoint, times) = parse_line(line).expect("parsed");
        assert_eq!(endpoint, "be0c01");
        assert_eq!(times.duration, Duration::from_micros(15230));
        assert_eq!(times.ready_wait, Duration::from_micros(12001));
        assert_eq!(times.veth, None);
    }

    #[test]
    fn the_parts_of_a_join_are_read_when_logged() {
        let line = "INFO endpoint joined and ready endpoint=be0c02 duration_us=9000 \
                    veth_us=1500 port_us=800 ready_wait_us=6000";
        let (_, times) = parse_line(line).expect("parsed");
        assert_eq!(times.veth, Some(Duration::from_micros(1500)));
        assert_eq!(times.port, Some(Duration::from_micros(800)));
        assert_eq!(times.ready_wait, Duration::from_micros(6000));
    }

    #[test]
    fn other_lines_are_skipped() {
        assert_eq!(
            parse_line("... INFO endpoint created endpoint=be0c01"),
            None
        );
        assert_eq!(
            parse_line("INFO endpoint joined and ready endpoint=x duration_us=oops"),
            None
        );
    }
}
