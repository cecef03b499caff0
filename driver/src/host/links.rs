//! Kernel network devices over rtnetlink: the veth pair of each endpoint,
//! and the link settings and address of each gateway port.
//!
//! No `ip` processes: one netlink connection serves the daemon. Devices
//! are only created in the daemon's own namespace; Docker moves the
//! container side into the sandbox after `Join` returns.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkMessage,
};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec};

use crate::error::{DriverError, Result};
use crate::host::link_scan;
pub use crate::host::link_scan::AliasedLink;
use crate::mac::MacAddr;

/// The link group of pairs waiting for deletion by the reaper
/// ([`crate::host::veth_reaper`]): "dovn" in ASCII.
pub const RETIRED_GROUP: u32 = 0x646f_766e;

/// The link group a pair is created in ("dovc"), and leaves in the same
/// request that gives it its alias, the mark that makes it the driver's.
/// The kernel takes no alias when creating a device, so a daemon killed
/// between the two requests would leave a pair nothing marks as its own;
/// the next daemon deletes this group when it starts, before it serves.
pub const UNFINISHED_GROUP: u32 = 0x646f_7663;

/// ENODEV: the kernel's answer for a device that does not exist.
const ENODEV: i32 = 19;

/// EEXIST: a device of the name asked for exists already.
const EEXIST: i32 = 17;

/// A handle on the kernel's link table.
#[derive(Clone)]
pub struct Links {
    pub(super) handle: Handle,
    /// Held through each dump (addresses, routes): the kernel refuses a
    /// second dump on a netlink socket while one runs (EBUSY), and two
    /// CreateNetworks at once (a route check beside a gateway's
    /// addresses) would otherwise fail one of them.
    pub(super) dumping: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Links {
    /// Opens a netlink connection; must be called inside a tokio runtime.
    pub fn connect() -> Result<Links> {
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|e| open_error(e.to_string()))?;
        tokio::spawn(connection);
        Ok(Links::of(handle))
    }

    /// Like [`Links::connect`], with the connection on a thread of its own
    /// (`thread` names it), in the calling thread's network namespace. The
    /// kernel handles a netlink request inside the sender's `sendmsg`, and
    /// deleting a group of veth pairs takes a kernel grace period there:
    /// on the daemon's one-threaded runtime that stalled every call in
    /// flight (docs/benchmarks.md).
    pub fn connect_on_own_thread(thread: &str) -> Result<Links> {
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(thread.to_string())
            .spawn(move || drive_connection(sent))
            .map_err(|e| open_error(e.to_string()))?;
        let handle = received
            .recv()
            .map_err(|e| open_error(e.to_string()))?
            .map_err(open_error)?;
        Ok(Links::of(handle))
    }

    fn of(handle: Handle) -> Links {
        Links {
            handle,
            dumping: Default::default(),
        }
    }

    /// Creates `host` (up, without ARP) paired with `peer`, both with
    /// `mtu`, the peer with `peer_mac`, in one netlink request: no
    /// half-made pair. `host` gets the alias `alias`, the mark that tells
    /// reconciliation the pair is the driver's (the kernel ignores an
    /// alias in the create request). `Ok(false)`, and nothing changed,
    /// when a device already has one of the names: the common case asks
    /// the kernel nothing before creating.
    pub async fn create_veth(
        &self,
        host: &str,
        peer: &str,
        mtu: u32,
        peer_mac: MacAddr,
        alias: &str,
    ) -> Result<bool> {
        match self.add_veth(host, peer, mtu, peer_mac).await {
            Err(e) if is_taken(&e) => return Ok(false),
            created => created.map_err(|e| netlink_error(host, "create veth pair", e))?,
        }
        if let Err(error) = self.finish_veth(host, alias).await {
            self.delete(host).await?;
            return Err(error);
        }
        Ok(true)
    }

    async fn add_veth(
        &self,
        host: &str,
        peer: &str,
        mtu: u32,
        peer_mac: MacAddr,
    ) -> std::result::Result<(), rtnetlink::Error> {
        let peer_message = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_string())
            .mtu(mtu)
            .address(peer_mac.0.to_vec())
            .build();
        let message = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
            .name(host.to_string())
            .mtu(mtu)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_message)))
            .up()
            // The host side is a switch port, not an interface of this
            // host: with ARP on, the kernel (which sees its frames too on
            // the userspace datapath) answers the container's ARP for the
            // gateway address (a local one) with this veth's MAC, and the
            // container's traffic bypasses the gateway port.
            .arp(false)
            // Until the alias marks it ([`UNFINISHED_GROUP`]).
            .link_group(UNFINISHED_GROUP)
            .build();
        self.handle.link().add(message).execute().await
    }

    /// Marks the new pair the driver's: the alias, and out of
    /// [`UNFINISHED_GROUP`], in one request that names the device (the
    /// kernel finds it by name; no lookup of its index first).
    async fn finish_veth(&self, name: &str, alias: &str) -> Result<()> {
        let message = LinkUnspec::new_with_name(name)
            .alias(alias)
            .link_group(0)
            .build();
        self.set(name, "set alias", message).await
    }

    /// Every device with an alias starting with `alias_prefix`: the
    /// driver's own veths, whatever their names. Read by [`link_scan`],
    /// whose memory does not grow with the number of links.
    pub async fn with_alias_prefix(&self, alias_prefix: &str) -> Result<Vec<AliasedLink>> {
        link_scan::with_alias_prefix(alias_prefix).await
    }

    /// The index and alias (empty if none) of the device called `name`.
    pub async fn index_and_alias(&self, name: &str) -> Result<Option<(u32, String)>> {
        let Some(link) = self.find(name).await? else {
            return Ok(None);
        };
        let alias = link
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::IfAlias(alias) => Some(alias.clone()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(Some((link.header.index, alias)))
    }

    /// The index of the device called `name`, if there is one.
    pub async fn index_of(&self, name: &str) -> Result<Option<u32>> {
        match self.find(name).await? {
            Some(link) => Ok(Some(link.header.index)),
            None => Ok(None),
        }
    }

    async fn find(&self, name: &str) -> Result<Option<LinkMessage>> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(link) => Ok(link),
            Err(e) if is_gone(&e) => Ok(None),
            Err(e) => Err(netlink_error(name, "look up", e)),
        }
    }

    /// Deletes `name` (and so its veth peer); `false` when it was not there.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let Some(index) = self.index_of(name).await? else {
            return Ok(false);
        };
        self.delete_index(name, index).await
    }

    /// Deletes the device with index `index` (called `name` in errors):
    /// unlike a name, an index is never that of a newer device.
    pub async fn delete_index(&self, name: &str, index: u32) -> Result<bool> {
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(e) if is_gone(&e) => Ok(false),
            Err(e) => Err(netlink_error(name, "delete", e)),
        }
    }

    /// Moves device `index` (called `name` in errors) into link `group`;
    /// `Ok(false)` when it is gone already.
    pub async fn set_group(&self, name: &str, index: u32, group: u32) -> Result<bool> {
        let message = LinkUnspec::new_with_index(index).link_group(group).build();
        match self.handle.link().set(message).execute().await {
            Ok(()) => Ok(true),
            Err(e) if is_gone(&e) => Ok(false),
            Err(e) => Err(netlink_error(name, "set link group", e)),
        }
    }

    /// Deletes every device in link `group` with one request, which the
    /// kernel unregisters as one batch.
    pub async fn delete_group(&self, group: u32) -> Result<()> {
        let mut request = self.handle.link().del(0);
        request
            .message_mut()
            .attributes
            .push(LinkAttribute::Group(group));
        match request.execute().await {
            Ok(()) => Ok(()),
            // The kernel's answer for an empty group.
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(netlink_error(
                &format!("link group {group:#x}"),
                "delete",
                e,
            )),
        }
    }
}

/// Whether the kernel answered that a device of the name exists.
fn is_taken(error: &rtnetlink::Error) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(e) if e.raw_code() == -EEXIST)
}

/// Whether the kernel answered that the device does not exist.
fn is_gone(error: &rtnetlink::Error) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(e) if e.raw_code() == -ENODEV)
}

/// What a gateway port's device looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub index: u32,
    pub up: bool,
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
}

impl Links {
    /// Index, flags, MTU and MAC of the device called `name`, if any.
    pub async fn state(&self, name: &str) -> Result<Option<LinkState>> {
        Ok(self.find(name).await?.map(|link| link_state(&link)))
    }

    /// Sets the device up with `mtu` and `mac`, in one request.
    pub async fn set_up(&self, name: &str, index: u32, mtu: u32, mac: MacAddr) -> Result<()> {
        let message = LinkUnspec::new_with_index(index)
            .mtu(mtu)
            .address(mac.0.to_vec())
            .up()
            .build();
        self.set(name, "set up", message).await
    }

    /// Sends a link change (`message`) about device `name`.
    async fn set(&self, name: &str, operation: &'static str, message: LinkMessage) -> Result<()> {
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|e| netlink_error(name, operation, e))
    }

    /// The IPv4 addresses (with prefix) on device `index`.
    pub async fn ipv4_addresses(&self, name: &str, index: u32) -> Result<Vec<Ipv4Net>> {
        let _one_dump = self.dumping.lock().await;
        let mut found = Vec::new();
        let mut addresses = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(message) = addresses
            .try_next()
            .await
            .map_err(|e| netlink_error(name, "list addresses", e))?
        {
            found.extend(ipv4_of(&message));
        }
        Ok(found)
    }

    /// Adds `address` to device `index` unless it is there already.
    pub async fn ensure_address(&self, name: &str, index: u32, address: Ipv4Net) -> Result<bool> {
        if self.ipv4_addresses(name, index).await?.contains(&address) {
            return Ok(false);
        }
        self.handle
            .address()
            .add(index, IpAddr::V4(address.addr()), address.prefix_len())
            .execute()
            .await
            .map_err(|e| netlink_error(name, "add address", e))?;
        Ok(true)
    }

    /// Removes every IPv4 address of the device called `name` (a gateway
    /// port's: nothing else is ever on it); `Ok(false)` if there was none.
    pub async fn remove_ipv4_addresses(&self, name: &str) -> Result<bool> {
        let Some(state) = self.state(name).await? else {
            return Ok(false);
        };
        let one_dump = self.dumping.lock().await;
        let mut addresses = self
            .handle
            .address()
            .get()
            .set_link_index_filter(state.index)
            .execute();
        let mut found = Vec::new();
        while let Some(message) = addresses
            .try_next()
            .await
            .map_err(|e| netlink_error(name, "list addresses", e))?
        {
            if ipv4_of(&message).is_some() {
                found.push(message);
            }
        }
        drop((addresses, one_dump));
        let removed = !found.is_empty();
        for message in found {
            self.handle
                .address()
                .del(message)
                .execute()
                .await
                .map_err(|e| netlink_error(name, "delete address", e))?;
        }
        Ok(removed)
    }
}

fn link_state(link: &LinkMessage) -> LinkState {
    let mut state = LinkState {
        index: link.header.index,
        up: link.header.flags.contains(LinkFlags::Up),
        mtu: None,
        mac: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::Mtu(mtu) => state.mtu = Some(*mtu),
            LinkAttribute::Address(bytes) => {
                state.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr)
            }
            _ => {}
        }
    }
    state
}

/// The IPv4 address of an address message (its local address: on a
/// point-to-point link `Address` is the peer's).
fn ipv4_of(message: &AddressMessage) -> Option<Ipv4Net> {
    let mut address = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(IpAddr::V4(local)) => address = Some(*local),
            AddressAttribute::Address(IpAddr::V4(ip)) if address.is_none() => address = Some(*ip),
            _ => {}
        }
    }
    Ipv4Net::new(address?, message.header.prefix_len).ok()
}

/// Opens a netlink connection on this thread, sends its handle (or why
/// there is none) through `sent`, and serves the connection until every
/// handle is gone.
fn drive_connection(sent: std::sync::mpsc::Sender<std::result::Result<Handle, String>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = sent.send(Err(e.to_string()));
            return;
        }
    };
    runtime.block_on(async move {
        match rtnetlink::new_connection() {
            Ok((connection, handle, _)) => {
                let _ = sent.send(Ok(handle));
                connection.await;
            }
            Err(e) => {
                let _ = sent.send(Err(e.to_string()));
            }
        }
    });
}

fn open_error(reason: String) -> DriverError {
    DriverError::Netlink {
        interface: "-".into(),
        operation: "open netlink socket",
        reason,
    }
}

pub(super) fn netlink_error(
    interface: &str,
    operation: &'static str,
    error: rtnetlink::Error,
) -> DriverError {
    DriverError::Netlink {
        interface: interface.to_string(),
        operation,
        reason: error.to_string(),
    }
}
