//! The `ovn` IPAM driver with several hosts: each host a `docker-ovn
//! serve` with its own Open_vSwitch database (its own `system-id`), all on
//! one real OVN Northbound ovsdb-server, driven over the plugin socket as
//! dockerd drives it. Needs `ovsdb-server` and `ovs-vsctl` (Debian:
//! openvswitch-common, openvswitch-switch); fails without.

use std::collections::BTreeSet;
use std::path::Path;

use ovsdb_client::transaction::{Condition, Transaction};
use serde_json::{Value, json};
use test_support::{DriverDaemon, OvsdbServer, Reply, Schema};

/// N hosts sharing one Northbound database.
struct Cluster {
    nb: OvsdbServer,
    _ovs: Vec<OvsdbServer>,
    hosts: Vec<DriverDaemon>,
}

/// Without ovs-vswitchd nor a bridge here, the hosts route for no
/// network (`--no-gateway`): no internal port is made.
fn cluster(n: usize) -> Cluster {
    cluster_with(n, &[])
}

fn cluster_with(n: usize, flags: &[&str]) -> Cluster {
    let nb = OvsdbServer::start(Schema::OvnNorthbound);
    let mut ovs = Vec::new();
    let mut hosts = Vec::new();
    for k in 1..=n {
        let server = OvsdbServer::start_open_vswitch(&format!("ipam-host{k}"));
        let binary = Path::new(env!("CARGO_BIN_EXE_docker-ovn"));
        let flags: Vec<&str> = ["--no-gateway"].iter().chain(flags).copied().collect();
        hosts.push(DriverDaemon::start_with(
            binary,
            &server.unix_target(),
            &nb.unix_target(),
            &flags,
        ));
        ovs.push(server);
    }
    Cluster {
        nb,
        _ovs: ovs,
        hosts,
    }
}

fn request_pool(host: &DriverDaemon, pool: &str, range: &str) -> String {
    let reply = host.ok(
        "IpamDriver.RequestPool",
        json!({"AddressSpace": "docker-ovn", "Pool": pool, "SubPool": range, "Options": {}, "V6": pool.contains(':')}),
    );
    assert_eq!(reply["Pool"], pool);
    reply["PoolID"].as_str().expect("PoolID").to_string()
}

fn request_address(host: &DriverDaemon, pool_id: &str, address: &str, gateway: bool) -> Reply {
    let options = if gateway {
        json!({"RequestAddressType": "com.docker.network.gateway"})
    } else {
        Value::Null
    };
    host.call(
        "IpamDriver.RequestAddress",
        json!({"PoolID": pool_id, "Address": address, "Options": options}),
    )
}

fn allocated(reply: &Reply) -> String {
    assert!(
        reply.is_ok(),
        "RequestAddress -> {} {}",
        reply.status,
        reply.body
    );
    let cidr = reply.body["Address"].as_str().expect("Address");
    cidr.split('/').next().unwrap_or_default().to_string()
}

fn release_address(host: &DriverDaemon, pool_id: &str, address: &str) {
    host.ok(
        "IpamDriver.ReleaseAddress",
        json!({"PoolID": pool_id, "Address": address}),
    );
}

/// The pool's `addresses` as the Northbound database holds them; `None`
/// when the pool row is gone.
fn nb_addresses(cluster: &Cluster, pool_id: &str) -> Option<BTreeSet<String>> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = ovsdb_client::Client::connect(&cluster.nb.unix_target())
            .await
            .expect("connect");
        let mut txn = Transaction::new("OVN_Northbound");
        let at = txn.select("Address_Set", vec![Condition::eq("name", pool_id)]);
        let outcome = client.transact(&txn).await.expect("select");
        let rows = outcome.rows(at).unwrap_or_default();
        rows.first().map(|row| {
            row.get("addresses")
                .map(|v| {
                    v.atoms()
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
    })
}

#[test]
fn one_subnet_is_one_pool_shared_by_every_host() {
    let cluster = cluster(2);
    let (a, b) = (&cluster.hosts[0], &cluster.hosts[1]);
    let spaces = a.ok("IpamDriver.GetDefaultAddressSpaces", json!({}));
    assert_eq!(spaces["LocalDefaultAddressSpace"], "docker-ovn");
    let id_a = request_pool(a, "10.30.0.0/24", "");
    let id_b = request_pool(b, "10.30.0.0/24", "");
    assert_eq!(id_a, id_b, "the same subnet on two hosts must be one pool");
    let gateway_a = allocated(&request_address(a, &id_a, "", true));
    let gateway_b = allocated(&request_address(b, &id_b, "", true));
    assert_eq!(
        (gateway_a.as_str(), gateway_b.as_str()),
        ("10.30.0.1", "10.30.0.1")
    );

    // docker run --ip on host b of an address host a holds fails clearly.
    let taken = allocated(&request_address(a, &id_a, "", false));
    let refused = request_address(b, &id_b, &taken, false);
    assert!(!refused.is_ok(), "{taken} handed out twice");
    assert!(
        refused.body["Err"]
            .as_str()
            .unwrap_or_default()
            .contains("already in use"),
        "{}",
        refused.body
    );
    let explicit = allocated(&request_address(b, &id_b, "10.30.0.77", false));
    assert_eq!(explicit, "10.30.0.77");

    // Released addresses are reusable.
    release_address(b, &id_b, "10.30.0.77");
    assert_eq!(
        allocated(&request_address(a, &id_a, "10.30.0.77", false)),
        "10.30.0.77"
    );

    // Each host drops only its own reference; the last one removes the pool.
    a.ok("IpamDriver.ReleasePool", json!({"PoolID": id_a}));
    assert!(
        nb_addresses(&cluster, &id_a).is_some(),
        "pool gone while host b uses it"
    );
    b.ok("IpamDriver.ReleasePool", json!({"PoolID": id_b}));
    assert_eq!(
        nb_addresses(&cluster, &id_a),
        None,
        "pool left after its last release"
    );
}

#[test]
fn ranges_ipv6_automatic_pools_exhaustion_and_bad_requests() {
    let cluster = cluster(1);
    let host = &cluster.hosts[0];
    let ranged = request_pool(host, "10.31.0.0/24", "10.31.0.128/30");
    let first = allocated(&request_address(host, &ranged, "", false));
    let second = allocated(&request_address(host, &ranged, "", false));
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("10.31.0.129", "10.31.0.130")
    );
    let exhausted = request_address(host, &ranged, "", false);
    assert!(!exhausted.is_ok());
    let message = exhausted.body["Err"].as_str().unwrap_or_default();
    assert!(
        message.contains("10.31.0.0/24") && message.contains("exhausted"),
        "{message}"
    );

    let v6 = request_pool(host, "fd00:31::/64", "");
    assert_eq!(
        allocated(&request_address(host, &v6, "", false)),
        "fd00:31::1"
    );

    let auto_a = host.ok(
        "IpamDriver.RequestPool",
        json!({"AddressSpace": "docker-ovn", "Pool": ""}),
    );
    let auto_b = host.ok(
        "IpamDriver.RequestPool",
        json!({"AddressSpace": "docker-ovn", "Pool": ""}),
    );
    assert_ne!(
        auto_a["Pool"], auto_b["Pool"],
        "unspecific requests must get distinct pools"
    );

    for bad in [
        json!({"AddressSpace": "LocalDefault", "Pool": "10.32.0.0/24"}),
        json!({"AddressSpace": "docker-ovn", "Pool": "10.32.0.0/33"}),
        json!({"AddressSpace": "docker-ovn", "Pool": "10.32.0.0/24", "SubPool": "10.33.0.0/25"}),
        json!({"AddressSpace": "docker-ovn", "Pool": "10.32.0.0/24", "V6": true}),
    ] {
        let reply = host.call("IpamDriver.RequestPool", bad.clone());
        assert!(!reply.is_ok(), "{bad} accepted");
        assert!(
            !reply.body["Error"].as_str().unwrap_or_default().is_empty(),
            "{bad}: no Error"
        );
    }
    assert!(
        !request_address(host, &ranged, "10.99.0.1", false).is_ok(),
        "address outside the pool"
    );
}

/// Three hosts allocate from one /22 at once: every address is distinct
/// and the pool in Northbound holds exactly what was handed out.
#[test]
fn concurrent_allocations_on_three_hosts_never_collide() {
    let cluster = cluster(3);
    let pool = request_pool(&cluster.hosts[0], "10.40.0.0/22", "");
    for host in &cluster.hosts[1..] {
        assert_eq!(request_pool(host, "10.40.0.0/22", ""), pool);
    }
    let (allocations, releases) = allocate_everywhere(&cluster, &pool, 200, false);
    assert!(releases.is_empty());
    let first = live_addresses(&allocations, &releases);
    assert_eq!(first.len(), 600, "600 distinct addresses");
    assert_eq!(nb_addresses(&cluster, &pool).expect("pool"), first);

    // Again with releases interleaved: each thread frees one of its own
    // for every second allocation, and freed addresses are reused.
    let (more, released) = allocate_everywhere(&cluster, &pool, 200, true);
    assert!(!released.is_empty());
    let mut everything = allocations;
    everything.extend(more);
    let live = live_addresses(&everything, &released);
    assert_eq!(nb_addresses(&cluster, &pool).expect("pool"), live);
}

/// Addresses allocated and not released; panics if any address was live
/// twice at once (allocated twice without a release in between).
fn live_addresses(allocations: &[String], releases: &[String]) -> BTreeSet<String> {
    let mut count: std::collections::BTreeMap<&str, i64> = Default::default();
    for address in allocations {
        *count.entry(address).or_default() += 1;
    }
    for address in releases {
        *count.entry(address).or_default() -= 1;
    }
    for (address, n) in &count {
        assert!(
            (0..=1).contains(n),
            "{address} allocated {n} times without release"
        );
    }
    count
        .into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|(a, _)| a.to_string())
        .collect()
}

/// Every host allocates `per_host` addresses from 4 threads at once;
/// returns every allocation and every release made.
fn allocate_everywhere(
    cluster: &Cluster,
    pool: &str,
    per_host: usize,
    release_some: bool,
) -> (Vec<String>, Vec<String>) {
    const THREADS: usize = 4;
    std::thread::scope(|scope| {
        let workers: Vec<_> = cluster
            .hosts
            .iter()
            .flat_map(|host| (0..THREADS).map(move |_| host))
            .map(|host| {
                scope.spawn(move || {
                    let (mut mine, mut freed) = (Vec::new(), Vec::new());
                    for n in 0..per_host / THREADS {
                        mine.push(allocated(&request_address(host, pool, "", false)));
                        if release_some && n % 2 == 1 {
                            let victim = mine[mine.len() - 2].clone();
                            release_address(host, pool, &victim);
                            freed.push(victim);
                        }
                    }
                    (mine, freed)
                })
            })
            .collect();
        let (mut allocations, mut releases) = (Vec::new(), Vec::new());
        for worker in workers {
            let (mine, freed) = worker.join().expect("worker");
            allocations.extend(mine);
            releases.extend(freed);
        }
        (allocations, releases)
    })
}

/// The guard itself: a host whose view is stale (its replica frozen
/// before another host took an address) must not hand that address out.
#[test]
fn a_stale_view_never_hands_out_a_taken_address() {
    use docker_ovn::ovn::address_pools::AddressPools;
    use ovsdb_client::Client;
    use ovsdb_client::monitor::MonitorRequest;

    let nb = OvsdbServer::start(Schema::OvnNorthbound);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let connect = || async {
            let client = Client::connect(&nb.unix_target()).await.expect("connect");
            let replica = client
                .replicate("OVN_Northbound", &[MonitorRequest::new("Address_Set")])
                .await
                .expect("replicate");
            (client, replica)
        };
        let (client_a, replica_a) = connect().await;
        let host_a = AddressPools::new(client_a, replica_a, "host-a".into());
        let subnet = "10.50.0.0/29".parse().expect("subnet");
        let pool = host_a.acquire(subnet, None).await.expect("pool");

        // Host b's view stops here: its replica's connection is closed.
        let (viewer, frozen) = connect().await;
        viewer.close();
        let (client_b, _) = connect().await;
        let host_b = AddressPools::new(client_b, frozen, "host-b".into());

        let taken = host_a.allocate(&pool).await.expect("allocate on a");
        match host_b.allocate(&pool).await {
            Ok(address) => assert_ne!(address, taken, "{taken} handed out twice"),
            Err(error) => assert!(error.to_string().contains("try again"), "{error}"),
        }
    });
}

/// What dockerd does for one container: an address, then the endpoint;
/// if the endpoint fails, roll back (retrying while the driver is down).
/// Returns the address when the container got it.
fn start_container(
    host: &DriverDaemon,
    network: &str,
    pool: &str,
    endpoint: &str,
) -> Option<String> {
    let reply = request_address(host, pool, "", false);
    if !reply.is_ok() {
        return None;
    }
    let address = allocated(&reply);
    let created = host.call(
        "NetworkDriver.CreateEndpoint",
        json!({"NetworkID": network, "EndpointID": endpoint,
               "Interface": {"Address": format!("{address}/22")}}),
    );
    if created.is_ok() {
        return Some(address);
    }
    let ids = json!({"NetworkID": network, "EndpointID": endpoint});
    retry(|| {
        host.call("NetworkDriver.DeleteEndpoint", ids.clone())
            .is_ok()
    });
    retry(|| {
        host.call(
            "IpamDriver.ReleaseAddress",
            json!({"PoolID": pool, "Address": address}),
        )
        .is_ok()
    });
    None
}

fn retry(mut attempt: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !attempt() {
        assert!(
            std::time::Instant::now() < deadline,
            "the driver did not come back"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A driver killed with SIGKILL in the middle of allocations and started
/// again: no address is handed out twice, and once reclamation has run,
/// the pool holds exactly the addresses of live endpoints, the gateway and
/// the aux address: nothing lost.
#[test]
fn a_driver_killed_mid_allocation_loses_and_duplicates_nothing() {
    let cluster = cluster_with(3, &["--reclaim-grace", "1", "--reclaim-interval", "1"]);
    let pool = request_pool(&cluster.hosts[0], "10.60.0.0/22", "");
    let gateway = allocated(&request_address(&cluster.hosts[0], &pool, "", true));
    let aux = allocated(&request_address(
        &cluster.hosts[0],
        &pool,
        "10.60.0.9",
        false,
    ));
    let network = "6e7700000000000000000000000000000000000000000000000000000000cafe";
    for host in &cluster.hosts {
        assert_eq!(request_pool(host, "10.60.0.0/22", ""), pool);
        host.ok(
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": network, "Options": {"com.docker.network.generic": {"ovn.network": "killed"}},
                   "IPv4Data": [{"AddressSpace": "docker-ovn", "Pool": "10.60.0.0/22", "Gateway": format!("{gateway}/22"),
                                 "AuxAddresses": {"router": format!("{aux}/22")}}]}),
        );
    }
    let started: Vec<String> = std::thread::scope(|scope| {
        let hosts = &cluster.hosts;
        let workers: Vec<_> = (0..hosts.len() * 3)
            .map(|w| {
                let pool = &pool;
                scope.spawn(move || {
                    let host = &hosts[w % hosts.len()];
                    (0..60)
                        .filter_map(|n| {
                            start_container(
                                host,
                                network,
                                pool,
                                &format!("{w:04}{n:04}{:0<56}", "e"),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // Crash the third host's driver in the middle, then start it again.
        std::thread::sleep(std::time::Duration::from_millis(400));
        hosts[2].kill();
        std::thread::sleep(std::time::Duration::from_millis(300));
        hosts[2].restart();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(
        started.len() < 9 * 60,
        "the kill interrupted nothing: make the run longer"
    );
    let unique: BTreeSet<String> = started.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        started.len(),
        "an address went to two containers"
    );
    let mut expected = unique;
    expected.insert(gateway);
    expected.insert(aux);
    retry(|| nb_addresses(&cluster, &pool).as_ref() == Some(&expected));
}

/// Reconciliation frees this host's addresses that nothing uses (the
/// reply never reached dockerd, or its release never came), and never an
/// endpoint's, the gateway or an aux address, nor another host's.
#[test]
fn unused_addresses_are_reclaimed_and_used_ones_never() {
    let cluster = cluster_with(2, &["--reclaim-grace", "1", "--reclaim-interval", "1"]);
    let (a, b) = (&cluster.hosts[0], &cluster.hosts[1]);
    let pool = request_pool(a, "10.61.0.0/24", "");
    assert_eq!(request_pool(b, "10.61.0.0/24", ""), pool);
    let gateway = allocated(&request_address(a, &pool, "", true));
    let aux = allocated(&request_address(a, &pool, "10.61.0.9", false));
    let network = "6e7700000000000000000000000000000000000000000000000000000000beef";
    a.ok(
        "NetworkDriver.CreateNetwork",
        json!({"NetworkID": network, "Options": {"com.docker.network.generic": {"ovn.network": "reclaim"}},
               "IPv4Data": [{"AddressSpace": "docker-ovn", "Pool": "10.61.0.0/24", "Gateway": format!("{gateway}/24"),
                             "AuxAddresses": {"router": format!("{aux}/24")}}]}),
    );
    let in_use = start_container(a, network, &pool, &format!("{:0<64}", "1")).expect("container");
    let lost_on_a = allocated(&request_address(a, &pool, "", false));
    // Host b's unused address is host b's to reclaim, and it does.
    let lost_on_b = allocated(&request_address(b, &pool, "", false));
    let expected: BTreeSet<String> = [gateway, aux, in_use].into_iter().collect();
    retry(|| nb_addresses(&cluster, &pool).as_ref() == Some(&expected));
    let now = nb_addresses(&cluster, &pool).expect("pool");
    assert!(!now.contains(&lost_on_a) && !now.contains(&lost_on_b));
}
