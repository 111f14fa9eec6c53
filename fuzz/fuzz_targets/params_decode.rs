//! Arbitrary bytes → query string and form body → `Params::from_wire`, then every accessor
//! and the V1 string to sign. Oracles: no panic; a decoded set re-encoded canonically decodes
//! to itself; the V1 string to sign only contains the canonical alphabet.
#![no_main]

use ecsim_wire::Params;
use ecsim_wire::signature::{percent_encode, v1};
use libfuzzer_sys::fuzz_target;

fn canonical_alphabet(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: Option<&u8>| c.is_some_and(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F'));
            if !hex(b.get(i + 1)) || !hex(b.get(i + 2)) {
                return false;
            }
            i += 3;
        } else if b[i].is_ascii_alphanumeric() || b"-_.~".contains(&b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    // First byte: where the query ends (scaled) and whether a body is present.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(ctl & 0x7f) * rest.len() / 127;
    let (query, body) = rest.split_at(split.min(rest.len()));
    let query = String::from_utf8_lossy(query);
    let body = (ctl & 0x80 != 0).then_some(body);

    let Ok(params) = Params::from_wire(&query, body) else {
        return;
    };

    // Accessors on fixed names and on names taken from the input itself.
    let mut names: Vec<String> = ["Tag", "Id", "A", "Filter", "Force", "PageSize"]
        .map(String::from)
        .to_vec();
    for (k, _) in params.entries().iter().take(4) {
        names.push(k.clone());
        if let Some((head, _)) = k.split_once('.') {
            names.push(head.to_owned());
        }
    }
    for name in &names {
        let _ = params.get(name);
        let _ = params.get_nonempty(name);
        let _ = params.bool(name);
        let _ = params.int(name);
        let list = params.list(name);
        let objects = params.object_list(name);
        let max = params.max_index(name);
        if let (Ok(list), Ok(objects)) = (&list, &objects) {
            // Every element sits at a distinct index ≤ max_index.
            let count = list.len().max(objects.len());
            assert!(
                count == 0 || max.is_some_and(|m| m >= count),
                "max_index {max:?} < {count}"
            );
        }
    }

    // Canonical re-encoding round-trips through the decoder.
    let reencoded: Vec<String> = params
        .entries()
        .iter()
        .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let again = Params::from_wire(&reencoded.join("&"), None);
    let expected: Vec<(String, String)> = params
        .entries()
        .iter()
        .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
        .cloned()
        .collect();
    assert_eq!(again.as_ref().map(|p| p.entries()), Ok(expected.as_slice()));

    for method in ["GET", "POST"] {
        let sts = v1::string_to_sign(method, &params);
        let tail = sts
            .strip_prefix(method)
            .and_then(|s| s.strip_prefix("&%2F&"));
        assert!(tail.is_some_and(canonical_alphabet), "{sts:?}");
        let sig = v1::sign("testsecret", &sts);
        assert!(v1::verify("testsecret", &sts, &sig));
    }
});
