//! Checksums of blob bytes, as recorded text (`blob_sha256` on images, snapshots and disk
//! mappings). Two algorithms, told apart by the text itself:
//!
//! * BLAKE3, written `blake3:` + 64 lowercase hex digits: what every write records now. On this
//!   project's 2-core machines SHA-256 (even with SHA-NI) cost 0.6 s of CPU per GiB, twice what
//!   `cp` needs for the whole copy, and an import's hashing thread competed with the copy for the
//!   second core; BLAKE3 (SIMD over many 1 KiB chunks at once) needs a fraction of that.
//! * SHA-256, written as bare 64 hex digits: what every recording made before BLAKE3 looks like,
//!   so existing data directories keep their meaning without a migration.
//!
//! Bytes checked against a recording are hashed with the algorithm the recording names (like
//! with like): a streamed clone of an old image recomputes SHA-256 and is verified against it.

use sha2::{Digest, Sha256};

/// The prefix that marks a BLAKE3 checksum.
const BLAKE3_PREFIX: &str = "blake3:";

/// A checksum algorithm of recorded blob checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Bare lowercase hex: recordings made before BLAKE3.
    Sha256,
    /// `blake3:<hex>`: every new recording.
    Blake3,
}

impl Algorithm {
    /// What new bytes are hashed with.
    pub const DEFAULT: Algorithm = Algorithm::Blake3;

    /// The algorithm a recorded checksum was made with. Only BLAKE3 recordings carry a prefix;
    /// anything else is taken as SHA-256, the only algorithm recorded before prefixes existed,
    /// so a malformed recording is hashed with SHA-256 and simply does not match.
    pub fn of(recorded: &str) -> Self {
        if recorded.starts_with(BLAKE3_PREFIX) {
            Algorithm::Blake3
        } else {
            Algorithm::Sha256
        }
    }

    /// The algorithm of `recorded` when there is one, else [`Algorithm::DEFAULT`].
    pub fn of_or_default(recorded: Option<&str>) -> Self {
        recorded.map_or(Self::DEFAULT, Self::of)
    }

    /// A fresh streaming hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    /// The recorded checksum of `data`, in one call.
    pub fn digest(self, data: &[u8]) -> String {
        let mut hasher = self.hasher();
        hasher.update(data);
        hasher.finish()
    }
}

/// A streaming hasher of one [`Algorithm`]; [`Hasher::finish`] gives the text to record.
pub enum Hasher {
    Sha256(Sha256),
    // Boxed: a BLAKE3 hasher carries a ~1.9 KiB chaining-value stack, and this value moves
    // between threads.
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    /// The checksum as recorded: bare hex for SHA-256, `blake3:<hex>` for BLAKE3.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Blake3(h) => format!("{BLAKE3_PREFIX}{}", h.finalize().to_hex()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recording_names_its_algorithm() {
        let data = b"abc";
        let sha = Algorithm::Sha256.digest(data);
        // The published SHA-256 of "abc": old recordings are exactly this text.
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let b3 = Algorithm::Blake3.digest(data);
        // The published BLAKE3 of "abc", behind the prefix.
        assert_eq!(
            b3,
            "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(Algorithm::of(&sha), Algorithm::Sha256);
        assert_eq!(Algorithm::of(&b3), Algorithm::Blake3);
        assert_eq!(Algorithm::of_or_default(None), Algorithm::Blake3);
        // A streamed hash equals the one-call digest, whatever the split.
        for alg in [Algorithm::Sha256, Algorithm::Blake3] {
            let mut h = alg.hasher();
            h.update(b"a");
            h.update(b"bc");
            assert_eq!(h.finish(), alg.digest(data));
        }
    }
}
