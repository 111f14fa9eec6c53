//! Typed readers for the parameter shapes that recur across operations.

use ecsim_core::model::Tag;
use ecsim_core::validate;
use ecsim_wire::{ApiError, Code, Params};

/// A parameter the operation's metadata requires: missing or empty → `Missing{Name}`.
pub fn required<'p>(p: &'p Params, name: &str) -> Result<&'p str, ApiError> {
    p.get_nonempty(name).ok_or_else(|| ApiError::missing(name))
}

/// `PageNumber` (≥ 1, default 1) and `PageSize` (1–100, default 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub number: u64,
    pub size: u64,
}

impl Paging {
    pub fn from_params(p: &Params) -> Result<Self, ApiError> {
        Self::with_limits(p, 10, 100)
    }

    pub fn with_limits(p: &Params, default_size: u64, max_size: u64) -> Result<Self, ApiError> {
        let number = match p.int("PageNumber")? {
            None => 1,
            Some(n) if n >= 1 => n as u64,
            Some(_) => {
                return Err(ApiError::invalid_parameter(
                    "PageNumber",
                    "must be 1 or greater",
                ));
            }
        };
        let size = match p.int("PageSize")? {
            None => default_size,
            Some(n) if n >= 1 && (n as u64) <= max_size => n as u64,
            Some(_) => {
                return Err(ApiError::invalid_parameter(
                    "PageSize",
                    &format!("must be between 1 and {max_size}"),
                ));
            }
        };
        Ok(Self { number, size })
    }

    pub fn offset(self) -> u64 {
        (self.number - 1).saturating_mul(self.size)
    }
}

/// A JSON array of ids in a string (`InstanceIds=["i-a","i-b"]`). `None` when absent.
pub fn json_id_list(p: &Params, name: &str, max: usize) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = p.get_nonempty(name) else {
        return Ok(None);
    };
    let ids: Vec<String> = serde_json::from_str(raw)
        .map_err(|_| ApiError::invalid_parameter(name, "must be a JSON array of strings"))?;
    if ids.len() > max {
        return Err(ApiError::invalid_parameter(
            name,
            &format!("holds at most {max} ids"),
        ));
    }
    Ok(Some(ids))
}

/// A comma-separated list (`Status=Creating,Available`); blanks dropped.
pub fn comma_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// One `Tag.N` as sent: key and value, either possibly absent.
type RawTag = (Option<String>, Option<String>);

/// The object list `Tag.N.Key`/`Tag.N.Value`, also in its legacy lower-case spelling.
fn raw_tags(p: &Params) -> Result<Vec<RawTag>, ApiError> {
    Ok(p.object_list("Tag")?
        .into_iter()
        .map(|mut fields| {
            let key = fields.remove("Key").or_else(|| fields.remove("key"));
            let value = fields.remove("Value").or_else(|| fields.remove("value"));
            (key, value)
        })
        .collect())
}

/// Tags to attach (CreateImage, RunInstances, CreateSnapshot): at most 20, keys valid and
/// unique; a value may be empty.
pub fn tags_to_attach(p: &Params) -> Result<Vec<Tag>, ApiError> {
    let raw = raw_tags(p)?;
    if raw.len() > 20 {
        return Err(ApiError::new(Code::InvalidTagCount));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let key = key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::new(Code::InvalidTagKeyMalformed))?;
        validate::tag_key(&key)?;
        let value = value.unwrap_or_default();
        validate::tag_value(&value)?;
        if tags.iter().any(|t| t.key == key) {
            return Err(ApiError::new(Code::DuplicateTagKey));
        }
        tags.push(Tag { key, value });
    }
    Ok(tags)
}

/// Tag filters (DescribeImages, ListTagResources): a key, and optionally the value it must have.
pub fn tag_filters(p: &Params) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let raw = raw_tags(p)?;
    if raw.len() > 20 {
        return Err(ApiError::new(Code::InvalidTagCount));
    }
    raw.into_iter()
        .map(|(key, value)| match key.filter(|k| !k.is_empty()) {
            Some(k) => Ok((k, value)),
            None => Err(ApiError::new(Code::InvalidTagMismatch)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(
            Paging::from_params(&params(&[])).unwrap(),
            Paging {
                number: 1,
                size: 10
            }
        );
        let p = Paging::from_params(&params(&[("PageNumber", "3"), ("PageSize", "100")])).unwrap();
        assert_eq!(p.offset(), 200);
        assert!(Paging::from_params(&params(&[("PageSize", "101")])).is_err());
        assert!(Paging::from_params(&params(&[("PageNumber", "0")])).is_err());
        assert!(Paging::from_params(&params(&[("PageSize", "x")])).is_err());
    }

    #[test]
    fn json_lists() {
        let p = params(&[("InstanceIds", r#"["i-a","i-b"]"#), ("Bad", "i-a")]);
        assert_eq!(
            json_id_list(&p, "InstanceIds", 100).unwrap(),
            Some(vec!["i-a".into(), "i-b".into()])
        );
        assert_eq!(json_id_list(&p, "Missing", 100).unwrap(), None);
        assert!(json_id_list(&p, "Bad", 100).is_err());
        assert!(json_id_list(&p, "InstanceIds", 1).is_err());
    }

    #[test]
    fn tags_accept_both_spellings_and_refuse_duplicates() {
        let p = params(&[
            ("Tag.1.Key", "a"),
            ("Tag.1.Value", "1"),
            ("Tag.2.key", "b"),
            ("Tag.2.value", ""),
        ]);
        let tags = tags_to_attach(&p).unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(
            tags[1],
            Tag {
                key: "b".into(),
                value: String::new()
            }
        );
        let dup = params(&[("Tag.1.Key", "a"), ("Tag.2.Key", "a")]);
        assert_eq!(
            tags_to_attach(&dup).unwrap_err().code(),
            Code::DuplicateTagKey
        );
        let reserved = params(&[("Tag.1.Key", "acs:x")]);
        assert_eq!(
            tags_to_attach(&reserved).unwrap_err().code(),
            Code::InvalidTagKeyMalformed
        );
    }
}
