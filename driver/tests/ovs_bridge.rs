//! The `-d ovs` backend's bridge ([`docker_ovn::ovs::bridge`]) made by the
//! driver's own transaction in a real ovs-vswitchd: secure, named tables,
//! an OpenFlow socket the `flows` crate speaks to; put back after a hand
//! changed it; left alone when right.
//!
//! Needs root (the switch runs in a namespace of its own) and the Debian
//! package openvswitch-switch; fails loudly without them.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use docker_ovn::host::local_switch::LocalSwitch;
use docker_ovn::ovs::bridge::{BridgeChange, ensure_bridge};
use ovsdb_client::rows::{Bridge, TypedRow};
use test_support::vswitchd::Switch;

const BRIDGE: &str = "br-docker-t";

fn wait_for_socket(switch: &Switch) -> String {
    let mgmt = switch.db.dir().join(format!("{BRIDGE}.mgmt"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&mgmt).is_err() {
        assert!(
            Instant::now() < deadline,
            "ovs-vswitchd made no {}; log:\n{}",
            mgmt.display(),
            switch.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    format!("unix:{}", mgmt.display())
}

async fn fail_mode_seen(ovs: &LocalSwitch, mode: &str) {
    ovs.replica()
        .wait_for(Duration::from_secs(10), "the fail mode", |t| {
            let (_, row) = t.find_by(Bridge::TABLE, "name", BRIDGE)?;
            let seen = row.get("fail_mode")?.atom()?.as_str()? == mode;
            seen.then_some(())
        })
        .await
        .expect("the replica sees the change");
}

#[tokio::test]
async fn the_bridge_is_made_secure_with_named_tables_and_put_back() {
    let switch = Switch::start("br-other");
    let ovs = LocalSwitch::connect(&switch.db.unix_target(), BRIDGE, Duration::from_secs(10))
        .await
        .expect("the database replicated");
    let change = ensure_bridge(&ovs, "netdev").await.expect("made");
    assert_eq!(change, BridgeChange::Created);
    let target = wait_for_socket(&switch);

    let tables = switch.ofctl(&["dump-table-features", &target]);
    for name in [
        "classifier",
        "spoof_guard",
        "arp_nd_responder",
        "l2_forwarding",
        "output",
    ] {
        assert!(
            tables.contains(&format!("\"{name}\"")),
            "{name} in:\n{tables}"
        );
    }
    let client = flows::Client::connect(flows::Config::new(
        flows::Target::parse(&target).expect("a target"),
    ))
    .await
    .expect("the driver's OpenFlow connection");
    assert_eq!(
        client.version(),
        5,
        "OpenFlow 1.4 agreed, the highest allowed"
    );
    let flows = switch.ofctl(&["dump-flows", &target]);
    assert!(
        !flows.contains("actions="),
        "fail_mode=secure: no flow of ovs-vswitchd's own:\n{flows}"
    );

    // A hand sets it standalone: the next call puts it back, once.
    switch.db.vsctl(&[
        "set",
        "bridge",
        BRIDGE,
        "fail_mode=standalone",
        "other_config:hwaddr=0a:00:00:00:00:42",
    ]);
    fail_mode_seen(&ovs, "standalone").await;
    assert_eq!(
        ensure_bridge(&ovs, "netdev").await.expect("put back"),
        BridgeChange::Reconfigured
    );
    fail_mode_seen(&ovs, "secure").await;
    let shown = switch
        .db
        .try_vsctl(&["get", "bridge", BRIDGE, "other_config"]);
    let other_config = String::from_utf8_lossy(&shown.stdout);
    assert!(
        other_config.contains("hwaddr") && other_config.contains("disable-in-band"),
        "a key set by hand stays beside the driver's: {other_config}"
    );
    assert_eq!(
        ensure_bridge(&ovs, "netdev").await.expect("checked"),
        BridgeChange::AsItWas
    );
}
