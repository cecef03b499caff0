//! Tables of the `Open_vSwitch` database (`vswitch.ovsschema`).

use std::collections::BTreeMap;

use uuid::Uuid;

typed_row! {
    /// The single row of the `Open_vSwitch` table: switch-wide settings.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct OpenVSwitch: "Open_vSwitch" {
        /// The bridges (`Bridge` rows).
        bridges: Vec<Uuid> = "bridges",
        /// Free-form keys; ovn-controller reads `ovn-remote`, `system-id` etc.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Switch-wide options for ovs-vswitchd.
        other_config: BTreeMap<String, String> = "other_config",
        /// Open vSwitch version, as ovs-vswitchd reports it.
        ovs_version: Option<String> = "ovs_version",
        /// Datapath types ovs-vswitchd supports (`system`, `netdev`).
        datapath_types: Vec<String> = "datapath_types",
        /// Interface types ovs-vswitchd supports.
        iface_types: Vec<String> = "iface_types",
        /// The `next_cfg` value ovs-vswitchd has applied.
        cur_cfg: i64 = "cur_cfg",
        /// Bumped by clients to learn when ovs-vswitchd caught up.
        next_cfg: i64 = "next_cfg",
    }
}

typed_row! {
    /// A bridge: a set of ports switched together.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Bridge: "Bridge" {
        /// Bridge name, unique in the database.
        name: String = "name",
        /// The bridge's ports (`Port` rows).
        ports: Vec<Uuid> = "ports",
        /// `system`, `netdev`, or empty for the default.
        datapath_type: String = "datapath_type",
        /// `standalone` or `secure`.
        fail_mode: Option<String> = "fail_mode",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Bridge options (`hwaddr`, `disable-in-band`, ...).
        other_config: BTreeMap<String, String> = "other_config",
        /// Allowed OpenFlow versions (`OpenFlow13`, ...).
        protocols: Vec<String> = "protocols",
        /// OpenFlow controllers (`Controller` rows).
        controller: Vec<Uuid> = "controller",
    }
}

typed_row! {
    /// A port of a bridge: one interface, or several for a bond.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Port: "Port" {
        /// Port name, unique in the database.
        name: String = "name",
        /// The port's interfaces (`Interface` rows); at least one.
        interfaces: Vec<Uuid> = "interfaces",
        /// VLAN of an access port (0 to 4095).
        tag: Option<i64> = "tag",
        /// VLANs a trunk port carries; empty means all.
        trunks: Vec<i64> = "trunks",
        /// `trunk`, `access`, `native-tagged`, `native-untagged` or
        /// `dot1q-tunnel`.
        vlan_mode: Option<String> = "vlan_mode",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Port options.
        other_config: BTreeMap<String, String> = "other_config",
    }
}

typed_row! {
    /// A network device attached to a port.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Interface: "Interface" {
        /// Interface name, unique in the database.
        name: String = "name",
        /// Column `type`: `internal`, `geneve`, `vxlan`, ... or empty for a
        /// system device.
        kind: String = "type",
        /// Type-specific options (`remote_ip`, `key`, ...).
        options: BTreeMap<String, String> = "options",
        /// OpenFlow port number; -1 when the interface failed.
        ofport: Option<i64> = "ofport",
        /// Requested OpenFlow port number.
        ofport_request: Option<i64> = "ofport_request",
        /// Current MTU.
        mtu: Option<i64> = "mtu",
        /// Requested MTU.
        mtu_request: Option<i64> = "mtu_request",
        /// The MAC address in use.
        mac_in_use: Option<String> = "mac_in_use",
        /// Requested MAC address.
        mac: Option<String> = "mac",
        /// Free-form keys; ovn-controller reads `iface-id` and writes
        /// `ovn-installed`.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Interface options.
        other_config: BTreeMap<String, String> = "other_config",
        /// Status reported by ovs-vswitchd.
        status: BTreeMap<String, String> = "status",
        /// `up` or `down`.
        link_state: Option<String> = "link_state",
        /// `up` or `down`.
        admin_state: Option<String> = "admin_state",
        /// Why ovs-vswitchd could not configure the interface.
        error: Option<String> = "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::TypedRow;
    use crate::{Error, Row, Value};

    fn interface_row(port: &str) -> Row {
        Row::new()
            .with("name", port)
            .with("type", "internal")
            .with("options", Value::map([("key", "flow")]))
            .with("ofport", 3)
            .with("ofport_request", Value::empty())
            .with("mtu", 1400)
            .with("mtu_request", 1400)
            .with("mac_in_use", "02:00:00:00:00:01")
            .with("mac", Value::empty())
            .with("external_ids", Value::map([("iface-id", "lsp1")]))
            .with("other_config", Value::Map(Vec::new()))
            .with("status", Value::map([("driver_name", "tun")]))
            .with("link_state", "up")
            .with("admin_state", "up")
            .with("error", Value::empty())
    }

    #[test]
    fn interface_round_trips() {
        let uuid = Uuid::from_u128(42);
        let row = interface_row("veth1");
        let iface = Interface::from_row(uuid, &row).unwrap();
        assert_eq!(iface.uuid, uuid);
        assert_eq!(iface.kind, "internal");
        assert_eq!(iface.ofport, Some(3));
        assert_eq!(iface.mac, None);
        assert_eq!(iface.external_ids["iface-id"], "lsp1");
        assert_eq!(iface.to_row(), row);
        assert_eq!(iface.to_row().len(), Interface::COLUMNS.len());
    }

    #[test]
    fn port_with_wrong_tag_type_names_table_row_and_column() {
        let uuid = Uuid::from_u128(7);
        let row = Row::new().with("name", "p1").with("tag", "ten");
        match Port::from_row(uuid, &row) {
            Err(Error::TypedRow {
                table,
                uuid: at,
                column,
                reason,
            }) => {
                assert_eq!((table, column), ("Port", "tag"));
                assert_eq!(at, uuid.to_string());
                assert!(reason.contains("integer"), "{reason}");
            }
            other => panic!("expected a TypedRow error, got {other:?}"),
        }
    }

    #[test]
    fn missing_columns_take_empty_values() {
        let uuid = Uuid::from_u128(1);
        let bridge = Bridge::from_row(uuid, &Row::new().with("name", "br-int")).unwrap();
        let expected = Bridge {
            uuid,
            name: "br-int".into(),
            ..Bridge::default()
        };
        assert_eq!(bridge, expected);
        assert!(bridge.ports.is_empty() && bridge.fail_mode.is_none());
        let ovs = OpenVSwitch::from_row(uuid, &Row::new()).unwrap();
        assert_eq!((ovs.cur_cfg, ovs.ovs_version), (0, None));
    }
}
