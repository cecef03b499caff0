//! IPv4 forwarding, without which a gateway routes nothing. dockerd
//! turns it on when it makes a bridge network; a host with no dockerd of
//! its own (a host driven over the plugin API alone) may have it off, so
//! the driver turns it on as dockerd does, once, and says so.

use crate::error::{DriverError, Result};

const IPV4_FORWARD: &str = "net/ipv4/ip_forward";

/// Turns IPv4 forwarding on in the daemon's namespace unless it is on.
pub fn enable_ipv4_forwarding() -> Result<()> {
    let path = super::sysctl::path(IPV4_FORWARD);
    let failed = |e: std::io::Error| DriverError::Netlink {
        interface: path.display().to_string(),
        operation: "turn IPv4 forwarding on",
        reason: e.to_string(),
    };
    if std::fs::read_to_string(&path).map_err(failed)?.trim() == "1" {
        return Ok(());
    }
    std::fs::write(&path, "1").map_err(failed)?;
    tracing::info!(
        path = %path.display(),
        "IPv4 forwarding turned on for the gateways"
    );
    Ok(())
}
