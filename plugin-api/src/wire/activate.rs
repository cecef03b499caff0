//! `Plugin.Activate`: the handshake in which the plugin lists its interfaces.

use serde::{Deserialize, Serialize};

/// The interface name dockerd expects for a network driver.
pub const NETWORK_DRIVER: &str = "NetworkDriver";
/// The interface name dockerd expects for an IPAM driver.
pub const IPAM_DRIVER: &str = "IpamDriver";

/// Reply to `Plugin.Activate` (the request has an empty body).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivateResponse {
    /// The interfaces served, e.g. `["NetworkDriver", "IpamDriver"]`.
    #[serde(rename = "Implements")]
    pub implements: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_like_the_reference() {
        let reply = ActivateResponse {
            implements: vec![NETWORK_DRIVER.into(), IPAM_DRIVER.into()],
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"Implements": ["NetworkDriver", "IpamDriver"]})
        );
    }
}
