//! `sonic-rs` writes JSON bodies (faster string escaping than `serde_json`, a third of a
//! page's instructions); these prove it writes byte for byte what `serde_json` writes.
use proptest::prelude::*;
use serde::{Serialize, ser};
use serde_json::{Value, json};

fn ours<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    sonic_rs::to_writer(&mut out, value).expect("writes");
    out
}

fn theirs<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("writes")
}

#[test]
fn every_byte_escapes_as_serde_json_escapes_it() {
    for byte in 0u8..=0x7F {
        let c = char::from(byte);
        for text in [
            c.to_string(),
            format!("abcdefg{c}"),
            format!("abcdefgh{c}ijklmnopq{c}{c}"),
            format!("{c}0123456789abcdef0123456789"),
        ] {
            assert_eq!(ours(&text), theirs(&text), "byte {byte:#x} in {text:?}");
        }
    }
    for text in [
        "",
        "镜像 Описание",
        "\u{7f}\u{80}\u{ff}\u{2028}",
        "é\"é\\é\n",
    ] {
        assert_eq!(ours(text), theirs(text), "{text:?}");
    }
}

#[test]
fn every_shape_writes_as_serde_json_writes_it() {
    #[derive(Serialize)]
    enum E<'a> {
        Unit,
        Newtype(i32),
        Tuple(u8, &'a str),
        Struct { a: Option<i64>, b: Vec<bool> },
    }
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Newtype(&'static str);
    #[derive(Serialize)]
    struct Tuple(u8, char);
    #[derive(Serialize)]
    struct Shapes<'a> {
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        tuple: Tuple,
        pair: (i8, u128, i128),
        bytes: Bytes<'a>,
        enums: Vec<E<'a>>,
        floats: (f32, f64, f64, f64, f32),
        ints: (i8, i16, i32, i64, u8, u16, u32, u64),
        map: std::collections::BTreeMap<i32, &'a str>,
        bool_keys: std::collections::BTreeMap<bool, ()>,
        none: Option<()>,
        nested: Vec<Vec<Value>>,
    }
    #[derive(Serialize)]
    struct Flattened<'a> {
        #[serde(rename = "RequestId")]
        id: &'a str,
        #[serde(flatten)]
        body: &'a Shapes<'a>,
    }
    let shapes = Shapes {
        unit: (),
        unit_struct: Unit,
        newtype: Newtype("n\"t"),
        tuple: Tuple(7, '\u{1}'),
        pair: (-128, u128::MAX, i128::MIN),
        bytes: Bytes(&[0, 1, 255]),
        enums: vec![
            E::Unit,
            E::Newtype(-5),
            E::Tuple(3, "x"),
            E::Struct {
                a: None,
                b: vec![true, false],
            },
            E::Struct {
                a: Some(i64::MIN),
                b: Vec::new(),
            },
        ],
        floats: (0.1, 0.1, f64::NAN, -1e300, f32::INFINITY),
        ints: (
            i8::MIN,
            i16::MIN,
            i32::MIN,
            i64::MAX,
            u8::MAX,
            u16::MAX,
            u32::MAX,
            u64::MAX,
        ),
        map: [(-1, "a"), (2, "b")].into_iter().collect(),
        bool_keys: [(true, ()), (false, ())].into_iter().collect(),
        none: None,
        nested: vec![vec![json!({"a": [1, 2.5, null, {}], "": []})], Vec::new()],
    };
    assert_eq!(ours(&shapes), theirs(&shapes));
    let flat = Flattened {
        id: "RID",
        body: &shapes,
    };
    assert_eq!(ours(&flat), theirs(&flat));
}

/// Serializes through `serialize_bytes`.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[\\x00-\\x7f]{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_values_write_as_serde_json_writes_them(value in arb_value()) {
        prop_assert_eq!(ours(&value), theirs(&value));
    }

    #[test]
    fn arbitrary_strings_write_as_serde_json_writes_them(text in any::<String>()) {
        prop_assert_eq!(ours(&text), theirs(&text));
    }
}
