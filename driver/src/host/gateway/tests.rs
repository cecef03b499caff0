use super::*;

fn gateway() -> Gateway {
    Gateway::new(
        "blue",
        "10.1.0.1".parse().unwrap(),
        "10.1.0.0/24".parse().unwrap(),
        1442,
    )
    .unwrap()
}

#[test]
fn a_gateway_has_its_address_with_the_prefix_and_a_mac_from_it() {
    let gateway = gateway();
    assert_eq!(gateway.address.to_string(), "10.1.0.1/24");
    assert_eq!(gateway.mac.to_string(), "0a:5a:0a:01:00:01");
    assert_eq!(gateway.interface, gateway_interface("blue"));
    assert!(gateway.external_ids("h").iter().all(|(k, _)| k != IFACE_ID));
    let outside = Gateway::new(
        "blue",
        "10.2.0.1".parse().unwrap(),
        "10.1.0.0/24".parse().unwrap(),
        1442,
    );
    assert!(outside.is_none());
}

#[test]
fn configured_needs_up_mtu_mac_and_address() {
    let gateway = gateway();
    let link = LinkState {
        index: 7,
        up: true,
        mtu: Some(1442),
        mac: Some(gateway.mac),
    };
    let address = [gateway.address];
    assert!(gateway.configured(&link, &address));
    assert!(!gateway.configured(&link, &[]));
    let down = LinkState {
        up: false,
        ..link.clone()
    };
    assert!(!gateway.configured(&down, &address));
    let other_mtu = LinkState {
        mtu: Some(1500),
        ..link
    };
    assert!(!gateway.configured(&other_mtu, &address));
}
