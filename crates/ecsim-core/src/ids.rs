//! Resource ids in ECS's shape: `<prefix>-<region code><random>`, 20 lowercase characters after
//! the dash, the first few encoding the region; plus account ids and AccessKey pairs.

use rand::Rng;
use rand::distr::Alphanumeric;

const ID_SUFFIX_LEN: usize = 20;
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The region prefix real ids carry (spec §2.1); other regions get a stable derived one.
pub fn region_code(region_id: &str) -> String {
    let known = match region_id {
        "cn-hangzhou" => "bp1",
        "cn-beijing" => "2ze",
        "cn-shanghai" => "uf6",
        "cn-shenzhen" => "wz9",
        "cn-guangzhou" => "7xv",
        "ap-southeast-1" => "t4n",
        "cn-qingdao" => "m5e",
        "cn-zhangjiakou" => "8vb",
        "cn-hongkong" => "j6c",
        "us-west-1" => "rj9",
        "us-east-1" => "0xi",
        "eu-central-1" => "gw8",
        "ap-northeast-1" => "6we",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // FNV-1a keeps derived codes stable across runs without a dependency.
    let mut hash: u32 = 0x811c_9dc5;
    for b in region_id.bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (0..3)
        .map(|i| LOWER_ALNUM[((hash >> (i * 8)) % LOWER_ALNUM.len() as u32) as usize] as char)
        .collect()
}

fn random_lower_alnum(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| LOWER_ALNUM[rng.random_range(0..LOWER_ALNUM.len())] as char)
        .collect()
}

/// A new id such as `m-bp1x2y…` (prefix `m`, `i`, `s`, `d`, `t`).
pub fn new_id(prefix: &str, region_id: &str) -> String {
    let code = region_code(region_id);
    let random = random_lower_alnum(ID_SUFFIX_LEN.saturating_sub(code.len()));
    format!("{prefix}-{code}{random}")
}

/// A 16-digit account id (UID), as Alibaba Cloud shows them.
pub fn new_account_id() -> i64 {
    rand::rng().random_range(1_000_000_000_000_000..2_000_000_000_000_000)
}

/// A root AccessKey pair in the real format: `LTAI5t` + 18 characters, and a 30-character secret.
pub fn new_access_key() -> (String, String) {
    let mut rng = rand::rng();
    let id_tail: String = (&mut rng)
        .sample_iter(Alphanumeric)
        .take(18)
        .map(char::from)
        .collect();
    let secret: String = (&mut rng)
        .sample_iter(Alphanumeric)
        .take(30)
        .map(char::from)
        .collect();
    (format!("LTAI5t{id_tail}"), secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_real_shape() {
        let id = new_id("m", "cn-hangzhou");
        assert!(id.starts_with("m-bp1"));
        assert_eq!(id.len(), 2 + ID_SUFFIX_LEN);
        assert!(id[2..].bytes().all(|b| LOWER_ALNUM.contains(&b)));
        let other = new_id("i", "me-east-1");
        assert_eq!(other.len(), 2 + ID_SUFFIX_LEN);
        assert_eq!(region_code("me-east-1"), region_code("me-east-1"));
    }

    #[test]
    fn access_keys_have_the_real_shape() {
        let (id, secret) = new_access_key();
        assert!(id.starts_with("LTAI5t"));
        assert_eq!(id.len(), 24);
        assert_eq!(secret.len(), 30);
        let account = new_account_id();
        assert_eq!(account.to_string().len(), 16);
    }
}
