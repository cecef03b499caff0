//! Turning off transmit checksum offload on a container's interface.
//!
//! The userspace datapath forwards frames as the kernel hands them to its
//! packet sockets: a TCP or UDP segment whose checksum the sender left to
//! "hardware" arrives at the other container with a wrong checksum and is
//! dropped (ping, whose checksum is computed in full, still works). With
//! transmit checksum offload off on the container's side of the veth, the
//! kernel computes every checksum itself (and, with it, stops handing out
//! oversized TSO segments).

use std::ffi::c_void;

use crate::error::{DriverError, Result};

/// `SIOCETHTOOL` and `ETHTOOL_STXCSUM` from `<linux/sockios.h>` and
/// `<linux/ethtool.h>`.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_STXCSUM: u32 = 0x0000_0017;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut c_void,
    // `struct ifreq` is 40 bytes on 64-bit Linux; the rest is unused here.
    _pad: [u8; 16],
}

/// Turns transmit checksum offload off on `interface` (in this namespace).
pub fn disable_tx_checksum(interface: &str) -> Result<()> {
    let error = |reason: String| DriverError::Netlink {
        interface: interface.to_string(),
        operation: "turn off transmit checksum offload",
        reason,
    };
    if interface.len() >= libc::IFNAMSIZ {
        return Err(error("name too long".into()));
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    let mut request = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: (&mut value as *mut EthtoolValue).cast(),
        _pad: [0; 16],
    };
    for (slot, byte) in request.name.iter_mut().zip(interface.bytes()) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: a plain datagram socket, closed below; the ioctl reads
    // `request` and the `value` it points to, both alive for the call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(error(std::io::Error::last_os_error().to_string()));
        }
        let result = libc::ioctl(fd, SIOCETHTOOL as _, &mut request as *mut IfReq);
        let failure = std::io::Error::last_os_error();
        libc::close(fd);
        if result < 0 {
            return Err(error(failure.to_string()));
        }
    }
    Ok(())
}
