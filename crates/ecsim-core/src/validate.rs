//! Name and text rules shared by several operations (spec §3.2, §3.4, §4.5).

use ecsim_wire::{ApiError, Code};

fn has_url_scheme(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn has_reserved_prefix(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("aliyun") || lower.starts_with("acs:")
}

fn starts_with_letter(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_alphabetic())
}

/// Image names: 2–128 characters, starting with a letter (any script, so Chinese counts);
/// letters, digits, `.`, `:`, `_`, `-`; no `aliyun`/`acs:` prefix, no URL.
pub fn image_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    let ok = (2..=128).contains(&len)
        && starts_with_letter(name)
        && !has_reserved_prefix(name)
        && !has_url_scheme(name)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | ':' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(Code::InvalidImageNameMalformed))
    }
}

/// Image families follow the name rules with their own error code.
pub fn image_family(family: &str) -> Result<(), ApiError> {
    image_name(family).map_err(|_| ApiError::new(Code::InvalidImageFamilyMalformed))
}

/// Descriptions: 2–256 characters, not starting with a URL scheme.
pub fn description(text: &str) -> Result<(), ApiError> {
    let len = text.chars().count();
    if (2..=256).contains(&len) && !has_url_scheme(text) {
        Ok(())
    } else {
        Err(ApiError::new(Code::InvalidDescriptionMalformed))
    }
}

/// Snapshot names: 2–128 characters, starting with a letter, no URL.
pub fn snapshot_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if (2..=128).contains(&len) && starts_with_letter(name) && !has_url_scheme(name) {
        Ok(())
    } else {
        Err(ApiError::new(Code::InvalidSnapshotNameMalformed))
    }
}

/// Tag keys: 1–128 characters, no `aliyun`/`acs:` prefix, no URL.
pub fn tag_key(key: &str) -> Result<(), ApiError> {
    let len = key.chars().count();
    if (1..=128).contains(&len) && !has_reserved_prefix(key) && !has_url_scheme(key) {
        Ok(())
    } else {
        Err(ApiError::new(Code::InvalidTagKeyMalformed))
    }
}

/// Tag values: up to 128 characters (empty allowed), no `acs:` prefix, no URL.
pub fn tag_value(value: &str) -> Result<(), ApiError> {
    let ok = value.chars().count() <= 128
        && !value.to_ascii_lowercase().starts_with("acs:")
        && !has_url_scheme(value);
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(Code::InvalidTagValueMalformed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        for good in ["ab", "web-1.0:prod_x", "镜像名称", &"a".repeat(128)] {
            assert!(image_name(good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "1abc",
            "aliyun-x",
            "acs:x",
            "http://x",
            "has space",
            &"a".repeat(129),
            "",
        ] {
            assert!(image_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions_and_tags() {
        assert!(description("ok").is_ok());
        assert!(description("x").is_err());
        assert!(description("https://evil").is_err());
        assert!(tag_key("env").is_ok());
        assert!(tag_key("").is_err());
        assert!(tag_key("aliyun:x").is_err());
        assert!(tag_value("").is_ok());
        assert!(tag_value("acs:x").is_err());
        assert_eq!(
            image_family("1x").unwrap_err().code(),
            Code::InvalidImageFamilyMalformed
        );
    }
}
