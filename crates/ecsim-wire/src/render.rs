//! The one renderer: success bodies and error bodies, as JSON (default) or XML (`Format=XML`).
//!
//! A body is anything `Serialize` shaped like ECS's JSON answer (lists as wrapped arrays,
//! `"Images": {"Image": [...]}`): a `serde_json` map built by a handler, or a typed struct that
//! serializes straight into the output (DescribeImages, where building `Value` trees cost more
//! than the query). JSON is spelled byte for byte as `serde_json` spells it, written by
//! `sonic-rs` (faster string escaping; `render/json_compat_tests.rs`); XML is derived from the
//! same serialization by one rule: an array under key `k` becomes repeated `<k>` elements, which
//! is exactly how ECS's XML wraps its lists.

use crate::ApiError;
use serde::Serialize;
use serde_json::{Map, Value};

#[cfg(test)]
mod json_compat_tests;

pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";
/// The Tea SDKs pick their XML error parser only on this exact string.
pub const XML_CONTENT_TYPE: &str = "text/xml;charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    /// `Format` parameter, case-insensitive; absent or anything but `XML` answers JSON, since no
    /// SDK asks for XML and V3 requests carry no `Format` at all.
    pub fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.eq_ignore_ascii_case("xml") => Format::Xml,
            _ => Format::Json,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON_CONTENT_TYPE,
            Format::Xml => XML_CONTENT_TYPE,
        }
    }
}

/// A success body, ready to render: what handlers answer. Every `Serialize` type that
/// serializes as a map or struct is one; the trait exists so handlers can answer different
/// body types through one `Box<dyn Body>`.
pub trait Body: Send {
    fn render(&self, format: Format, action: &str, request_id: &str) -> Vec<u8>;
}

impl<T: Serialize + Send> Body for T {
    fn render(&self, format: Format, action: &str, request_id: &str) -> Vec<u8> {
        success(format, action, request_id, self)
    }
}

/// `RequestId` first, then the body's own fields.
#[derive(Serialize)]
struct WithRequestId<'a, T: ?Sized> {
    #[serde(rename = "RequestId")]
    request_id: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

/// A success body: `RequestId` first, then the fields `body` serializes.
pub fn success<T: Serialize + ?Sized>(
    format: Format,
    action: &str,
    request_id: &str,
    body: &T,
) -> Vec<u8> {
    let full = WithRequestId { request_id, body };
    match format {
        Format::Json => json_bytes(&full),
        Format::Xml => xml_document(&format!("{action}Response"), &full),
    }
}

/// The error envelope every SDK generation can read.
pub fn error(format: Format, err: &ApiError, request_id: &str, host_id: &str) -> Vec<u8> {
    let mut body = Map::with_capacity(6);
    body.insert("RequestId".into(), Value::String(request_id.into()));
    body.insert("HostId".into(), Value::String(host_id.into()));
    body.insert("Code".into(), Value::String(err.code_str().into()));
    body.insert("Message".into(), Value::String(err.message().into()));
    body.insert(
        "Recommend".into(),
        Value::String(format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={request_id}",
            err.code_str()
        )),
    );
    if let Some(detail) = err.access_denied_detail() {
        body.insert("AccessDeniedDetail".into(), detail.clone());
    }
    match format {
        Format::Json => json_bytes(&body),
        Format::Xml => xml_document("Error", &body),
    }
}

fn json_bytes<T: Serialize + ?Sized>(body: &T) -> Vec<u8> {
    // One image by id renders ~1.2 KB: started at 1 KiB, it grew (a realloc and a copy) on
    // every lookup.
    let mut out = Vec::with_capacity(2048);
    // `sonic-rs` writes what `serde_json` writes, byte for byte (`json_compat_tests`), with a
    // string escape that checks many bytes at a time: a third of a page of 100's instructions
    // went to `serde_json`'s byte-by-byte escaping. Fails only for a map with keys that are not
    // strings, numbers or booleans, which no body has (`Value` maps and structs).
    match sonic_rs::to_writer(&mut out, body) {
        Ok(()) => out,
        Err(_) => b"{}".to_vec(),
    }
}

fn xml_document<T: Serialize + ?Sized>(root: &str, body: &T) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    // The body is a map or struct, so this writes `<root>`, its fields, `</root>`. It fails
    // only for enum variants with fields, which no body has; the document then holds what
    // was written before.
    let _ = body.serialize(xml::Element::new(&mut out, root));
    out.into_bytes()
}

/// The XML rule as a `serde` serializer: a map or struct's entries become elements named by
/// their keys; a sequence under key `k` becomes repeated `<k>` elements (no wrapper of its own);
/// scalars are the element's text, `null` an empty element.
mod xml {
    use serde::ser::{self, Impossible, Serialize};
    use std::fmt::{self, Write};

    #[derive(Debug)]
    pub struct Error(String);

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Error {}

    impl ser::Error for Error {
        fn custom<T: fmt::Display>(msg: T) -> Self {
            Error(msg.to_string())
        }
    }

    fn unsupported(what: &str) -> Error {
        Error(format!("{what} has no XML rendering"))
    }

    fn open(out: &mut String, name: &str) {
        out.push('<');
        out.push_str(name);
        out.push('>');
    }

    fn close(out: &mut String, name: &str) {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    /// One value named `name`: `<name>…</name>`, or one such element per item of a sequence.
    pub struct Element<'a> {
        out: &'a mut String,
        name: &'a str,
    }

    impl<'a> Element<'a> {
        pub fn new(out: &'a mut String, name: &'a str) -> Self {
            Element { out, name }
        }

        fn text(self, text: &str) -> Result<(), Error> {
            open(self.out, self.name);
            self.out.push_str(&quick_xml::escape::escape(text));
            close(self.out, self.name);
            Ok(())
        }

        fn display(self, value: impl fmt::Display) -> Result<(), Error> {
            open(self.out, self.name);
            write!(self.out, "{value}").map_err(|e| Error(e.to_string()))?;
            close(self.out, self.name);
            Ok(())
        }
    }

    /// Entries of a map or struct, closing `</close>` at the end when it is an element.
    pub struct Entries<'a> {
        out: &'a mut String,
        close: Option<&'a str>,
        /// The pending map key's text (map keys arrive before their values).
        key: String,
    }

    impl Entries<'_> {
        fn end_entries(self) -> Result<(), Error> {
            if let Some(name) = self.close {
                close(self.out, name);
            }
            Ok(())
        }

        fn element<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
            value.serialize(Element {
                out: self.out,
                name,
            })
        }
    }

    /// Repeated `<name>` elements, one per item.
    pub struct Items<'a> {
        out: &'a mut String,
        name: &'a str,
    }

    impl Items<'_> {
        fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
            value.serialize(Element {
                out: self.out,
                name: self.name,
            })
        }
    }

    impl ser::SerializeSeq for Items<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
            self.item(value)
        }
        fn end(self) -> Result<(), Error> {
            Ok(())
        }
    }

    impl ser::SerializeTuple for Items<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
            self.item(value)
        }
        fn end(self) -> Result<(), Error> {
            Ok(())
        }
    }

    impl ser::SerializeTupleStruct for Items<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
            self.item(value)
        }
        fn end(self) -> Result<(), Error> {
            Ok(())
        }
    }

    impl ser::SerializeMap for Entries<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
            self.key.clear();
            key.serialize(KeyText { key: &mut self.key })
        }
        fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
            value.serialize(Element {
                out: self.out,
                name: &self.key,
            })
        }
        fn end(self) -> Result<(), Error> {
            self.end_entries()
        }
    }

    impl ser::SerializeStruct for Entries<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            self.element(key, value)
        }
        fn end(self) -> Result<(), Error> {
            self.end_entries()
        }
    }

    impl<'a> ser::Serializer for Element<'a> {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Items<'a>;
        type SerializeTuple = Items<'a>;
        type SerializeTupleStruct = Items<'a>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Entries<'a>;
        type SerializeStruct = Entries<'a>;
        type SerializeStructVariant = Impossible<(), Error>;

        fn serialize_bool(self, v: bool) -> Result<(), Error> {
            self.text(if v { "true" } else { "false" })
        }
        fn serialize_i8(self, v: i8) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i16(self, v: i16) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i32(self, v: i32) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i64(self, v: i64) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u8(self, v: u8) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u16(self, v: u16) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u32(self, v: u32) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u64(self, v: u64) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_f32(self, v: f32) -> Result<(), Error> {
            self.serialize_f64(f64::from(v))
        }
        fn serialize_f64(self, v: f64) -> Result<(), Error> {
            // Spelled as JSON spells it; a non-finite number is JSON's `null`, an empty element.
            match serde_json::Number::from_f64(v) {
                Some(n) => self.display(n),
                None => self.serialize_unit(),
            }
        }
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.text(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_str(self, v: &str) -> Result<(), Error> {
            self.text(v)
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
            // As JSON: a list of numbers.
            for byte in v {
                Element {
                    out: &mut *self.out,
                    name: self.name,
                }
                .display(byte)?;
            }
            Ok(())
        }
        fn serialize_none(self) -> Result<(), Error> {
            self.serialize_unit()
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<(), Error> {
            open(self.out, self.name);
            close(self.out, self.name);
            Ok(())
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
            self.serialize_unit()
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.text(variant)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            // As JSON's `{"Variant": value}`.
            open(self.out, self.name);
            value.serialize(Element {
                out: &mut *self.out,
                name: variant,
            })?;
            close(self.out, self.name);
            Ok(())
        }
        fn serialize_seq(self, _len: Option<usize>) -> Result<Items<'a>, Error> {
            Ok(Items {
                out: self.out,
                name: self.name,
            })
        }
        fn serialize_tuple(self, len: usize) -> Result<Items<'a>, Error> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            len: usize,
        ) -> Result<Items<'a>, Error> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(unsupported("a tuple variant"))
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<Entries<'a>, Error> {
            open(self.out, self.name);
            Ok(Entries {
                out: self.out,
                close: Some(self.name),
                key: String::new(),
            })
        }
        fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Entries<'a>, Error> {
            self.serialize_map(Some(len))
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(unsupported("a struct variant"))
        }
    }

    /// A map key's text. `serde_json` maps have string keys; numbers and booleans are spelled
    /// as JSON spells them as keys.
    pub struct KeyText<'a> {
        key: &'a mut String,
    }

    impl KeyText<'_> {
        fn display(self, value: impl fmt::Display) -> Result<(), Error> {
            write!(self.key, "{value}").map_err(|e| Error(e.to_string()))
        }
    }

    fn not_a_key() -> Error {
        unsupported("a map key that is not a string or number")
    }

    impl ser::Serializer for KeyText<'_> {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Impossible<(), Error>;
        type SerializeTuple = Impossible<(), Error>;
        type SerializeTupleStruct = Impossible<(), Error>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Impossible<(), Error>;
        type SerializeStruct = Impossible<(), Error>;
        type SerializeStructVariant = Impossible<(), Error>;

        fn serialize_str(self, v: &str) -> Result<(), Error> {
            self.key.push_str(v);
            Ok(())
        }
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.key.push(v);
            Ok(())
        }
        fn serialize_bool(self, v: bool) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i8(self, v: i8) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i16(self, v: i16) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i32(self, v: i32) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_i64(self, v: i64) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u8(self, v: u8) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u16(self, v: u16) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u32(self, v: u32) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_u64(self, v: u64) -> Result<(), Error> {
            self.display(v)
        }
        fn serialize_f32(self, _v: f32) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_f64(self, _v: f64) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_none(self) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_unit(self) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _value: &T,
        ) -> Result<(), Error> {
            Err(not_a_key())
        }
        fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err(not_a_key())
        }
        fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
            Err(not_a_key())
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(not_a_key())
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(not_a_key())
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(not_a_key())
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStruct, Error> {
            Err(not_a_key())
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(not_a_key())
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn json_success_puts_request_id_first_and_keeps_arrays() {
        let body = obj(json!({"Images": {"Image": [{"ImageId": "m-1"}]}, "TotalCount": 1}));
        let out = String::from_utf8(success(Format::Json, "DescribeImages", "RID", &body)).unwrap();
        assert_eq!(
            out,
            r#"{"RequestId":"RID","Images":{"Image":[{"ImageId":"m-1"}]},"TotalCount":1}"#
        );
    }

    #[test]
    fn xml_success_repeats_list_elements_under_their_wrapper() {
        let body =
            obj(json!({"Images": {"Image": [{"ImageId": "m-1"}, {"ImageId": "a<b"}]}, "Ok": true}));
        let out = String::from_utf8(success(Format::Xml, "DescribeImages", "RID", &body)).unwrap();
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeImagesResponse><RequestId>RID</RequestId><Images><Image><ImageId>m-1</ImageId></Image><Image><ImageId>a&lt;b</ImageId></Image></Images><Ok>true</Ok></DescribeImagesResponse>"
        );
    }

    #[test]
    fn xml_renders_nulls_empty_objects_numbers_and_nested_arrays_as_before() {
        let body = obj(json!({
            "Null": null,
            "Empty": {},
            "Numbers": {"I": -3, "U": 18446744073709551615u64, "F": 1.5},
            "Nested": [[1, 2], [3]],
            "Wrapped": {"Item": []},
        }));
        let out = String::from_utf8(success(Format::Xml, "X", "RID", &body)).unwrap();
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XResponse><RequestId>RID</RequestId><Null></Null><Empty></Empty><Numbers><I>-3</I><U>18446744073709551615</U><F>1.5</F></Numbers><Nested>1</Nested><Nested>2</Nested><Nested>3</Nested><Wrapped></Wrapped></XResponse>"
        );
    }

    /// A typed body renders exactly as the `Value` map with the same fields in the same order.
    #[test]
    fn typed_bodies_render_as_their_value_maps() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Item<'a> {
            item_id: &'a str,
            size: i64,
            missing: Option<&'a str>,
            ok: bool,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Page<'a> {
            total_count: u64,
            items: Vec<Item<'a>>,
        }
        let typed = Page {
            total_count: 2,
            items: vec![
                Item {
                    item_id: "a&b",
                    size: 20,
                    missing: None,
                    ok: true,
                },
                Item {
                    item_id: "c",
                    size: -1,
                    missing: Some("x"),
                    ok: false,
                },
            ],
        };
        let value = obj(serde_json::to_value(&typed).unwrap());
        for format in [Format::Json, Format::Xml] {
            assert_eq!(
                success(format, "Describe", "RID", &typed),
                success(format, "Describe", "RID", &value),
            );
        }
    }

    #[test]
    fn error_body_carries_every_field_as_a_string() {
        let err = ApiError::new(Code::InvalidImageIdNotFound);
        let out: Value = serde_json::from_slice(&error(
            Format::Json,
            &err,
            "RID",
            "ecs.cn-hangzhou.aliyuncs.com",
        ))
        .unwrap();
        for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(out[field].is_string(), "{field} must be a string");
        }
        assert_eq!(out["Code"], "InvalidImageId.NotFound");
        assert!(
            out["Recommend"]
                .as_str()
                .unwrap()
                .contains("q=InvalidImageId.NotFound")
        );
    }

    #[test]
    fn xml_error_uses_the_error_root() {
        let err = ApiError::new(Code::ImageIsPublic);
        let out = String::from_utf8(error(Format::Xml, &err, "RID", "h")).unwrap();
        assert!(out.contains(
            "<Error><RequestId>RID</RequestId><HostId>h</HostId><Code>ImageIsPublic</Code>"
        ));
    }

    #[test]
    fn format_param_is_case_insensitive_and_defaults_to_json() {
        assert_eq!(Format::from_param(Some("xml")), Format::Xml);
        assert_eq!(Format::from_param(Some("JSON")), Format::Json);
        assert_eq!(Format::from_param(None), Format::Json);
    }
}
