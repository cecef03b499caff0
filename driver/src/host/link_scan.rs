//! The driver's veths found among all of this namespace's links, in
//! memory that does not grow with the number of links.
//!
//! rtnetlink's link dump decodes every attribute of every link (counters,
//! each address family's configuration) and queues the decoded messages
//! faster than a reader takes them: with thousands of veths one dump held
//! tens of MB at its peak (docs/benchmarks.md), and reconciliation dumps
//! every 30 seconds. A
//! reconciliation pass needs three attributes, so this reads the dump one
//! receive buffer at a time, asks the kernel to leave the counters out,
//! and keeps only each matching link's name, alias and whether its peer
//! is in another namespace.
//!
//! A dump that a concurrent change interrupted (`NLM_F_DUMP_INTR`) may
//! have skipped a link; it is read again, and after [`ATTEMPTS`] an error,
//! because reconciliation must never act on a veth it did not see.

use netlink_sys::{Socket, protocols::NETLINK_ROUTE};

use crate::error::{DriverError, Result};

/// A link whose alias starts with the prefix asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasedLink {
    pub name: String,
    pub alias: String,
    /// Whether its veth peer is in another network namespace (moved into
    /// a sandbox).
    pub peer_elsewhere: bool,
}

/// How often an interrupted dump is read again.
pub const ATTEMPTS: usize = 3;

const NLMSG_HEADER: usize = 16;
const IFINFOMSG: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_DUMP_INTR: u16 = 0x10;
const IFLA_IFNAME: u16 = 3;
const IFLA_IFALIAS: u16 = 20;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_LINK_NETNSID: u16 = 37;
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// Attribute type bits that are flags, not the type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// Larger than any dump part the kernel sends (it fills at most 32 KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Every link of this namespace whose alias starts with `alias_prefix`,
/// read on a blocking thread.
pub async fn with_alias_prefix(alias_prefix: &str) -> Result<Vec<AliasedLink>> {
    let prefix = alias_prefix.to_string();
    tokio::task::spawn_blocking(move || scan(&prefix))
        .await
        .map_err(|e| error(alias_prefix, e))?
}

/// [`with_alias_prefix`], blocking.
fn scan(alias_prefix: &str) -> Result<Vec<AliasedLink>> {
    for _ in 0..ATTEMPTS {
        let (found, interrupted) = dump(alias_prefix).map_err(|e| error(alias_prefix, e))?;
        if !interrupted {
            return Ok(found);
        }
    }
    Err(error(
        alias_prefix,
        format!("the link dump was interrupted by concurrent changes {ATTEMPTS} times"),
    ))
}

fn error(alias_prefix: &str, reason: impl ToString) -> DriverError {
    DriverError::Netlink {
        interface: format!("links aliased {alias_prefix:?}*"),
        operation: "list links",
        reason: reason.to_string(),
    }
}

/// One dump: the matching links, and whether the kernel says it was
/// interrupted.
fn dump(alias_prefix: &str) -> std::io::Result<(Vec<AliasedLink>, bool)> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    let sequence = 1;
    socket.send(&dump_request(sequence), 0)?;
    let mut found = Vec::new();
    let mut interrupted = false;
    let mut buffer = Vec::with_capacity(RECEIVE_BUFFER);
    loop {
        buffer.clear();
        socket.recv(&mut buffer, 0)?;
        for message in Messages(&buffer) {
            let message = message?;
            if message.sequence != sequence {
                continue;
            }
            interrupted |= message.flags & NLM_F_DUMP_INTR != 0;
            match message.kind {
                NLMSG_DONE => return Ok((found, interrupted)),
                NLMSG_ERROR => return Err(error_reply(message.payload)),
                RTM_NEWLINK => found.extend(
                    aliased_link(message.payload).filter(|l| l.alias.starts_with(alias_prefix)),
                ),
                _ => {}
            }
        }
    }
}

/// RTM_GETLINK for every link, without counters.
fn dump_request(sequence: u32) -> Vec<u8> {
    let attribute_len = 4 + 4;
    let len = NLMSG_HEADER + IFINFOMSG + attribute_len;
    let mut request = Vec::with_capacity(len);
    request.extend_from_slice(&(len as u32).to_ne_bytes());
    request.extend_from_slice(&RTM_GETLINK.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&sequence.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&[0; IFINFOMSG]); // AF_UNSPEC, any link
    request.extend_from_slice(&(attribute_len as u16).to_ne_bytes());
    request.extend_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
    request.extend_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    request
}

fn error_reply(payload: &[u8]) -> std::io::Error {
    match payload.get(..4) {
        Some(code) => {
            let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
            std::io::Error::from_raw_os_error(code.saturating_neg())
        }
        None => malformed("a short error reply"),
    }
}

fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("netlink: {what}"))
}

/// One netlink message of a receive buffer.
struct Message<'a> {
    kind: u16,
    flags: u16,
    sequence: u32,
    payload: &'a [u8],
}

/// The messages of one receive buffer, each checked to fit in it.
struct Messages<'a>(&'a [u8]);

impl<'a> Iterator for Messages<'a> {
    type Item = std::io::Result<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.len() < NLMSG_HEADER {
            return None;
        }
        let len = u32_at(self.0, 0) as usize;
        if len < NLMSG_HEADER || len > self.0.len() {
            self.0 = &[];
            return Some(Err(malformed("a message longer than its buffer")));
        }
        let message = Message {
            kind: u16_at(self.0, 4),
            flags: u16_at(self.0, 6),
            sequence: u32_at(self.0, 8),
            payload: &self.0[NLMSG_HEADER..len],
        };
        self.0 = self.0.get(align(len)..).unwrap_or_default();
        Some(Ok(message))
    }
}

/// Name, alias and peer namespace of one RTM_NEWLINK; `None` for a link
/// without name or alias.
fn aliased_link(payload: &[u8]) -> Option<AliasedLink> {
    let mut attributes = payload.get(IFINFOMSG..)?;
    let (mut name, mut alias, mut peer_elsewhere) = (None, None, false);
    while attributes.len() >= 4 {
        let len = u16_at(attributes, 0) as usize;
        if len < 4 || len > attributes.len() {
            return None;
        }
        let value = &attributes[4..len];
        match u16_at(attributes, 2) & NLA_TYPE_MASK {
            IFLA_IFNAME => name = Some(c_string(value)),
            IFLA_IFALIAS => alias = Some(c_string(value)),
            IFLA_LINK_NETNSID => peer_elsewhere = true,
            _ => {}
        }
        attributes = attributes.get(align(len)..).unwrap_or_default();
    }
    Some(AliasedLink {
        name: name?,
        alias: alias?,
        peer_elsewhere,
    })
}

fn c_string(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut bytes = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(value);
        bytes.resize(align(bytes.len()), 0);
        bytes
    }

    fn message(kind: u16, flags: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HEADER + payload.len()) as u32;
        let mut bytes = len.to_ne_bytes().to_vec();
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    fn new_link(attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut payload = vec![0; IFINFOMSG];
        attributes.iter().for_each(|a| payload.extend_from_slice(a));
        payload
    }

    #[test]
    fn name_alias_and_peer_namespace_are_read_and_the_rest_skipped() {
        let payload = new_link(&[
            attribute(IFLA_IFNAME, b"ovn0123456789ab\0"),
            attribute(27, &[0; 7]), // an attribute of no interest, padded
            attribute(IFLA_IFALIAS, b"docker-ovn endpoint x\0"),
            attribute(IFLA_LINK_NETNSID, &1u32.to_ne_bytes()),
        ]);
        assert_eq!(
            aliased_link(&payload),
            Some(AliasedLink {
                name: "ovn0123456789ab".into(),
                alias: "docker-ovn endpoint x".into(),
                peer_elsewhere: true,
            })
        );
    }

    #[test]
    fn links_without_alias_or_with_broken_attributes_are_not_ours() {
        let no_alias = new_link(&[attribute(IFLA_IFNAME, b"eth0\0")]);
        assert_eq!(aliased_link(&no_alias), None);
        let mut broken = new_link(&[attribute(IFLA_IFNAME, b"eth0\0")]);
        broken.extend_from_slice(&[200, 0, 20, 0]); // claims 200 bytes
        assert_eq!(aliased_link(&broken), None);
        assert_eq!(aliased_link(&[0; 3]), None);
    }

    #[test]
    fn a_buffer_splits_into_its_messages_and_a_lying_length_ends_it() {
        let mut buffer = message(RTM_NEWLINK, NLM_F_DUMP_INTR, 7, &[1, 2, 3]);
        buffer.resize(align(buffer.len()), 0);
        buffer.extend(message(NLMSG_DONE, 0, 7, &[0; 4]));
        let messages: Vec<_> = Messages(&buffer).map(|m| m.unwrap()).collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].payload, &[1, 2, 3]);
        assert_eq!(messages[0].flags, NLM_F_DUMP_INTR);
        assert_eq!((messages[1].kind, messages[1].sequence), (NLMSG_DONE, 7));

        let mut lying = message(RTM_NEWLINK, 0, 7, &[]);
        lying[0] = 255;
        assert!(Messages(&lying).next().unwrap().is_err());
    }

    #[test]
    fn an_error_reply_carries_the_kernels_errno() {
        let reply = error_reply(&(-libc::EPERM).to_ne_bytes());
        assert_eq!(reply.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn the_request_asks_for_every_link_without_counters() {
        let request = dump_request(9);
        assert_eq!(u32_at(&request, 0) as usize, request.len());
        assert_eq!(u16_at(&request, 4), RTM_GETLINK);
        assert_eq!(u16_at(&request, 6), NLM_F_REQUEST | NLM_F_DUMP);
        let mask = &request[NLMSG_HEADER + IFINFOMSG..];
        assert_eq!(u16_at(mask, 2), IFLA_EXT_MASK);
        assert_eq!(u32_at(mask, 4), RTEXT_FILTER_SKIP_STATS);
    }

    /// Needs root (CAP_NET_ADMIN) to make a namespace; run as root in CI.
    #[test]
    fn the_dump_finds_exactly_the_aliased_veths_of_its_namespace() {
        let probe = "dovn-scan-probe";
        let names = ["dvsc0", "dvsc1", "dvsc2"];
        let peers = ["dvsp0", "dvsp1", "dvsp2"];
        let sandbox = test_support::Sandbox::new(probe);
        for (name, peer) in names.iter().zip(peers) {
            test_support::ip_ok(&[
                "-n", probe, "link", "add", name, "type", "veth", "peer", peer,
            ]);
        }
        test_support::ip_ok(&["-n", probe, "link", "set", names[0], "alias", "dovn-scan a"]);
        test_support::ip_ok(&["-n", probe, "link", "set", names[1], "alias", "other b"]);
        // names[2]'s peer leaves for another namespace.
        let elsewhere = test_support::Sandbox::new("dovn-scan-elsewhere");
        test_support::ip_ok(&[
            "-n",
            probe,
            "link",
            "set",
            peers[2],
            "netns",
            &elsewhere.name,
        ]);
        test_support::ip_ok(&["-n", probe, "link", "set", names[2], "alias", "dovn-scan c"]);
        let found = std::thread::spawn(move || {
            let _in_probe = enter_netns(probe);
            scan("dovn-scan ")
        })
        .join()
        .unwrap()
        .unwrap();
        let mut found: Vec<_> = found
            .into_iter()
            .map(|l| (l.name, l.alias, l.peer_elsewhere))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("dvsc0".to_string(), "dovn-scan a".to_string(), false),
                ("dvsc2".to_string(), "dovn-scan c".to_string(), true),
            ]
        );
        drop(sandbox);
    }

    /// Moves this thread into the named namespace (the thread ends after).
    fn enter_netns(name: &str) -> std::fs::File {
        let file = std::fs::File::open(format!("/var/run/netns/{name}")).unwrap();
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        file
    }
}
