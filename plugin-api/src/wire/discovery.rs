//! `NetworkDriver.DiscoverNew` / `DiscoverDelete`: swarm node notifications.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::keys;

/// libnetwork's discovery type for node discovery, the only one forwarded.
pub const NODE_DISCOVERY: u32 = 1;

/// Request of both discovery calls (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DiscoveryRequest {
    /// The notification type; see [`NODE_DISCOVERY`].
    pub discovery_type: u32,
    /// Type-specific payload.
    pub discovery_data: Value,
}

impl DiscoveryRequest {
    /// The payload as a node notification; `Ok(None)` for other types.
    pub fn node(&self) -> Result<Option<NodeDiscoveryData>, Error> {
        if self.discovery_type != NODE_DISCOVERY {
            return Ok(None);
        }
        keys::from_value(self.discovery_data.clone())
            .map(Some)
            .map_err(|e| e.within("DiscoveryData"))
    }
}

/// A swarm node appearing or disappearing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeDiscoveryData {
    /// The node's advertised address.
    pub address: String,
    /// The address it binds to.
    pub bind_address: String,
    /// True for the local node.
    #[serde(rename = "Self")]
    pub is_self: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn node_notification_decodes() {
        let input = json!({"DiscoveryType": 1,
                           "DiscoveryData": {"Address": "10.0.0.5", "BindAddress": "0.0.0.0", "Self": true}});
        let req: DiscoveryRequest = keys::from_value(input.clone()).unwrap();
        let node = req.node().unwrap().unwrap();
        assert_eq!(node.address, "10.0.0.5");
        assert!(node.is_self);
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
    }

    #[test]
    fn lowercase_self_is_accepted_and_other_types_ignored() {
        let req: DiscoveryRequest =
            keys::from_value(json!({"discoverytype": 1, "discoverydata": {"self": true}})).unwrap();
        assert!(req.node().unwrap().unwrap().is_self);
        let req: DiscoveryRequest = keys::from_value(json!({"DiscoveryType": 2})).unwrap();
        assert_eq!(req.node().unwrap(), None);
    }
}
