//! Big-endian writing and the framing facts every message shares.

use crate::error::{FlowsError, Result};

/// OpenFlow 1.3's and 1.4's version bytes. Every message the crate
/// encodes has the same layout in both (FLOW_MOD's `importance`, new in
/// 1.4, sits where 1.3 has padding, and is 0), bundles aside.
pub const OFP13: u8 = 0x04;
pub const OFP14: u8 = 0x05;

/// Where the header's xid ends: a message shorter has none.
pub const XID_END: usize = 8;

/// The big-endian number of `N` bytes at `at`, if `bytes` holds them.
fn get<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

pub fn get_u16(bytes: &[u8], at: usize) -> Option<u16> {
    get(bytes, at).map(u16::from_be_bytes)
}

pub fn get_u32(bytes: &[u8], at: usize) -> Option<u32> {
    get(bytes, at).map(u32::from_be_bytes)
}

pub fn get_u64(bytes: &[u8], at: usize) -> Option<u64> {
    get(bytes, at).map(u64::from_be_bytes)
}

pub fn put_u8(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

pub fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn put_zeros(out: &mut Vec<u8>, count: usize) {
    out.resize(out.len() + count, 0);
}

/// Pads what was written since `start` to a multiple of 8 bytes.
pub fn pad_to_8(out: &mut Vec<u8>, start: usize) {
    let written = out.len() - start;
    put_zeros(out, (8 - written % 8) % 8);
}

/// Writes a 16-bit length at `at`: the bytes from `start` to the end.
pub fn set_len_u16(out: &mut [u8], at: usize, start: usize) -> Result<()> {
    let len = out.len() - start;
    let len16 = u16::try_from(len).map_err(|_| FlowsError::TooLong(len))?;
    out[at..at + 2].copy_from_slice(&len16.to_be_bytes());
    Ok(())
}

/// Starts a message of `kind` with `xid`; [`finish`] sets its length.
pub fn start_message(kind: u8, xid: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put_u8(&mut out, OFP13);
    put_u8(&mut out, kind);
    put_u16(&mut out, 0);
    put_u32(&mut out, xid);
    out
}

/// Sets the message's length field.
pub fn finish(mut message: Vec<u8>) -> Result<Vec<u8>> {
    set_len_u16(&mut message, 2, 0)?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_lengths() {
        let mut out = vec![1, 2, 3];
        pad_to_8(&mut out, 0);
        assert_eq!(out.len(), 8);
        pad_to_8(&mut out, 0);
        assert_eq!(out.len(), 8);
        let message = finish(start_message(20, 7)).expect("short");
        assert_eq!(message, [4, 20, 0, 8, 0, 0, 0, 7]);
        let mut long = vec![0; 70_000];
        assert_eq!(
            set_len_u16(&mut long, 0, 0),
            Err(FlowsError::TooLong(70_000))
        );
    }
}
