//! Time as an injectable dependency: tests move a manual clock instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Millis) -> Self {
        Self(AtomicI64::new(start))
    }
    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// ECS resource time: `yyyy-MM-ddTHH:mm:ssZ`, UTC, second precision.
pub fn format_time(at: Millis) -> String {
    let dt = OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (dt.year(), u8::from(dt.month()), dt.day());
    let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
    let Ok(year @ 0..=9999) = u16::try_from(y) else {
        return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
    };
    // Digit by digit rather than through `format!`: listings format one per item, and the
    // formatting machinery cost more than the date arithmetic (BENCHMARKS.md).
    let mut out = String::with_capacity(20);
    let mut push = |value: u16, digits: u32, then: Option<char>| {
        for place in (0..digits).rev() {
            let digit = (value / 10u16.pow(place)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        if let Some(c) = then {
            out.push(c);
        }
    };
    push(year, 4, Some('-'));
    push(mo.into(), 2, Some('-'));
    push(d.into(), 2, Some('T'));
    push(h.into(), 2, Some(':'));
    push(mi.into(), 2, Some(':'));
    push(s.into(), 2, Some('Z'));
    out
}

/// Minute-precision time, as ECS shows instances and tasks: `yyyy-MM-ddTHH:mmZ`.
pub fn format_minutes(at: Millis) -> String {
    let mut full = format_time(at);
    full.replace_range(16.., "Z");
    full
}

/// Parses the timestamps clients send (`2024-01-01T12:00:00Z`, RFC 3339 in general) and
/// ECS's minute-precision filter values (`2024-01-01T12:00Z`).
pub fn parse_time(text: &str) -> Option<Millis> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let with_seconds = text.strip_suffix('Z').filter(|t| t.len() == 16)?;
        OffsetDateTime::parse(&format!("{with_seconds}:00Z"), &Rfc3339).ok()
    })?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_ecs_time() {
        let t = parse_time("2024-01-01T12:00:00Z").unwrap();
        assert_eq!(format_time(t), "2024-01-01T12:00:00Z");
        assert_eq!(parse_time("2024-01-01T12:00Z"), Some(t));
        assert_eq!(parse_time("2024-01-01 12:00:00"), None);
        assert_eq!(parse_time("garbage"), None);
        assert_eq!(format_minutes(t + 59_000), "2024-01-01T12:00Z");
    }

    #[test]
    fn time_formats_as_format_would_spell_it() {
        for at in [
            0,
            999,
            -1,
            1_700_000_000_000,
            951_782_400_000,     // 2000-02-29
            253_402_300_799_000, // 9999-12-31T23:59:59
            -62_135_596_800_000, // 0001-01-01
            i64::MAX,            // out of range: the epoch
        ] {
            let dt = OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            assert_eq!(format_time(at), expected, "{at}");
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1000);
        assert_eq!(c.now(), 1000);
        c.advance(500);
        assert_eq!(c.now(), 1500);
    }
}
