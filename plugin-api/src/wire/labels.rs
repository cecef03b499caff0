//! Well-known option keys (libnetwork's `netlabel` package) seen in requests.

/// CreateNetwork option: the map of `-o/--opt k=v` driver options.
pub const GENERIC: &str = "com.docker.network.generic";
/// CreateNetwork option: IPv4 enabled (sent by Docker 28 and later only).
pub const ENABLE_IPV4: &str = "com.docker.network.enable_ipv4";
/// CreateNetwork option: IPv6 enabled.
pub const ENABLE_IPV6: &str = "com.docker.network.enable_ipv6";
/// CreateNetwork option: present (true) for `--internal` networks.
pub const INTERNAL: &str = "com.docker.network.internal";
/// Generic driver option for the network MTU (arrives inside [`GENERIC`]).
pub const DRIVER_MTU: &str = "com.docker.network.driver.mtu";

/// Endpoint/sandbox option: exposed ports, `[{"Proto":6,"Port":80}]`.
pub const EXPOSED_PORTS: &str = "com.docker.network.endpoint.exposedports";
/// Endpoint/sandbox option: published ports.
pub const PORT_MAP: &str = "com.docker.network.portmap";
/// Endpoint option: DNS servers, `["1.1.1.1"]`.
pub const DNS_SERVERS: &str = "com.docker.network.endpoint.dnsservers";
/// Endpoint option: requested MAC. In network-driver requests it is a Go
/// `net.HardwareAddr` and so arrives base64-encoded; prefer
/// `Interface.MacAddress`. In IPAM `RequestAddress` it is a plain string.
pub const MAC_ADDRESS: &str = "com.docker.network.endpoint.macaddress";
/// Endpoint option: requested interface name (Docker 28; ignored by dockerd
/// for remote drivers).
pub const IFNAME: &str = "com.docker.network.endpoint.ifname";

/// IPAM RequestAddress option key saying what the address is for.
pub const REQUEST_ADDRESS_TYPE: &str = "RequestAddressType";
/// Value of [`REQUEST_ADDRESS_TYPE`] for the network gateway; also the key
/// under which RequestPool's `Data` may hand Docker a gateway directly.
pub const GATEWAY: &str = "com.docker.network.gateway";
