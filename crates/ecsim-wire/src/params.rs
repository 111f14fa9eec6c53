//! Request parameters: query string ∪ form body, decoded with form rules (spec wire-protocol §3).
//!
//! Parameters are kept in arrival order (query first, then form body), duplicates included; the
//! signature code needs all of them, while the accessors below read the first occurrence.
//! Collections use the SDKs' flattening (§2.3): `Name.N` for scalar lists and `Name.N.Field` for
//! object lists, N 1-based.

use std::collections::BTreeMap;

use crate::ApiError;

/// Decoded request parameters in arrival order (query first, then form body). Duplicates kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(String, String)>,
}

/// What went wrong while decoding one form-encoded component.
enum DecodeError {
    MalformedEscape,
    NotUtf8,
}

impl DecodeError {
    fn why(&self) -> &'static str {
        match self {
            DecodeError::MalformedEscape => {
                "malformed percent-escape ('%' must be followed by two hex digits)"
            }
            DecodeError::NotUtf8 => "not valid UTF-8 after percent-decoding",
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Form decoding of one name or value: `+` → space, `%XX` → byte, then UTF-8.
fn form_decode(raw: &[u8]) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_val);
                let lo = raw.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(DecodeError::MalformedEscape),
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// Parses a positive decimal index (`1`, `10`; leading zeros tolerated). `None` if it is not one.
fn parse_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<usize>().ok().filter(|&n| n > 0)
}

fn bad_index(param: &str) -> ApiError {
    ApiError::invalid_parameter(param, "the list index must be a positive integer")
}

impl Params {
    /// Decodes the raw query string (without `?`, may be empty) and, when the caller has seen
    /// `Content-Type: application/x-www-form-urlencoded`, the form body.
    ///
    /// Items are split on `&`, each on its first `=`; an item without `=` is a name with an empty
    /// value; empty items are skipped. A malformed `%`-escape or bytes that are not UTF-8 after
    /// decoding are rejected with `InvalidParameter`, naming the parameter when its name decoded,
    /// otherwise `QueryString` / `RequestBody`.
    pub fn from_wire(query: &str, form_body: Option<&[u8]>) -> Result<Params, ApiError> {
        let mut params = Params::default();
        params.decode_into(query.as_bytes(), "QueryString")?;
        if let Some(body) = form_body {
            params.decode_into(body, "RequestBody")?;
        }
        Ok(params)
    }

    fn decode_into(&mut self, raw: &[u8], whole: &str) -> Result<(), ApiError> {
        for item in raw.split(|&b| b == b'&') {
            if item.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = match item.iter().position(|&b| b == b'=') {
                Some(eq) => (&item[..eq], &item[eq + 1..]),
                None => (item, &item[item.len()..]),
            };
            let name =
                form_decode(raw_name).map_err(|e| ApiError::invalid_parameter(whole, e.why()))?;
            let value =
                form_decode(raw_value).map_err(|e| ApiError::invalid_parameter(&name, e.why()))?;
            self.entries.push((name, value));
        }
        Ok(())
    }

    /// Builds a parameter set from already-decoded pairs, in the given order.
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Params {
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// All parameters in arrival order, duplicates included.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// First value of `name` (case-sensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Like [`Params::get`], but `""` counts as absent (SDKs send `Name=` for empty strings).
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Boolean, case-insensitive `true`/`false` (Python SDKs send `True`). Absent or `""` → `None`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get_nonempty(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_parameter(name, "must be true or false")),
        }
    }

    /// Decimal integer with an optional leading `-`. Absent or `""` → `None`; anything else that
    /// is not an `i64` (signs other than a leading `-`, spaces, overflow) → `InvalidParameter`.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get_nonempty(name) else {
            return Ok(None);
        };
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid_parameter(
                name,
                "must be a decimal integer",
            ));
        }
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_parameter(name, "integer out of range"))
    }

    /// The `(N, remainder)` of every parameter named `name.N[.remainder]`, in arrival order.
    /// A malformed N is an error only when `want_field` matches the shape of the item
    /// (`Name.x` for scalar lists, `Name.x.Field` for object lists); the other shape is ignored.
    fn indexed<'a>(
        &'a self,
        name: &str,
        want_field: bool,
    ) -> impl Iterator<Item = Result<(usize, Option<&'a str>, &'a str, &'a str), ApiError>> + 'a
    {
        let prefix = format!("{name}.");
        self.entries.iter().filter_map(move |(k, v)| {
            let rest = k.strip_prefix(prefix.as_str())?;
            let (index, field) = match rest.split_once('.') {
                Some((i, f)) => (i, Some(f)),
                None => (rest, None),
            };
            if field.is_some() != want_field {
                return None;
            }
            match parse_index(index) {
                Some(n) => Some(Ok((n, field, k.as_str(), v.as_str()))),
                None => Some(Err(bad_index(k))),
            }
        })
    }

    /// Repeat list `Name.1`, `Name.2`, … ordered by N numerically (gaps allowed; N may have
    /// leading zeros). If an index repeats, its first value wins. `Name.0`, `Name.x`, `Name.` →
    /// `InvalidParameter`. Object-list items (`Name.1.Field`) are not part of the list.
    pub fn list(&self, name: &str) -> Result<Vec<&str>, ApiError> {
        let mut items: BTreeMap<usize, &str> = BTreeMap::new();
        for item in self.indexed(name, false) {
            let (n, _, _, v) = item?;
            items.entry(n).or_insert(v);
        }
        Ok(items.into_values().collect())
    }

    /// Object list `Name.N.Field` ordered by N; each element maps Field → value (first value wins
    /// for a repeated field). Deeper paths (`Name.N.A.M.B`) keep the whole remainder (`A.M.B`) as
    /// the field name; field names are kept as sent (legacy `Tag.N.key` stays lower-case).
    /// A malformed N (`Name.0.Key`, `Name.x.Key`) or an empty field (`Name.1.`) → `InvalidParameter`.
    /// Scalar items (`Name.1`) are not part of the object list.
    pub fn object_list(&self, name: &str) -> Result<Vec<BTreeMap<String, String>>, ApiError> {
        let mut items: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for item in self.indexed(name, true) {
            let (n, field, key, v) = item?;
            let field = field.unwrap_or_default();
            if field.is_empty() {
                return Err(ApiError::invalid_parameter(key, "the field name is empty"));
            }
            items
                .entry(n)
                .or_default()
                .entry(field.to_owned())
                .or_insert_with(|| v.to_owned());
        }
        Ok(items.into_values().collect())
    }

    /// Largest N used under `Name.N` or `Name.N.Field`, ignoring malformed indexes; `None` if the
    /// name has no indexed item. Lets handlers enforce "at most 20 tags" before building lists.
    pub fn max_index(&self, name: &str) -> Option<usize> {
        self.indexed(name, false)
            .chain(self.indexed(name, true))
            .filter_map(Result::ok)
            .map(|(n, ..)| n)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    fn p(query: &str) -> Params {
        match Params::from_wire(query, None) {
            Ok(p) => p,
            Err(e) => panic!("decoding {query:?} failed: {e}"),
        }
    }

    fn pairs(params: &Params) -> Vec<(&str, &str)> {
        params
            .entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn form_rules_plus_is_space_and_escaped_plus_is_plus() {
        let params = p("A=a+b&B=a%2Bb&C=%E4%B8%AD&D=%2a%2A&E+F=x");
        assert_eq!(
            pairs(&params),
            vec![
                ("A", "a b"),
                ("B", "a+b"),
                ("C", "中"),
                ("D", "**"),
                ("E F", "x")
            ]
        );
    }

    #[test]
    fn raw_utf8_in_query_passes_through() {
        assert_eq!(p("Name=中文").get("Name"), Some("中文"));
    }

    #[test]
    fn items_without_equals_and_empty_items() {
        let params = p("&a=1&&b&c=&=v&d=x=y&");
        assert_eq!(
            pairs(&params),
            vec![("a", "1"), ("b", ""), ("c", ""), ("", "v"), ("d", "x=y")]
        );
        assert!(p("").is_empty());
        assert!(p("&&&").is_empty());
    }

    #[test]
    fn query_then_body_in_arrival_order_with_duplicates() {
        let params = match Params::from_wire("B=1&A=2", Some(b"A=3&C=4")) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            pairs(&params),
            vec![("B", "1"), ("A", "2"), ("A", "3"), ("C", "4")]
        );
        assert_eq!(params.get("A"), Some("2"));
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn invalid_utf8_is_invalid_parameter() {
        let err = Params::from_wire("Name=%FF%FE", None).err();
        let err = err.map(|e| (e.code(), e.status(), e.message().contains("\"Name\"")));
        assert_eq!(err, Some((Code::InvalidParameter, 400, true)));

        let err = Params::from_wire("", Some(b"A=\xff"))
            .err()
            .map(|e| e.code());
        assert_eq!(err, Some(Code::InvalidParameter));

        let err = Params::from_wire("%C3=1", None).err();
        assert!(err.is_some_and(|e| e.message().contains("QueryString")));
        let err = Params::from_wire("", Some(b"\xc3=1")).err();
        assert!(err.is_some_and(|e| e.message().contains("RequestBody")));
    }

    #[test]
    fn malformed_escapes_are_rejected() {
        for q in ["A=%", "A=%4", "A=%G1", "A=100%", "A=%%41", "%zz=1"] {
            let err = Params::from_wire(q, None).err().map(|e| e.code());
            assert_eq!(err, Some(Code::InvalidParameter), "{q}");
        }
        assert_eq!(p("A=%41%4a%4A").get("A"), Some("AJJ"));
    }

    #[test]
    fn get_and_get_nonempty() {
        let params = p("A=&B=x&A=y");
        assert_eq!(params.get("A"), Some(""));
        assert_eq!(params.get_nonempty("A"), None);
        assert_eq!(params.get_nonempty("B"), Some("x"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("C"), None);
    }

    #[test]
    fn booleans_case_insensitive() {
        let params = p("A=True&B=FALSE&C=true&D=yes&E=&F=1");
        assert_eq!(params.bool("A").ok(), Some(Some(true)));
        assert_eq!(params.bool("B").ok(), Some(Some(false)));
        assert_eq!(params.bool("C").ok(), Some(Some(true)));
        assert_eq!(
            params.bool("D").err().map(|e| e.code()),
            Some(Code::InvalidParameter)
        );
        assert_eq!(params.bool("E").ok(), Some(None));
        assert_eq!(
            params.bool("F").err().map(|e| e.code()),
            Some(Code::InvalidParameter)
        );
        assert_eq!(params.bool("Missing").ok(), Some(None));
    }

    #[test]
    fn integers() {
        let params =
            p("A=10&B=-7&C=&D=1x&E=%2B5&F=99999999999999999999&G=-&H=+1&I=-9223372036854775808");
        assert_eq!(params.int("A").ok(), Some(Some(10)));
        assert_eq!(params.int("B").ok(), Some(Some(-7)));
        assert_eq!(params.int("C").ok(), Some(None));
        assert_eq!(params.int("Z").ok(), Some(None));
        assert_eq!(params.int("I").ok(), Some(Some(i64::MIN)));
        for bad in ["D", "E", "F", "G", "H"] {
            assert_eq!(
                params.int(bad).err().map(|e| e.code()),
                Some(Code::InvalidParameter),
                "{bad}"
            );
        }
    }

    #[test]
    fn list_orders_numerically_with_gaps() {
        let mut q = String::new();
        for n in (1..=11).rev() {
            q.push_str(&format!("Id.{n}=v{n}&"));
        }
        q.push_str("Id.20=v20&Id.1.Key=object&Ids.1=other&Id=bare");
        let params = p(&q);
        let list = params.list("Id").ok();
        assert_eq!(
            list,
            Some(vec![
                "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v20"
            ])
        );
        assert_eq!(params.list("Nothing").ok(), Some(vec![]));
        assert_eq!(params.max_index("Id"), Some(20));
        assert_eq!(params.max_index("Nothing"), None);
    }

    #[test]
    fn list_leading_zero_and_duplicates() {
        let params = p("Id.2=b&Id.01=a&Id.1=dup");
        assert_eq!(params.list("Id").ok(), Some(vec!["a", "b"]));
    }

    #[test]
    fn list_bad_indexes() {
        for q in [
            "Id.0=a",
            "Id.x=a",
            "Id.=a",
            "Id.-1=a",
            "Id.+1=a",
            "Id.99999999999999999999999=a",
        ] {
            let err = p(q).list("Id").err().map(|e| e.code());
            assert_eq!(err, Some(Code::InvalidParameter), "{q}");
        }
        // Object-list-shaped items do not disturb a scalar list and vice versa.
        assert_eq!(p("Id.x.Key=a&Id.1=b").list("Id").ok(), Some(vec!["b"]));
        assert_eq!(p("Id.x=a").object_list("Id").ok(), Some(vec![]));
    }

    #[test]
    fn object_list_orders_and_groups() {
        let params = p(
            "Tag.10.Key=k10&Tag.9.Key=k9&Tag.9.Value=v9&Tag.1.key=legacy&Tag.1.value=lv\
             &Tag.10.Value=v10&Tag.2.Key=k2&Tag.2.Value=&Tag.3=scalar",
        );
        let list = params.object_list("Tag").ok().unwrap_or_default();
        let keys: Vec<Vec<(&str, &str)>> = list
            .iter()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .collect();
        assert_eq!(
            keys,
            vec![
                vec![("key", "legacy"), ("value", "lv")],
                vec![("Key", "k2"), ("Value", "")],
                vec![("Key", "k9"), ("Value", "v9")],
                vec![("Key", "k10"), ("Value", "v10")],
            ]
        );
        assert_eq!(params.max_index("Tag"), Some(10));
    }

    #[test]
    fn object_list_nested_paths_keep_remainder() {
        let params = p("TagFilter.1.TagKey=k&TagFilter.1.TagValues.2=b&TagFilter.1.TagValues.1=a");
        let list = params.object_list("TagFilter").ok().unwrap_or_default();
        assert_eq!(list.len(), 1);
        let first = &list[0];
        assert_eq!(first.get("TagKey").map(String::as_str), Some("k"));
        assert_eq!(first.get("TagValues.1").map(String::as_str), Some("a"));
        assert_eq!(first.get("TagValues.2").map(String::as_str), Some("b"));
    }

    #[test]
    fn object_list_bad_items() {
        for q in ["Tag.0.Key=a", "Tag.x.Key=a", "Tag..Key=a", "Tag.1.=a"] {
            let err = p(q).object_list("Tag").err().map(|e| e.code());
            assert_eq!(err, Some(Code::InvalidParameter), "{q}");
        }
    }

    #[test]
    fn from_pairs_keeps_order() {
        let params = Params::from_pairs([("b", "1"), ("a", "2")]);
        assert_eq!(pairs(&params), vec![("b", "1"), ("a", "2")]);
        let owned = Params::from_pairs(vec![(String::from("x"), String::from("y"))]);
        assert_eq!(owned.get("x"), Some("y"));
    }

    proptest! {
        #[test]
        fn decode_inverts_canonical_encoding(s in any::<String>()) {
            let q = format!("a={}", crate::signature::percent_encode(&s));
            let params = Params::from_wire(&q, None);
            prop_assert!(params.is_ok());
            let params = params.unwrap_or_default();
            prop_assert_eq!(params.get("a"), Some(s.as_str()));
            prop_assert_eq!(params.len(), 1);
        }

        #[test]
        fn decode_never_panics(query in proptest::collection::vec(any::<u8>(), 0..200),
                               body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let query = String::from_utf8_lossy(&query);
            if let Ok(params) = Params::from_wire(&query, Some(&body)) {
                let _ = params.list("A");
                let _ = params.object_list("A");
                let _ = params.bool("A");
                let _ = params.int("A");
                let _ = params.max_index("A");
            }
        }

        #[test]
        fn decode_never_panics_on_form_alphabet(query in "[A-Za-z0-9.%&=+]{0,64}") {
            if let Ok(params) = Params::from_wire(&query, None) {
                for name in ["A", "Tag", "Id"] {
                    let _ = params.list(name);
                    let _ = params.object_list(name);
                    let _ = params.max_index(name);
                }
            }
        }
    }
}
