//! Framing of the JSON-RPC stream.
//!
//! ovsdb-server writes JSON objects back to back with no separator and the
//! socket may split them anywhere, so messages are found by an incremental
//! scanner that tracks string and nesting state across reads. Each byte is
//! looked at once; a complete frame is parsed by `serde_json` once.

use bytes::{Buf, BytesMut};
use serde_json::Value as Json;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::Error;

/// The default largest message accepted: big enough for the initial
/// contents of a monitored OVN Northbound database with tens of thousands of
/// ports, small enough that a broken peer cannot exhaust memory.
pub const DEFAULT_MAX_FRAME: usize = 256 * 1024 * 1024;

/// A `tokio_util` codec for OVSDB's JSON-RPC framing.
#[derive(Debug)]
pub struct JsonCodec {
    max_frame: usize,
    /// Bytes of the current frame already scanned.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl JsonCodec {
    /// A codec that refuses frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> JsonCodec {
        JsonCodec {
            max_frame,
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// Scans from where the last call stopped; returns the length of the
    /// first complete frame, if the buffer holds one.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, Error> {
        while self.scanned < buf.len() {
            let byte = buf[self.scanned];
            self.scanned += 1;
            if self.in_string {
                match byte {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' if self.depth > 0 => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Ok(Some(self.scanned));
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' if self.depth == 0 => {}
                _ if self.depth == 0 => {
                    return Err(Error::Protocol(format!(
                        "unexpected byte {:?} between messages",
                        byte as char
                    )));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

impl Default for JsonCodec {
    fn default() -> Self {
        JsonCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for JsonCodec {
    type Item = Json;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Json>, Error> {
        let scanned = self.scan(buf);
        let end = match scanned? {
            Some(end) => end,
            None if self.depth == 0 && !self.in_string => {
                // Only separating white space so far: drop it.
                buf.advance(self.scanned);
                self.scanned = 0;
                return Ok(None);
            }
            None if self.scanned > self.max_frame => {
                return Err(Error::FrameTooLarge {
                    limit: self.max_frame,
                });
            }
            None => return Ok(None),
        };
        if end > self.max_frame {
            return Err(Error::FrameTooLarge {
                limit: self.max_frame,
            });
        }
        let frame = buf.split_to(end);
        self.scanned = 0;
        release_spare(buf);
        serde_json::from_slice(&frame)
            .map(Some)
            .map_err(|e| Error::Protocol(format!("invalid JSON: {e}")))
    }
}

/// A read buffer above this capacity is not kept once drained.
const KEEP_CAPACITY: usize = 64 * 1024;

/// After one large message (a monitor's initial state), the read buffer
/// would otherwise keep its capacity, as large as that message, for the
/// life of the connection. What is left in it is copied to a buffer of
/// its own size, so the large one is freed with the frame.
fn release_spare(buf: &mut BytesMut) {
    if buf.capacity() > KEEP_CAPACITY && buf.len() <= KEEP_CAPACITY {
        *buf = BytesMut::from(&buf[..]);
    }
}

impl Encoder<Json> for JsonCodec {
    type Error = Error;

    fn encode(&mut self, message: Json, dst: &mut BytesMut) -> Result<(), Error> {
        let bytes = serde_json::to_vec(&message)
            .map_err(|e| Error::Protocol(format!("cannot encode message: {e}")))?;
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn decode_all(codec: &mut JsonCodec, buf: &mut BytesMut) -> Vec<Json> {
        let mut out = Vec::new();
        while let Some(msg) = codec.decode(buf).unwrap() {
            out.push(msg);
        }
        out
    }

    fn sample_messages() -> Vec<Json> {
        vec![
            json!({"id": 1, "result": ["Open_vSwitch", "_Server"], "error": null}),
            json!({"id": null, "method": "update2", "params": ["m", {"T": {"u": {"insert": {"s": "a}\"{[\\"}}}}]}),
            json!({"id": "echo", "method": "echo", "params": []}),
            json!({"id": 2, "result": [{}], "error": null}),
        ]
    }

    proptest! {
        #[test]
        fn frames_survive_any_split(split in 0usize..400, second in 0usize..400) {
            let messages = sample_messages();
            let wire: Vec<u8> = messages
                .iter()
                .flat_map(|m| serde_json::to_vec(m).unwrap())
                .collect();
            let a = split.min(wire.len());
            let b = second.min(wire.len()).max(a);
            let mut codec = JsonCodec::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in [&wire[..a], &wire[a..b], &wire[b..]] {
                buf.extend_from_slice(chunk);
                got.extend(decode_all(&mut codec, &mut buf));
            }
            prop_assert_eq!(got, messages);
            prop_assert!(buf.is_empty());
        }
    }

    #[test]
    fn every_single_split_point_and_byte_by_byte() {
        let messages = sample_messages();
        let wire: Vec<u8> = messages
            .iter()
            .flat_map(|m| serde_json::to_vec(m).unwrap())
            .collect();
        for split in 0..=wire.len() {
            let mut codec = JsonCodec::default();
            let mut buf = BytesMut::from(&wire[..split]);
            let mut got = decode_all(&mut codec, &mut buf);
            buf.extend_from_slice(&wire[split..]);
            got.extend(decode_all(&mut codec, &mut buf));
            assert_eq!(got, messages, "split at {split}");
        }
        let mut codec = JsonCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in &wire {
            buf.extend_from_slice(&[*byte]);
            got.extend(decode_all(&mut codec, &mut buf));
        }
        assert_eq!(got, messages);
    }

    #[test]
    fn a_large_message_leaves_no_large_buffer_behind() {
        let mut codec = JsonCodec::default();
        let big = json!({"a": "x".repeat(4 * KEEP_CAPACITY)});
        let mut buf = BytesMut::from(&serde_json::to_vec(&big).unwrap()[..]);
        buf.extend_from_slice(b"{\"b\":");
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(big));
        assert!(buf.capacity() <= KEEP_CAPACITY);
        buf.extend_from_slice(b"1}");
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(json!({"b": 1})));
    }

    #[test]
    fn white_space_between_messages_is_skipped() {
        let mut codec = JsonCodec::default();
        let mut buf = BytesMut::from(&b" \n{\"a\":1}\n\n {\"b\":[2]} "[..]);
        assert_eq!(
            decode_all(&mut codec, &mut buf),
            vec![json!({"a": 1}), json!({"b": [2]})]
        );
    }

    #[test]
    fn oversized_frame_is_an_error_not_unbounded_memory() {
        let mut codec = JsonCodec::new(64);
        let mut buf = BytesMut::from(&b"{\"a\":\""[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&[b'x'; 100]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(Error::FrameTooLarge { limit: 64 })
        ));
    }

    #[test]
    fn garbage_between_messages_is_a_protocol_error() {
        let mut codec = JsonCodec::default();
        let mut buf = BytesMut::from(&b"{}x{}"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(json!({})));
        assert!(matches!(codec.decode(&mut buf), Err(Error::Protocol(_))));
    }

    #[test]
    fn invalid_json_inside_a_frame_is_a_protocol_error() {
        let mut codec = JsonCodec::default();
        let mut buf = BytesMut::from(&b"{\"a\" 1}"[..]);
        assert!(matches!(codec.decode(&mut buf), Err(Error::Protocol(_))));
    }
}
