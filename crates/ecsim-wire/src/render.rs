//! The one renderer: success bodies and error bodies, as JSON (default) or XML (`Format=XML`).
//!
//! Handlers hand over a JSON object shaped like ECS's JSON answer (lists as wrapped arrays,
//! `"Images": {"Image": [...]}`); XML is derived from it by one rule: an array under key `k`
//! becomes repeated `<k>` elements, which is exactly how ECS's XML wraps its lists.

use crate::ApiError;
use serde_json::{Map, Value};

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

/// A success body: `RequestId` first, then the handler's fields.
pub fn success(
    format: Format,
    action: &str,
    request_id: &str,
    body: Map<String, Value>,
) -> Vec<u8> {
    let mut full = Map::with_capacity(body.len() + 1);
    full.insert("RequestId".into(), Value::String(request_id.into()));
    full.extend(body);
    match format {
        Format::Json => json_bytes(&Value::Object(full)),
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
        Format::Json => json_bytes(&Value::Object(body)),
        Format::Xml => xml_document("Error", &body),
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail: its keys are strings and it holds no foreign types.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

fn xml_document(root: &str, fields: &Map<String, Value>) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push('<');
    out.push_str(root);
    out.push('>');
    write_members(&mut out, fields);
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out.into_bytes()
}

fn write_members(out: &mut String, fields: &Map<String, Value>) {
    for (key, value) in fields {
        match value {
            Value::Array(items) => {
                for item in items {
                    write_element(out, key, item);
                }
            }
            other => write_element(out, key, other),
        }
    }
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&quick_xml::escape::escape(s.as_str())),
        Value::Object(map) => write_members(out, map),
        // An array directly inside an array has no ECS counterpart; render its items in place.
        Value::Array(items) => {
            for item in items {
                write_element(out, name, item);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
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
        let out = String::from_utf8(success(Format::Json, "DescribeImages", "RID", body)).unwrap();
        assert_eq!(
            out,
            r#"{"RequestId":"RID","Images":{"Image":[{"ImageId":"m-1"}]},"TotalCount":1}"#
        );
    }

    #[test]
    fn xml_success_repeats_list_elements_under_their_wrapper() {
        let body =
            obj(json!({"Images": {"Image": [{"ImageId": "m-1"}, {"ImageId": "a<b"}]}, "Ok": true}));
        let out = String::from_utf8(success(Format::Xml, "DescribeImages", "RID", body)).unwrap();
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeImagesResponse><RequestId>RID</RequestId><Images><Image><ImageId>m-1</ImageId></Image><Image><ImageId>a&lt;b</ImageId></Image></Images><Ok>true</Ok></DescribeImagesResponse>"
        );
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
