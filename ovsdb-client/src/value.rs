//! The OVSDB data model of RFC 7047 section 5.1: atoms, sets and maps.
//!
//! A [`Value`] is always held as a set or a map. A scalar column is a set of
//! exactly one atom, and an optional column a set of zero or one: that is how
//! RFC 7047 defines them, and it lets one diff rule serve every column. On the
//! wire a one-element set is written as the bare atom, which the RFC allows
//! and ovsdb-server prefers.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::error::{Error, Result};

/// One OVSDB atom (RFC 7047 section 5.1, `<atom>`).
///
/// Strings are shared `Arc<str>`: a replica keeps one copy of each
/// distinct string (the same keys and ids recur in every row), and an
/// atom is 24 bytes rather than the 32 a `String` would make it.
#[derive(Debug, Clone)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(Arc<str>),
    Uuid(Uuid),
    /// A `named-uuid`: a name given to a row inserted earlier in the same
    /// transaction, replaced by its real UUID when the server commits.
    NamedUuid(String),
}

impl Atom {
    /// Decodes one atom from its JSON form.
    pub fn from_json(json: &Json) -> Result<Atom> {
        match json {
            Json::Bool(b) => Ok(Atom::Boolean(*b)),
            Json::String(s) => Ok(Atom::String(Arc::from(s.as_str()))),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Ok(Atom::Integer(i)),
                None => n
                    .as_f64()
                    .map(Atom::Real)
                    .ok_or_else(|| Error::decode(format!("number out of range: {n}"))),
            },
            Json::Array(pair) if pair.len() == 2 => Self::tagged_from_json(&pair[0], &pair[1]),
            other => Err(Error::decode(format!("not an OVSDB atom: {other}"))),
        }
    }

    fn tagged_from_json(tag: &Json, body: &Json) -> Result<Atom> {
        let text = body
            .as_str()
            .ok_or_else(|| Error::decode(format!("{tag} must be followed by a string")))?;
        match tag.as_str() {
            Some("uuid") => Uuid::parse_str(text)
                .map(Atom::Uuid)
                .map_err(|e| Error::decode(format!("bad uuid {text:?}: {e}"))),
            Some("named-uuid") => Ok(Atom::NamedUuid(text.to_string())),
            _ => Err(Error::decode(format!("unknown atom tag {tag}"))),
        }
    }

    /// Encodes the atom as RFC 7047 JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s.as_ref()),
            Atom::Uuid(u) => json!(["uuid", u.to_string()]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// The string, shared: a copy costs a reference count, not a copy
    /// of its bytes.
    pub fn as_shared_str(&self) -> Option<&Arc<str>> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Atom::Real(r) => Some(*r),
            Atom::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }
}

// A total order so sets and maps can be kept sorted and compared; reals use
// IEEE total ordering, which is what makes `Eq` lawful here.
impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Atom {}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Integer(i) => write!(f, "{i}"),
            Atom::Real(r) => write!(f, "{r}"),
            Atom::Boolean(b) => write!(f, "{b}"),
            Atom::String(s) => write!(f, "{s:?}"),
            Atom::Uuid(u) => write!(f, "{u}"),
            Atom::NamedUuid(n) => write!(f, "@{n}"),
        }
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Self {
        Atom::String(Arc::from(s))
    }
}
impl From<String> for Atom {
    fn from(s: String) -> Self {
        Atom::String(Arc::from(s))
    }
}
impl From<i64> for Atom {
    fn from(i: i64) -> Self {
        Atom::Integer(i)
    }
}
impl From<f64> for Atom {
    fn from(r: f64) -> Self {
        Atom::Real(r)
    }
}
impl From<bool> for Atom {
    fn from(b: bool) -> Self {
        Atom::Boolean(b)
    }
}
impl From<Uuid> for Atom {
    fn from(u: Uuid) -> Self {
        Atom::Uuid(u)
    }
}

/// A column value: a set of atoms or a map from atoms to atoms.
///
/// Sets and maps are sorted vectors free of duplicate elements or keys, so
/// two values compare equal exactly when the server would consider them
/// equal. Vectors rather than trees keep a replica of many small rows
/// compact: an empty value allocates nothing, a one-entry map one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Set(Vec<Atom>),
    /// Entries sorted by key, keys unique.
    Map(Vec<(Atom, Atom)>),
}

impl Value {
    /// The empty set, which is also how an absent optional value looks.
    pub fn empty() -> Value {
        Value::Set(Vec::new())
    }

    /// A set holding the given atoms (sorted and deduplicated).
    pub fn set<I, A>(atoms: I) -> Value
    where
        I: IntoIterator<Item = A>,
        A: Into<Atom>,
    {
        let mut atoms: Vec<Atom> = atoms.into_iter().map(Into::into).collect();
        atoms.sort();
        atoms.dedup();
        Value::Set(atoms)
    }

    /// A map holding the given pairs (a later pair wins for a repeated key).
    pub fn map<I, K, V>(pairs: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Atom>,
        V: Into<Atom>,
    {
        let mut entries: Vec<(Atom, Atom)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable sort, then keep the last of equal keys.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Atom, Atom)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        Value::Map(unique)
    }

    /// Decodes a `<value>`: a bare atom, `["set", [...]]` or `["map", [...]]`.
    pub fn from_json(json: &Json) -> Result<Value> {
        if let Json::Array(items) = json
            && items.len() == 2
        {
            match (items[0].as_str(), &items[1]) {
                (Some("set"), Json::Array(atoms)) => {
                    let atoms = atoms
                        .iter()
                        .map(Atom::from_json)
                        .collect::<Result<Vec<_>>>()?;
                    return Ok(Value::set(atoms));
                }
                (Some("map"), Json::Array(pairs)) => return Self::map_from_json(pairs),
                (Some("set" | "map"), other) => {
                    return Err(Error::decode(format!(
                        "set/map body must be an array: {other}"
                    )));
                }
                _ => {}
            }
        }
        Ok(Value::Set(vec![Atom::from_json(json)?]))
    }

    fn map_from_json(pairs: &[Json]) -> Result<Value> {
        let mut entries = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match pair.as_array().map(Vec::as_slice) {
                Some([k, v]) => entries.push((Atom::from_json(k)?, Atom::from_json(v)?)),
                _ => return Err(Error::decode(format!("map entry must be a pair: {pair}"))),
            }
        }
        Ok(Value::map(entries))
    }

    /// Encodes the value; a one-element set becomes its bare atom.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Set(atoms) if atoms.len() == 1 => atoms[0].to_json(),
            Value::Set(atoms) => {
                json!(["set", atoms.iter().map(Atom::to_json).collect::<Vec<_>>()])
            }
            Value::Map(map) => json!([
                "map",
                map.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// The atoms of a set (an empty slice for a map).
    pub fn atoms(&self) -> &[Atom] {
        match self {
            Value::Set(atoms) => atoms,
            Value::Map(_) => &[],
        }
    }

    /// The single atom of a scalar or present optional value.
    pub fn atom(&self) -> Option<&Atom> {
        match self.atoms() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The entries of a map, sorted by key; `None` for a set.
    pub fn as_map(&self) -> Option<&[(Atom, Atom)]> {
        match self {
            Value::Map(entries) => Some(entries),
            Value::Set(_) => None,
        }
    }

    /// Looks a key up in a map value.
    pub fn map_lookup(&self, key: &Atom) -> Option<&Atom> {
        let entries = self.as_map()?;
        let at = entries.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(&entries[at].1)
    }

    /// Looks a string key up in a map value.
    pub fn map_get(&self, key: &str) -> Option<&Atom> {
        self.map_lookup(&Atom::from(key))
    }

    /// Number of elements (set members or map entries).
    pub fn len(&self) -> usize {
        match self {
            Value::Set(atoms) => atoms.len(),
            Value::Map(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` on every string atom, keys and values alike (so that a
    /// replica can point them at shared copies).
    pub(crate) fn for_each_string(&mut self, f: &mut impl FnMut(&mut Arc<str>)) {
        let mut visit = |atom: &mut Atom| {
            if let Atom::String(s) = atom {
                f(s);
            }
        };
        match self {
            Value::Set(atoms) => atoms.iter_mut().for_each(visit),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                visit(k);
                visit(v);
            }),
        }
    }

    /// Drops spare capacity left by diffs.
    pub(crate) fn shrink_to_fit(&mut self) {
        match self {
            Value::Set(atoms) => atoms.shrink_to_fit(),
            Value::Map(entries) => entries.shrink_to_fit(),
        }
    }

    /// Applies an `update2` set diff: every atom of `diff` is toggled
    /// (RFC 7047 extension in ovsdb-server(7), "update2 notification").
    pub fn apply_set_diff(&mut self, diff: &Value) {
        let mut atoms = match std::mem::replace(self, Value::empty()) {
            Value::Set(atoms) => atoms,
            Value::Map(_) => Vec::new(),
        };
        for atom in diff.atoms() {
            match atoms.binary_search(atom) {
                Ok(at) => {
                    atoms.remove(at);
                }
                Err(at) => atoms.insert(at, atom.clone()),
            }
        }
        *self = Value::Set(atoms);
    }

    /// Applies an `update2` map diff: a new key is added, a key given with
    /// its current value is removed, a key given with another value is
    /// changed to it.
    pub fn apply_map_diff(&mut self, diff: &Value) {
        let mut entries = match std::mem::replace(self, Value::empty()) {
            Value::Map(entries) => entries,
            Value::Set(_) => Vec::new(),
        };
        for (key, value) in diff.as_map().unwrap_or_default() {
            match entries.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(at) if entries[at].1 == *value => {
                    entries.remove(at);
                }
                Ok(at) => entries[at].1 = value.clone(),
                Err(at) => entries.insert(at, (key.clone(), value.clone())),
            }
        }
        *self = Value::Map(entries);
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl<A: Into<Atom>> From<A> for Value {
    fn from(atom: A) -> Self {
        Value::Set(vec![atom.into()])
    }
}

/// One row: column name to value. Columns not fetched are absent.
///
/// Kept as a vector sorted by column name; the names are shared `Arc<str>`
/// so that a replica's rows can all point at one copy of each name (see
/// [`Row::share_names`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    columns: Vec<(Arc<str>, Value)>,
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    /// Builder form of [`Row::insert`].
    pub fn with(mut self, column: &str, value: impl Into<Value>) -> Row {
        self.insert(column, value);
        self
    }

    fn position(&self, column: &str) -> Result<usize, usize> {
        self.columns
            .binary_search_by(|(name, _)| name.as_ref().cmp(column))
    }

    pub fn insert(&mut self, column: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.position(column) {
            Ok(at) => self.columns[at].1 = value,
            Err(at) => self.columns.insert(at, (Arc::from(column), value)),
        }
    }

    pub fn get(&self, column: &str) -> Option<&Value> {
        let at = self.position(column).ok()?;
        Some(&self.columns[at].1)
    }

    pub fn get_mut(&mut self, column: &str) -> Option<&mut Value> {
        let at = self.position(column).ok()?;
        Some(&mut self.columns[at].1)
    }

    /// The value of `column`, inserting `default()` first when absent.
    pub fn get_or_insert_with(
        &mut self,
        column: &str,
        default: impl FnOnce() -> Value,
    ) -> &mut Value {
        let at = match self.position(column) {
            Ok(at) => at,
            Err(at) => {
                self.columns.insert(at, (Arc::from(column), default()));
                at
            }
        };
        &mut self.columns[at].1
    }

    pub fn remove(&mut self, column: &str) -> Option<Value> {
        let at = self.position(column).ok()?;
        Some(self.columns.remove(at).1)
    }

    pub fn columns(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.columns.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Replaces each column name with the equal one `shared` returns, so
    /// that many rows hold one allocation per name, and drops spare
    /// capacity.
    pub fn share_names(&mut self, shared: impl Fn(&str) -> Option<Arc<str>>) {
        for (name, _) in &mut self.columns {
            if let Some(one) = shared(name) {
                *name = one;
            }
        }
        self.columns.shrink_to_fit();
    }

    /// Calls `f` on every string atom of every column.
    pub(crate) fn for_each_string(&mut self, f: &mut impl FnMut(&mut Arc<str>)) {
        for (_, value) in &mut self.columns {
            value.for_each_string(f);
        }
    }

    /// The row's `_uuid` column, when it was fetched.
    pub fn uuid(&self) -> Option<Uuid> {
        self.get("_uuid")?.atom()?.as_uuid()
    }

    /// A scalar string column.
    pub fn get_str(&self, column: &str) -> Option<&str> {
        self.get(column)?.atom()?.as_str()
    }

    /// A string key of a map column such as `external_ids`.
    pub fn map_str(&self, column: &str, key: &str) -> Option<&str> {
        self.get(column)?.map_get(key)?.as_str()
    }

    /// Decodes a `<row>` JSON object.
    pub fn from_json(json: &Json) -> Result<Row> {
        let object = json
            .as_object()
            .ok_or_else(|| Error::decode(format!("a row must be a JSON object: {json}")))?;
        let mut columns: Vec<(Arc<str>, Value)> = Vec::with_capacity(object.len());
        for (column, value) in object {
            let value = Value::from_json(value)
                .map_err(|e| Error::decode(format!("column {column}: {e}")))?;
            columns.push((Arc::from(column.as_str()), value));
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        // serde_json objects cannot hold a key twice, so no dedup needed.
        Ok(Row { columns })
    }

    pub fn to_json(&self) -> Json {
        Json::Object(
            self.columns
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect(),
        )
    }
}

impl<S: AsRef<str>> FromIterator<(S, Value)> for Row {
    fn from_iter<T: IntoIterator<Item = (S, Value)>>(iter: T) -> Self {
        let mut row = Row::new();
        for (column, value) in iter {
            row.insert(column.as_ref(), value);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_atom() -> impl Strategy<Value = Atom> {
        prop_oneof![
            any::<i64>().prop_map(Atom::Integer),
            any::<f64>()
                .prop_filter("finite", |r| r.is_finite() && r.fract() != 0.0)
                .prop_map(Atom::Real),
            any::<bool>().prop_map(Atom::Boolean),
            ".{0,12}".prop_map(Atom::from),
            any::<u128>().prop_map(|u| Atom::Uuid(Uuid::from_u128(u))),
            "[a-z][a-z0-9_]{0,8}".prop_map(Atom::NamedUuid),
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            proptest::collection::vec(arb_atom(), 0..6).prop_map(Value::set),
            proptest::collection::vec((arb_atom(), arb_atom()), 0..6).prop_map(Value::map),
        ]
    }

    proptest! {
        #[test]
        fn value_round_trips_through_json(value in arb_value()) {
            let json = value.to_json();
            let text = serde_json::to_string(&json).unwrap();
            let reparsed: Json = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(Value::from_json(&reparsed).unwrap(), value);
        }

        #[test]
        fn set_diff_is_symmetric_difference(a in proptest::collection::vec(0i64..20, 0..10),
                                            b in proptest::collection::vec(0i64..20, 0..10)) {
            let old = Value::set(a.clone());
            let new = Value::set(b.clone());
            let diff = Value::set(a.iter().filter(|x| !b.contains(x)).chain(b.iter().filter(|x| !a.contains(x))).copied());
            let mut applied = old;
            applied.apply_set_diff(&diff);
            prop_assert_eq!(applied, new);
        }
    }

    #[test]
    fn one_element_set_is_written_bare_and_read_back() {
        let v = Value::set(["br-int"]);
        assert_eq!(v.to_json(), json!("br-int"));
        assert_eq!(Value::from_json(&json!("br-int")).unwrap(), v);
        assert_eq!(
            Value::from_json(&json!(["set", []])).unwrap(),
            Value::empty()
        );
    }

    #[test]
    fn uuid_and_named_uuid_atoms() {
        let u = Uuid::from_u128(7);
        assert_eq!(
            Value::from_json(&json!(["uuid", u.to_string()])).unwrap(),
            Value::from(u)
        );
        assert_eq!(
            Atom::from_json(&json!(["named-uuid", "row1"])).unwrap(),
            Atom::NamedUuid("row1".into())
        );
        assert!(Atom::from_json(&json!(["uuid", "nope"])).is_err());
        assert!(Atom::from_json(&json!(["bogus", "x"])).is_err());
    }

    #[test]
    fn map_diff_adds_changes_and_removes() {
        let mut v = Value::map([("a", "1"), ("b", "2")]);
        v.apply_map_diff(&Value::map([("a", "1"), ("b", "3"), ("c", "4")]));
        assert_eq!(v, Value::map([("b", "3"), ("c", "4")]));
    }

    #[test]
    fn rejects_malformed_values() {
        assert!(Value::from_json(&json!({"x": 1})).is_err());
        assert!(Value::from_json(&json!(["map", [["a"]]])).is_err());
        assert!(Value::from_json(&json!(["set", "x"])).is_err());
        assert!(Value::from_json(&json!(null)).is_err());
    }
}
