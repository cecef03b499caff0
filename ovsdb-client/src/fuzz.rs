//! Fuzzing of everything that decodes what a server sends: framing, the
//! JSON-RPC values, schemas, `update2` application and transaction
//! replies. Inputs are real messages (`fuzz_corpus/`) mutated byte by
//! byte; nothing may panic, hang or buffer past the frame limit.
//!
//! `cargo test -p ovsdb-client --lib fuzz` runs a short campaign (CI);
//! `FUZZ_CASES=1000000 cargo test --release -p ovsdb-client --lib fuzz`
//! the full one.

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value as Json;
use tokio_util::codec::Decoder;

use crate::framing::JsonCodec;
use crate::replica::{Layout, ReplicaShared};
use crate::schema::DatabaseSchema;
use crate::transaction::{Condition, Transaction};
use crate::value::{Row, Value};

const CORPUS: &[&str] = &[
    include_str!("../fuzz_corpus/update2.json"),
    include_str!("../fuzz_corpus/transact_reply.json"),
    include_str!("../fuzz_corpus/echo_and_error.json"),
    include_str!("../fuzz_corpus/schema.json"),
];

/// Above every corpus message, far below the default: the buffer bound is
/// checked against it (oversized frames have their own unit test).
const MAX_FRAME: usize = 1024;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

/// One byte-level edit of a corpus message.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"{}[]\",:\\0-9ae".to_vec())
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn mutate(seed: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Flip(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            Edit::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

/// Feeds `bytes` in `chunk`-sized reads; returns the frames decoded.
fn frames(bytes: &[u8], chunk: usize) -> Vec<Json> {
    let mut codec = JsonCodec::new(MAX_FRAME);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(json)) => out.push(json),
                Ok(None) => break,
                Err(_) => return out,
            }
        }
        assert!(
            buf.len() <= MAX_FRAME + chunk,
            "buffered {} bytes",
            buf.len()
        );
    }
    out
}

/// Every decoder that takes server data, on one decoded message.
fn decode_everything(message: &Json) {
    let _ = DatabaseSchema::from_json(message.get("result").unwrap_or(message));
    let mut txn = Transaction::new("DB");
    txn.insert("T", Row::new());
    txn.select("T", vec![Condition::eq("a", 1i64)]);
    txn.delete("T", vec![]);
    let _ = txn.parse_reply(message.get("result").unwrap_or(message));
    let _ = Row::from_json(message);
    walk(message);
    let replica = ReplicaShared::new(Layout::new(
        schema(),
        &[("Logical_Switch_Port".into(), None)],
    ));
    if let Some(updates) = message.get("params").and_then(|p| p.get(1)) {
        let _ = replica.reset(updates);
        let _ = replica.apply_update2(updates);
    }
}

/// `Value::from_json` on every node of the document.
fn walk(json: &Json) {
    let _ = Value::from_json(json);
    match json {
        Json::Array(items) => items.iter().for_each(walk),
        Json::Object(members) => members.values().for_each(walk),
        _ => {}
    }
}

fn schema() -> DatabaseSchema {
    let text = CORPUS[3];
    let reply: Json = serde_json::from_str(text).unwrap_or_default();
    DatabaseSchema::from_json(&reply["result"]).unwrap_or_else(|_| DatabaseSchema {
        name: "x".into(),
        version: String::new(),
        tables: Default::default(),
    })
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn mutated_server_messages_never_panic(
        seed in 0..CORPUS.len(),
        edits in prop::collection::vec(edit(), 0..8),
        chunk in 1usize..64,
    ) {
        let bytes = mutate(CORPUS[seed], &edits);
        for message in frames(&bytes, chunk) {
            decode_everything(&message);
        }
    }
}

#[test]
fn the_unmutated_corpus_decodes() {
    let all: String = CORPUS.concat();
    let decoded = frames(all.as_bytes(), 7);
    assert_eq!(decoded.len(), 6, "{decoded:?}");
}
