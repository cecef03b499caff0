//! Tables of the `OVN_Northbound` database (`ovn-nb.ovsschema`).

use std::collections::BTreeMap;

use uuid::Uuid;

typed_row! {
    /// The single row of `NB_Global`: deployment-wide settings and the
    /// sequence numbers that tell how far the change has spread.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct NbGlobal: "NB_Global" {
        /// Bumped by clients that want to know when a change is applied.
        nb_cfg: i64 = "nb_cfg",
        /// The `nb_cfg` that ovn-northd has copied to the Southbound.
        sb_cfg: i64 = "sb_cfg",
        /// The `nb_cfg` every chassis has applied.
        hv_cfg: i64 = "hv_cfg",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Global options (`mac_prefix`, ...).
        options: BTreeMap<String, String> = "options",
        /// The deployment's name.
        name: String = "name",
    }
}

typed_row! {
    /// A logical L2 switch: one Docker network in overlay mode.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LogicalSwitch: "Logical_Switch" {
        /// Switch name (not necessarily unique).
        name: String = "name",
        /// Its ports (`Logical_Switch_Port` rows).
        ports: Vec<Uuid> = "ports",
        /// Its access control rules (`ACL` rows).
        acls: Vec<Uuid> = "acls",
        /// Its QoS rules (`QoS` rows).
        qos_rules: Vec<Uuid> = "qos_rules",
        /// Options: `subnet`, `exclude_ips`, `mac_only`, ...
        other_config: BTreeMap<String, String> = "other_config",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// Load balancers (`Load_Balancer` rows).
        load_balancer: Vec<Uuid> = "load_balancer",
        /// DNS records (`DNS` rows).
        dns_records: Vec<Uuid> = "dns_records",
    }
}

typed_row! {
    /// A port of a logical switch: one container endpoint, a `localnet`
    /// port, a `localport`, a router port...
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LogicalSwitchPort: "Logical_Switch_Port" {
        /// Port name, unique in the database; matched by the
        /// `external_ids:iface-id` of the OVS interface.
        name: String = "name",
        /// Column `type`: empty for a VM or container port, or `localnet`,
        /// `localport`, `router`, ...
        kind: String = "type",
        /// Type-specific options (`requested-chassis`, `network_name`, ...).
        options: BTreeMap<String, String> = "options",
        /// For a nested container: the port of the VM it runs in.
        parent_name: Option<String> = "parent_name",
        /// Requested VLAN tag (for a nested container or a `localnet` port).
        tag_request: Option<i64> = "tag_request",
        /// VLAN tag ovn-northd assigned to a nested container.
        tag: Option<i64> = "tag",
        /// `"MAC IP..."`, `dynamic`, `router` or `unknown` entries.
        addresses: Vec<String> = "addresses",
        /// Addresses ovn-northd assigned for a `dynamic` entry.
        dynamic_addresses: Option<String> = "dynamic_addresses",
        /// Allowed source `"MAC IP..."` entries.
        port_security: Vec<String> = "port_security",
        /// Whether the port is bound on a chassis (set by ovn-northd).
        up: Option<bool> = "up",
        /// Administrative state; absent means enabled.
        enabled: Option<bool> = "enabled",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
    }
}

typed_row! {
    /// An access control rule of a logical switch or port group.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Acl: "ACL" {
        /// Name used in logs (at most 63 bytes).
        name: Option<String> = "name",
        /// 0 to 32767; higher wins.
        priority: i64 = "priority",
        /// `from-lport` or `to-lport`.
        direction: String = "direction",
        /// Column `match`: the OVN match expression.
        match_: String = "match",
        /// `allow`, `allow-related`, `allow-stateless`, `drop` or `reject`.
        action: String = "action",
        /// Whether matching packets are logged.
        log: bool = "log",
        /// Log severity (`alert` ... `debug`).
        severity: Option<String> = "severity",
        /// Meter limiting log messages.
        meter: Option<String> = "meter",
        /// Label stored in conntrack for matching connections.
        label: i64 = "label",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
    }
}

typed_row! {
    /// A named set of addresses, usable as `$name` in match expressions.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct AddressSet: "Address_Set" {
        /// Set name, unique in the database.
        name: String = "name",
        /// The addresses (IPv4, IPv6 or MAC, with optional prefixes).
        addresses: Vec<String> = "addresses",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
    }
}

typed_row! {
    /// A logical L3 router.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LogicalRouter: "Logical_Router" {
        /// Router name (not necessarily unique).
        name: String = "name",
        /// Its ports (`Logical_Router_Port` rows).
        ports: Vec<Uuid> = "ports",
        /// Static routes (`Logical_Router_Static_Route` rows).
        static_routes: Vec<Uuid> = "static_routes",
        /// NAT rules (`NAT` rows).
        nat: Vec<Uuid> = "nat",
        /// Administrative state; absent means enabled.
        enabled: Option<bool> = "enabled",
        /// Router options (`chassis`, ...).
        options: BTreeMap<String, String> = "options",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
    }
}

typed_row! {
    /// A port of a logical router.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct LogicalRouterPort: "Logical_Router_Port" {
        /// Port name, unique in the database.
        name: String = "name",
        /// The port's Ethernet address.
        mac: String = "mac",
        /// Its addresses with prefix length (`10.0.0.1/24`); at least one.
        networks: Vec<String> = "networks",
        /// The peer router port's name, for router-to-router links.
        peer: Option<String> = "peer",
        /// Gateway chassis (`Gateway_Chassis` rows).
        gateway_chassis: Vec<Uuid> = "gateway_chassis",
        /// Port options.
        options: BTreeMap<String, String> = "options",
        /// Administrative state; absent means enabled.
        enabled: Option<bool> = "enabled",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
        /// IPv6 router advertisement settings.
        ipv6_ra_configs: BTreeMap<String, String> = "ipv6_ra_configs",
    }
}

typed_row! {
    /// A QoS rule of a logical switch: DSCP marking and rate limits.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Qos: "QoS" {
        /// 0 to 32767; higher wins.
        priority: i64 = "priority",
        /// `from-lport` or `to-lport`.
        direction: String = "direction",
        /// Column `match`: the OVN match expression.
        match_: String = "match",
        /// `dscp` → DSCP value to mark (0 to 63).
        action: BTreeMap<String, i64> = "action",
        /// `rate` (kbps) and `burst` (kb) → limits.
        bandwidth: BTreeMap<String, i64> = "bandwidth",
        /// Free-form keys.
        external_ids: BTreeMap<String, String> = "external_ids",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::TypedRow;
    use crate::{Atom, Error, Row, Value};

    #[test]
    fn logical_switch_port_round_trips() {
        let uuid = Uuid::from_u128(9);
        let row = Row::new()
            .with("name", "ep-1")
            .with("type", "")
            .with("options", Value::map([("requested-chassis", "host1")]))
            .with("parent_name", Value::empty())
            .with("tag_request", Value::empty())
            .with("tag", Value::empty())
            .with("addresses", "02:00:0a:00:00:02 10.0.0.2")
            .with("dynamic_addresses", Value::empty())
            .with("port_security", "02:00:0a:00:00:02 10.0.0.2")
            .with("up", true)
            .with("enabled", Value::empty())
            .with("external_ids", Value::map([("docker-ovn:owner", "x")]));
        let lsp = LogicalSwitchPort::from_row(uuid, &row).unwrap();
        assert_eq!(lsp.addresses, vec!["02:00:0a:00:00:02 10.0.0.2"]);
        assert_eq!((lsp.up, lsp.enabled), (Some(true), None));
        assert_eq!(lsp.to_row(), row);
    }

    #[test]
    fn qos_round_trips_string_to_integer_maps() {
        let row = Row::new()
            .with("priority", 100)
            .with("direction", "from-lport")
            .with("match", "ip4")
            .with("action", Value::map([("dscp", 10i64)]))
            .with("bandwidth", Value::map([("rate", 1000i64), ("burst", 100)]))
            .with("external_ids", Value::Map(Vec::new()));
        let qos = Qos::from_row(Uuid::from_u128(1), &row).unwrap();
        assert_eq!((qos.match_.as_str(), qos.bandwidth["burst"]), ("ip4", 100));
        assert_eq!(qos.to_row(), row);
    }

    #[test]
    fn logical_switch_with_named_uuid_port_is_a_typed_row_error() {
        let row = Row::new().with("ports", Value::Set(vec![Atom::NamedUuid("p".into())]));
        let err = LogicalSwitch::from_row(Uuid::from_u128(3), &row).unwrap_err();
        assert!(matches!(
            err,
            Error::TypedRow {
                table: "Logical_Switch",
                column: "ports",
                ..
            }
        ));
        assert!(
            err.to_string().contains("column ports: expected uuid"),
            "{err}"
        );
    }

    #[test]
    fn acl_missing_columns_default_and_wire_names_are_kept() {
        let acl = Acl::from_row(Uuid::nil(), &Row::new().with("match", "ip")).unwrap();
        assert_eq!(
            (acl.match_.as_str(), acl.priority, acl.log),
            ("ip", 0, false)
        );
        assert!(Acl::column_names().contains(&"match"));
        assert!(LogicalSwitchPort::column_names().contains(&"type"));
    }
}
