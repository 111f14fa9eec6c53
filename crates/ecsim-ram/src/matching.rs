//! Wildcard matching for actions and ARNs, and ARN construction (spec §1.2, §1.3, open question 8).
//!
//! RAM wildcards are `*` (zero or more characters) and `?` (exactly one character); there is no
//! escape, no character class, and every other character is literal. A pattern is matched against
//! the whole string as a flat glob, so `*` may cross `:` and `/`.

use std::borrow::Cow;

/// Case-sensitive glob: `*` = zero or more characters, `?` = exactly one character.
///
/// Every other character is literal (a `.` or `(` in a pattern is not regex syntax), so a literal
/// `*` in `text` (e.g. the request resource `image/*`) is matched only by `*` or `?`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |b| b)
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob(&p, &t, '*', '?', |c| c)
    }
}

/// Case-insensitive glob, used for actions (spec §1.2: compare the whole action case-insensitively).
pub fn glob_match_ignore_case(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |b| {
            b.to_ascii_lowercase()
        })
    } else {
        let p: Vec<char> = pattern.to_lowercase().chars().collect();
        let t: Vec<char> = text.to_lowercase().chars().collect();
        glob(&p, &t, '*', '?', |c| c)
    }
}

/// Does the policy `Action` pattern match the requested action (e.g. `ecs:DeleteImage`)?
/// Case-insensitive (spec §1.2, recommended).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob_match_ignore_case(pattern, action)
}

/// Does the policy `Resource` pattern match the request resource (an ARN, or the literal `*`
/// of All-Resources actions)?
///
/// Case-sensitive, except that the `acs` prefix and the service code (the first two
/// `:`-separated segments) are lower-cased on both sides (spec §1.3, recommended, open question 8).
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    glob_match(&normalize_arn(pattern), &normalize_arn(resource))
}

/// Lower-cases the `acs:<service>:` prefix of an ARN (pattern or request), leaving the rest as is.
fn normalize_arn(s: &str) -> Cow<'_, str> {
    let end = s
        .match_indices(':')
        .nth(1)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let prefix = &s[..end];
    if prefix.chars().any(char::is_uppercase) {
        Cow::Owned(format!("{}{}", prefix.to_lowercase(), &s[end..]))
    } else {
        Cow::Borrowed(s)
    }
}

/// Builds `acs:{service}:{region}:{account}:{relative}` (spec §1.3). Global services such as
/// RAM pass an empty region (`acs:ram::<uid>:user/alice`).
pub fn arn(service: &str, region: &str, account: &str, relative: &str) -> String {
    format!("acs:{service}:{region}:{account}:{relative}")
}

/// Builds the ECS resource ARN `acs:ecs:{region}:{account}:{relative}`, e.g.
/// `ecs_arn("cn-hangzhou", "1234567890123456", "image/m-bp1abc")` (spec §3.4: the region is the
/// request's `RegionId`, the account is the caller's UID).
pub fn ecs_arn(region: &str, account: &str, relative: &str) -> String {
    arn("ecs", region, account, relative)
}

/// Iterative glob with single-star backtracking: O(|p|·|t|) worst case, no recursion, no regex.
fn glob<T: Copy + PartialEq>(p: &[T], t: &[T], star: T, any: T, fold: impl Fn(T) -> T) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern and the text position it currently absorbs up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == star {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any || fold(p[pi]) == fold(t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = backtrack {
            pi = sp + 1;
            ti = st + 1;
            backtrack = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything:at/all"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("a?c", "abbc"));
        assert!(glob_match("a*c", "ac"));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob_match("*a*b*c*", "xxaxxcxxbxx"));
        assert!(glob_match("ab*", "ab"));
        assert!(glob_match("**", "x"));
        assert!(glob_match("*?", "x"));
        assert!(!glob_match("*??", "x"));
    }

    #[test]
    fn metacharacters_are_literal() {
        // spec §7.5: no regex leakage.
        assert!(glob_match("image/m-bp1.x?", "image/m-bp1.xy"));
        assert!(!glob_match("image/m-bp1.x?", "image/m-bp1zxy"));
        assert!(glob_match("acs:ecs:*:*:image/(x)", "acs:ecs:r:a:image/(x)"));
        assert!(!glob_match("acs:ecs:*:*:image/(x)", "acs:ecs:r:a:image/x"));
        assert!(glob_match("a+b", "a+b"));
        assert!(!glob_match("a+b", "aab"));
        assert!(glob_match("^$[]", "^$[]"));
        assert!(glob_match("a\\*", "a\\zzz"));
    }

    #[test]
    fn literal_star_in_text() {
        assert!(glob_match("image/*", "image/*"));
        assert!(glob_match("image/?", "image/*"));
        assert!(!glob_match("image/m-123", "image/*"));
        assert!(!glob_match("image/m*", "image/*"));
    }

    #[test]
    fn unicode_question_mark_is_one_character() {
        assert!(glob_match("tag/?", "tag/é"));
        assert!(glob_match("tag/é*", "tag/éé"));
        assert!(!glob_match("tag/??", "tag/é"));
    }

    #[test]
    fn actions_are_case_insensitive() {
        assert!(action_matches("ECS:deleteimage", "ecs:DeleteImage"));
        assert!(action_matches("ecs:Describe*", "ECS:DESCRIBEIMAGES"));
        assert!(action_matches("*:Describe*", "vpc:DescribeVpcs"));
        assert!(action_matches("ecs:*Image*", "ecs:CopyImage"));
        assert!(!action_matches("ecs:Describe*", "ecs:DeleteImage"));
        assert!(action_matches("*", "sts:AssumeRole"));
        assert!(action_matches("ecs:DeleteImag?", "ecs:DeleteImage"));
    }

    #[test]
    fn arns_case_rules() {
        let r = "acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc";
        assert!(resource_matches(
            "ACS:ECS:cn-hangzhou:1234567890123456:image/m-bp1abc",
            r
        ));
        assert!(resource_matches(
            "acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc",
            "ACS:Ecs:cn-hangzhou:1234567890123456:image/m-bp1abc"
        ));
        assert!(!resource_matches("acs:ecs:CN-HANGZHOU:*:image/*", r));
        assert!(!resource_matches("acs:ecs:*:*:image/M-BP1ABC", r));
        assert!(resource_matches("acs:*:*cn-hangzhou*:*:*", r));
        assert!(resource_matches("acs:ecs:*", r));
        assert!(resource_matches("*", r));
        assert!(resource_matches("*", "*"));
        assert!(!resource_matches("acs:ecs:*:*:*", "*"));
        assert!(!resource_matches("acs:ecs:*:*:image/*", "*"));
    }

    #[test]
    fn arn_builders() {
        assert_eq!(
            ecs_arn("cn-hangzhou", "1234567890123456", "image/m-bp1abc"),
            "acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc"
        );
        assert_eq!(
            arn("ram", "", "1234567890123456", "user/alice"),
            "acs:ram::1234567890123456:user/alice"
        );
    }
}
