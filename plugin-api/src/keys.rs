//! Decoding request bodies the way Go's `encoding/json` does.
//!
//! dockerd is written in Go and other tools imitate it, so a plugin must
//! accept what Go's decoder accepts: object keys matched to struct fields
//! case-insensitively (an exact match wins), unknown keys ignored, `null`
//! leaving a field at its zero value, and, for bodyless calls, an empty body.
//!
//! Rather than hand-writing this per struct, [`from_value`] runs serde over a
//! [`serde_json::Value`] through a thin deserializer that, whenever serde asks
//! for a *struct*, renames the object's keys to the field names serde passes
//! in (`deserialize_struct`'s `fields`) and drops `null`s. Maps (such as
//! `Options`) keep their keys verbatim, as Go's maps do. Errors carry the path
//! of the failing field (`IPv4Data[0].Pool`) so a 400 can name it.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::error::Error;

/// Parses a request body: an empty (or all-whitespace) body is `{}`.
pub fn parse(body: &[u8]) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(<Error as de::Error>::custom)
}

/// Decodes a request body into `T` with Go's leniency (see the module doc).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    from_value(parse(body)?)
}

/// Decodes an already parsed value into `T` with Go's leniency.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(GoValue(value))
}

/// Looks up a string member of an object, matching the key like Go does.
/// Used to put ids into log fields before the body is fully decoded.
pub fn lookup_str<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    let object = value.as_object()?;
    let found = object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    });
    found?.as_str()
}

/// Renames keys to the struct's field names and drops `null`s and unknown
/// keys. An exact match beats a case-insensitive one, as in Go.
fn canonicalise(object: Map<String, Value>, fields: &'static [&'static str]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        if value.is_null() {
            continue;
        }
        if let Some(exact) = fields.iter().find(|f| **f == key) {
            out.insert((*exact).to_owned(), value);
        } else if let Some(folded) = fields.iter().find(|f| f.eq_ignore_ascii_case(&key))
            && !out.contains_key(*folded)
        {
            out.insert((*folded).to_owned(), value);
        }
    }
    out
}

fn json_error(err: serde_json::Error) -> Error {
    <Error as de::Error>::custom(err)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct GoValue(Value);

impl<'de> de::Deserializer<'de> for GoValue {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(object) => visitor.visit_map(Entries::new(object)),
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            scalar => scalar.deserialize_any(visitor).map_err(json_error),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(object) => visitor.visit_map(Entries::new(canonicalise(object, fields))),
            Value::Null => visitor.visit_map(Entries::new(Map::new())),
            // serde would happily fill a struct from an array; Go refuses.
            other => Err(<Error as de::Error>::custom(format!(
                "invalid type: {}, expected a JSON object",
                json_kind(&other)
            ))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(GoValue(other)),
        }
    }

    // Go decodes `null` into a slice or map as "nothing".
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_seq(Items::new(Vec::new())),
            other => GoValue(other).deserialize_any(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_map(Entries::new(Map::new())),
            other => GoValue(other).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0
            .deserialize_enum(name, variants, visitor)
            .map_err(json_error)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

struct Entries {
    iter: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
}

impl Entries {
    fn new(object: Map<String, Value>) -> Self {
        Entries {
            iter: object.into_iter(),
            pending: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        let decoded = seed
            .deserialize(key.clone().into_deserializer())
            .map_err(|e: Error| e.within(&key))?;
        self.pending = Some((key, value));
        Ok(Some(decoded))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("map value requested before its key"))?;
        seed.deserialize(GoValue(value)).map_err(|e| e.within(&key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Items {
    iter: std::vec::IntoIter<Value>,
    index: usize,
}

impl Items {
    fn new(items: Vec<Value>) -> Self {
        Items {
            iter: items.into_iter(),
            index: 0,
        }
    }
}

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(value) = self.iter.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(GoValue(value))
            .map(Some)
            .map_err(|e| e.within(&format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
    #[serde(default)]
    struct Inner {
        #[serde(rename = "Pool")]
        pool: String,
        #[serde(rename = "Gateway")]
        gateway: String,
    }

    #[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
    #[serde(default)]
    struct Outer {
        #[serde(rename = "NetworkID")]
        network_id: String,
        #[serde(rename = "IPv4Data")]
        data: Vec<Inner>,
        #[serde(rename = "Options")]
        options: BTreeMap<String, Value>,
        #[serde(rename = "Flag")]
        flag: Option<bool>,
        #[serde(rename = "Count")]
        count: u16,
    }

    #[test]
    fn keys_match_case_insensitively_at_every_level() {
        let out: Outer = decode(
            br#"{"networkid":"n1","ipv4DATA":[{"pool":"10.0.0.0/24","GATEWAY":"10.0.0.1/24"}]}"#,
        )
        .unwrap();
        assert_eq!(out.network_id, "n1");
        assert_eq!(
            out.data,
            vec![Inner {
                pool: "10.0.0.0/24".into(),
                gateway: "10.0.0.1/24".into()
            }]
        );
    }

    #[test]
    fn exact_key_wins_over_folded_key() {
        for body in [
            br#"{"networkid":"folded","NetworkID":"exact"}"#.as_slice(),
            br#"{"NetworkID":"exact","networkid":"folded"}"#.as_slice(),
        ] {
            let out: Outer = decode(body).unwrap();
            assert_eq!(out.network_id, "exact");
        }
    }

    #[test]
    fn map_keys_are_kept_verbatim() {
        let out: Outer = decode(br#"{"Options":{"Com.Docker.X":1,"networkid":"kept"}}"#).unwrap();
        assert_eq!(out.options.get("Com.Docker.X"), Some(&Value::from(1)));
        assert_eq!(out.options.get("networkid"), Some(&Value::from("kept")));
        assert_eq!(out.network_id, "");
    }

    #[test]
    fn null_and_missing_fields_take_defaults() {
        let out: Outer = decode(
            br#"{"NetworkID":null,"IPv4Data":null,"Options":null,"Flag":null,"Count":null}"#,
        )
        .unwrap();
        assert_eq!(out, Outer::default());
        let out: Outer = decode(br#"{"IPv4Data":[null]}"#).unwrap();
        assert_eq!(out.data, vec![Inner::default()]);
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let out: Outer = decode(br#"{"Bogus":{"deep":[1,2]},"Flag":true}"#).unwrap();
        assert_eq!(out.flag, Some(true));
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert_eq!(parse(b"").unwrap(), Value::Object(Map::new()));
        assert_eq!(parse(b" \n").unwrap(), Value::Object(Map::new()));
        let out: Outer = decode(b"").unwrap();
        assert_eq!(out, Outer::default());
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode::<Outer>(br#"{"IPv4Data":[{},{"Pool":5}]}"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("field `IPv4Data[1].Pool`: invalid type: integer `5`"),
            "{text}"
        );
        let err = decode::<Outer>(br#"{"count":70000}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("field `Count`: invalid value"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_report_position() {
        let err = decode::<Outer>(b"{nope").unwrap_err();
        assert!(err.to_string().contains("line 1 column 2"), "{err}");
    }

    #[test]
    fn non_object_body_is_rejected() {
        let err = decode::<Outer>(b"[]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: array, expected a JSON object"
        );
        let err = decode::<Outer>(br#"{"IPv4Data":["x"]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `IPv4Data[0]`: invalid type: string, expected a JSON object"
        );
    }

    #[test]
    fn lookup_str_folds_case() {
        let v: Value = serde_json::from_str(r#"{"networkId":"n","EndpointID":"e","X":1}"#).unwrap();
        assert_eq!(lookup_str(&v, "NetworkID"), Some("n"));
        assert_eq!(lookup_str(&v, "EndpointID"), Some("e"));
        assert_eq!(lookup_str(&v, "X"), None);
        assert_eq!(lookup_str(&v, "PoolID"), None);
    }
}
