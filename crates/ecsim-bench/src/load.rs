//! The load generator: `connections` closed-loop keep-alive connections, each signing and
//! sending its next request as soon as the previous answer arrived.

use crate::http::{self, Conn};
use ecsim_core::Clock;
use ecsim_wire::client::{Scheme, Signer, sign_post};
use ecsim_wire::signature::percent_encode;
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Signing {
    /// One of ECS's schemes, signed per request with a fresh nonce and timestamp.
    Ecs(Scheme),
    /// A constant AWS SigV4-shaped `Authorization` header: moto routes on its credential scope
    /// and checks no signature.
    AwsUnverified,
    /// Nothing: `Action` and `Version` in the query.
    None,
}

#[derive(Clone, Debug)]
struct Step {
    action: String,
    params: Vec<(String, String)>,
}

#[derive(Debug)]
struct Plan {
    /// `host:port` of each node; connection `i` talks to node `i % hosts.len()`.
    hosts: Vec<String>,
    signing: Signing,
    key_id: String,
    secret: String,
    version: String,
    connections: usize,
    threads: usize,
    duration: Duration,
    warmup: Duration,
    max_requests: Option<u64>,
    first: Step,
    then: Option<Step>,
    extract: Option<String>,
    lag: usize,
    retry_code: Option<String>,
    retry_wait: Duration,
    expect_status: Option<u16>,
    expect_code: Option<String>,
    expect_contains: Option<String>,
    label: String,
    json: bool,
}

fn parse(args: &[String]) -> Result<Plan, String> {
    let mut endpoints: Vec<String> = Vec::new();
    let mut signing = Signing::Ecs(Scheme::V3);
    let (mut key_id, mut secret) = (String::new(), String::new());
    let mut version = "2014-05-26".to_string();
    let (mut connections, mut threads) = (32usize, 1usize);
    let (mut duration, mut warmup) = (10.0f64, 2.0f64);
    let mut warmup_given = false;
    let mut max_requests = None;
    let mut first: Option<Step> = None;
    let mut then: Option<Step> = None;
    let mut extract = None;
    let mut lag = 0usize;
    let mut retry_code = None;
    let mut retry_wait_ms = 2.0f64;
    let mut expect_status = None;
    let mut expect_code = None;
    let mut expect_contains = None;
    let mut label = String::new();
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--json" {
            json = true;
            continue;
        }
        let value = it
            .next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--endpoint" => endpoints.extend(value.split(',').map(str::to_string)),
            "--scheme" => {
                signing = match value.to_ascii_lowercase().as_str() {
                    "aws" => Signing::AwsUnverified,
                    "none" => Signing::None,
                    other => Signing::Ecs(
                        Scheme::parse(other).ok_or_else(|| format!("unknown scheme {other}"))?,
                    ),
                }
            }
            "--key-id" => key_id = value,
            "--secret" => secret = value,
            "--version" => version = value,
            "--connections" => connections = num(&value)? as usize,
            "--threads" => threads = (num(&value)? as usize).max(1),
            "--duration" => duration = num(&value)?,
            "--warmup" => {
                warmup = num(&value)?;
                warmup_given = true;
            }
            "--requests" => max_requests = Some(num(&value)? as u64),
            "--action" => {
                first = Some(Step {
                    action: value,
                    params: Vec::new(),
                })
            }
            "--then" => {
                then = Some(Step {
                    action: value,
                    params: Vec::new(),
                })
            }
            "--param" => {
                let (k, v) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--param {value}: expected Name=Value"))?;
                let step = then
                    .as_mut()
                    .or(first.as_mut())
                    .ok_or("--param before --action")?;
                step.params.push((k.to_string(), v.to_string()));
            }
            "--extract" => extract = Some(value),
            "--lag" => lag = num(&value)? as usize,
            "--retry-code" => retry_code = Some(value),
            "--retry-wait-ms" => retry_wait_ms = num(&value)?,
            "--expect-status" => {
                expect_status = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--expect-status {value}"))?,
                )
            }
            "--expect-code" => expect_code = Some(value),
            "--expect-contains" => expect_contains = Some(value),
            "--label" => label = value,
            other => return Err(format!("load: unknown argument {other}")),
        }
    }
    if endpoints.is_empty() {
        return Err("load: --endpoint is required".into());
    }
    let hosts = endpoints
        .iter()
        .map(|e| {
            e.split_once("://")
                .map_or(e.as_str(), |(_, h)| h)
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let first = first.ok_or("load: --action is required")?;
    if then.is_some() && extract.is_none() {
        return Err("load: --then needs --extract FIELD".into());
    }
    if matches!(signing, Signing::Ecs(_)) && (key_id.is_empty() || secret.is_empty()) {
        return Err("load: ECS signing needs --key-id and --secret".into());
    }
    if max_requests.is_some() && !warmup_given {
        warmup = 0.0;
    }
    if label.is_empty() {
        label = match &then {
            Some(t) => format!("{}+{}", first.action, t.action),
            None => first.action.clone(),
        };
    }
    Ok(Plan {
        hosts,
        signing,
        key_id,
        secret,
        version,
        connections: connections.max(1),
        threads,
        duration: Duration::from_secs_f64(duration),
        warmup: Duration::from_secs_f64(warmup),
        max_requests,
        first,
        then,
        extract,
        lag,
        retry_code,
        retry_wait: Duration::from_secs_f64(retry_wait_ms / 1000.0),
        expect_status,
        expect_code,
        expect_contains,
        label,
        json,
    })
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    /// Latencies in nanoseconds, per step, of requests started inside the measured window.
    latencies: [Vec<u64>; 2],
    /// Unexpected answers and I/O failures by kind, inside the window.
    errors: BTreeMap<String, u64>,
    /// Second-step answers with the retry code, each followed by a resend.
    retried: u64,
    cycles: u64,
}

struct Shared {
    plan: Plan,
    run: String,
    measure_from: Instant,
    end: Instant,
    issued: AtomicU64,
}

impl Shared {
    fn may_send(&self) -> bool {
        if Instant::now() >= self.end {
            return false;
        }
        match self.plan.max_requests {
            Some(max) => self.issued.fetch_add(1, Ordering::Relaxed) < max,
            None => true,
        }
    }
}

/// The `yyyy-MM-ddTHH:mm:ssZ` timestamp, formatted again only when the second changes.
struct Stamp {
    second: i64,
    text: String,
}

impl Stamp {
    fn now(&mut self) -> &str {
        let ms = ecsim_core::SystemClock.now();
        if ms / 1000 != self.second {
            self.second = ms / 1000;
            self.text = ecsim_core::clock::format_time(ms);
        }
        &self.text
    }
}

fn substitute(value: &str, seq: &str, id: Option<&str>) -> String {
    if !value.contains('{') {
        return value.to_string();
    }
    let v = value.replace("{seq}", seq);
    match id {
        Some(id) => v.replace("{id}", id),
        None => v,
    }
}

/// The bytes of one signed request.
fn request_bytes(
    shared: &Shared,
    host: &str,
    step: &Step,
    seq: &str,
    id: Option<&str>,
    stamp: &mut Stamp,
) -> Vec<u8> {
    let plan = &shared.plan;
    let params: Vec<(String, String)> = step
        .params
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v, seq, id)))
        .collect();
    let (query, headers) = match plan.signing {
        Signing::Ecs(scheme) => {
            let nonce = format!("{}-{seq}", shared.run);
            let signer = Signer {
                access_key_id: &plan.key_id,
                access_key_secret: &plan.secret,
                timestamp: stamp.now(),
                nonce: &nonce,
            };
            let post = sign_post(scheme, &signer, host, &step.action, &plan.version, &params);
            (post.query, post.headers)
        }
        Signing::AwsUnverified | Signing::None => {
            let mut q = format!(
                "Action={}&Version={}",
                percent_encode(&step.action),
                percent_encode(&plan.version)
            );
            for (k, v) in &params {
                let _ = write!(q, "&{}={}", percent_encode(k), percent_encode(v));
            }
            let headers = if plan.signing == Signing::AwsUnverified {
                vec![(
                    "authorization".to_string(),
                    "AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000".to_string(),
                )]
            } else {
                Vec::new()
            };
            (q, headers)
        }
    };
    let mut out = String::with_capacity(query.len() + 512);
    let _ = write!(out, "POST /?{query} HTTP/1.1\r\nhost: {host}\r\n");
    for (k, v) in &headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    out.push_str("content-length: 0\r\n\r\n");
    out.into_bytes()
}

/// Whether an answer is what the scenario expects; else the key it is counted under.
fn judge(plan: &Plan, answer: &http::Answer) -> Option<String> {
    let status_ok = match plan.expect_status {
        Some(s) => answer.status == s,
        None => (200..300).contains(&answer.status),
    };
    let code_ok = plan
        .expect_code
        .as_ref()
        .is_none_or(|c| http::error_code(&answer.body).as_deref() == Some(c.as_str()));
    let contains_ok = plan.expect_contains.as_ref().is_none_or(|needle| {
        answer
            .body
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    });
    if status_ok && code_ok && contains_ok {
        None
    } else {
        let code = http::error_code(&answer.body).unwrap_or_else(|| {
            if contains_ok {
                "-".into()
            } else {
                "unexpected body".into()
            }
        });
        Some(format!("{} {code}", answer.status))
    }
}

struct Worker {
    shared: Arc<Shared>,
    index: usize,
    conn: Option<Conn>,
    line: String,
    stamp: Stamp,
    n: u64,
    tally: Tally,
}

impl Worker {
    /// Sends one request of `step` (0 or 1), recording its latency when `record` and it started
    /// inside the window; the answer if any, and whether it was recorded.
    async fn send(
        &mut self,
        step: usize,
        id: Option<&str>,
        record: bool,
    ) -> (Option<http::Answer>, bool) {
        self.n += 1;
        let seq = format!("{}x{}", self.index, self.n);
        let shared = Arc::clone(&self.shared);
        let plan = &shared.plan;
        let which = if step == 0 {
            &plan.first
        } else {
            plan.then.as_ref().unwrap_or(&plan.first)
        };
        let host = &plan.hosts[self.index % plan.hosts.len()];
        let bytes = request_bytes(&shared, host, which, &seq, id, &mut self.stamp);
        let started = Instant::now();
        let record = record && started >= shared.measure_from;
        let result = async {
            if self.conn.as_ref().is_none_or(Conn::is_closing) {
                self.conn = Some(Conn::connect(host).await?);
            }
            match self.conn.as_mut() {
                Some(c) => c.round_trip(&bytes, &mut self.line).await,
                None => Err(std::io::Error::other("no connection")),
            }
        }
        .await;
        let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        match result {
            Ok(answer) => {
                if record {
                    self.tally.latencies[step].push(elapsed);
                }
                (Some(answer), record)
            }
            Err(e) => {
                self.conn = None;
                if record {
                    *self
                        .tally
                        .errors
                        .entry(format!("io {:?}", e.kind()))
                        .or_default() += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                (None, false)
            }
        }
    }

    async fn run(mut self) -> Tally {
        let shared = Arc::clone(&self.shared);
        let plan = &shared.plan;
        let mut pending: VecDeque<String> = VecDeque::new();
        while shared.may_send() {
            let answer = self.judged(0, None, true).await;
            let Some(field) = plan.then.as_ref().and(plan.extract.as_deref()) else {
                continue;
            };
            if let Some(id) = answer
                .filter(|a| (200..300).contains(&a.status))
                .and_then(|a| http::extract(&a.body, field))
            {
                pending.push_back(id);
            }
            if pending.len() > plan.lag
                && let Some(id) = pending.pop_front()
            {
                self.finish(&id, true).await;
                if Instant::now() >= shared.measure_from {
                    self.tally.cycles += 1;
                }
            }
        }
        // Undo what is still pending, outside the measurement.
        while let Some(id) = pending.pop_front() {
            self.finish(&id, false).await;
        }
        self.tally
    }

    /// Sends and counts an unexpected answer as an error.
    async fn judged(
        &mut self,
        step: usize,
        id: Option<&str>,
        record: bool,
    ) -> Option<http::Answer> {
        let (answer, recorded) = self.send(step, id, record).await;
        if recorded
            && let Some(a) = &answer
            && let Some(key) = judge(&self.shared.plan, a)
        {
            *self.tally.errors.entry(key).or_default() += 1;
        }
        answer
    }

    /// The second step for `id`, resent while it answers the retry code (a resource still
    /// being created); gives up when the run is over and, unrecorded, after 10 s.
    async fn finish(&mut self, id: &str, record: bool) {
        let shared = Arc::clone(&self.shared);
        let plan = &shared.plan;
        let give_up = Instant::now().max(shared.end) + Duration::from_secs(10);
        loop {
            let (answer, recorded) = self.send(1, Some(id), record).await;
            let Some(answer) = answer else {
                if Instant::now() >= give_up {
                    return;
                }
                continue;
            };
            let retry = plan
                .retry_code
                .as_ref()
                .is_some_and(|c| http::error_code(&answer.body).as_deref() == Some(c.as_str()));
            if retry && Instant::now() < give_up {
                if recorded {
                    self.tally.retried += 1;
                }
                tokio::time::sleep(plan.retry_wait).await;
                continue;
            }
            if recorded && let Some(key) = judge(plan, &answer) {
                *self.tally.errors.entry(key).or_default() += 1;
            }
            return;
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn summary(sorted: &[u64]) -> serde_json::Value {
    let mean = if sorted.is_empty() {
        0.0
    } else {
        sorted.iter().map(|&n| n as f64).sum::<f64>() / sorted.len() as f64 / 1e6
    };
    json!({
        "requests": sorted.len(),
        "p50_ms": percentile(sorted, 0.50),
        "p99_ms": percentile(sorted, 0.99),
        "p999_ms": percentile(sorted, 0.999),
        "max_ms": sorted.last().map_or(0.0, |&n| n as f64 / 1e6),
        "mean_ms": mean,
    })
}

fn scheme_name(s: Signing) -> &'static str {
    match s {
        Signing::Ecs(Scheme::V3) => "v3",
        Signing::Ecs(Scheme::V3Sm3) => "sm3",
        Signing::Ecs(Scheme::V1) => "v1",
        Signing::AwsUnverified => "aws-unverified",
        Signing::None => "none",
    }
}

pub fn main(args: &[String]) -> Result<(), String> {
    let plan = parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let now = Instant::now();
    let measure_from = now + plan.warmup;
    let end = match plan.max_requests {
        // A counted run (seeding) ends when the count is reached; the duration only caps it.
        Some(_) if plan.duration.is_zero() => now + Duration::from_secs(3600),
        _ => measure_from + plan.duration,
    };
    let run = format!(
        "{:x}{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
        std::process::id()
    );
    let shared = Arc::new(Shared {
        plan,
        run,
        measure_from,
        end,
        issued: AtomicU64::new(0),
    });
    let tallies: Vec<Tally> = runtime.block_on(async {
        let handles: Vec<_> = (0..shared.plan.connections)
            .map(|index| {
                tokio::spawn(
                    Worker {
                        shared: Arc::clone(&shared),
                        index,
                        conn: None,
                        line: String::new(),
                        stamp: Stamp {
                            second: -1,
                            text: String::new(),
                        },
                        n: 0,
                        tally: Tally::default(),
                    }
                    .run(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            if let Ok(t) = h.await {
                out.push(t);
            }
        }
        out
    });
    let finished = Instant::now();
    let plan = &shared.plan;
    let window = finished
        .min(shared.end)
        .saturating_duration_since(measure_from)
        .as_secs_f64()
        .max(1e-9);
    let mut steps: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut cycles = 0;
    let mut retried = 0;
    for t in tallies {
        retried += t.retried;
        for (all, mine) in steps.iter_mut().zip(t.latencies) {
            all.extend(mine);
        }
        for (k, v) in t.errors {
            *errors.entry(k).or_default() += v;
        }
        cycles += t.cycles;
    }
    let mut all: Vec<u64> = steps.iter().flatten().copied().collect();
    all.sort_unstable();
    for s in &mut steps {
        s.sort_unstable();
    }
    let error_count: u64 = errors.values().sum();
    let mut out = summary(&all);
    let rps = all.len() as f64 / window;
    out["label"] = json!(plan.label);
    out["scheme"] = json!(scheme_name(plan.signing));
    out["connections"] = json!(plan.connections);
    out["client_threads"] = json!(plan.threads);
    out["seconds"] = json!(window);
    out["rps"] = json!(rps);
    out["errors"] = json!(error_count);
    out["error_kinds"] = json!(errors);
    if let Some(then) = &plan.then {
        out["cycles_per_s"] = json!(cycles as f64 / window);
        out["retried"] = json!(retried);
        out["steps"] = json!({
            plan.first.action.clone(): summary(&steps[0]),
            then.action.clone(): summary(&steps[1]),
        });
    }
    if plan.json {
        println!("{out}");
    } else {
        println!(
            "{}: {} requests in {:.1}s with {} connections ({}) = {:.0} req/s; errors {}; p50 {:.3} ms p99 {:.3} ms p99.9 {:.3} ms max {:.3} ms",
            plan.label,
            all.len(),
            window,
            plan.connections,
            scheme_name(plan.signing),
            rps,
            error_count,
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            percentile(&all, 0.999),
            all.last().map_or(0.0, |&n| n as f64 / 1e6),
        );
        for (k, v) in &errors {
            println!("  {v} × {k}");
        }
        if plan.then.is_some() {
            println!(
                "  {:.0} cycles/s; {retried} second-step answers retried",
                cycles as f64 / window
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_a_cycle_with_params_per_step() {
        let plan = parse(&args(
            "--endpoint http://127.0.0.1:9/ --key-id k --secret s --action CreateImage --param RegionId=r --param InstanceId=i-1 --then DeleteImage --param ImageId={id} --extract ImageId --lag 1",
        ))
        .unwrap();
        assert_eq!(plan.hosts, ["127.0.0.1:9"]);
        assert_eq!(plan.first.params.len(), 2);
        assert_eq!(
            plan.then.as_ref().unwrap().params,
            vec![("ImageId".to_string(), "{id}".to_string())]
        );
        assert_eq!(plan.label, "CreateImage+DeleteImage");
        assert!(
            parse(&args("--endpoint h --action A")).is_err(),
            "V3 without a key"
        );
        assert!(parse(&args("--endpoint h --scheme none --action A")).is_ok());
    }

    #[test]
    fn endpoints_may_be_repeated_or_listed_with_commas() {
        let plan = parse(&args(
            "--endpoint http://a:1,http://b:2/ --endpoint c:3 --scheme none --action A",
        ))
        .unwrap();
        assert_eq!(plan.hosts, ["a:1", "b:2", "c:3"]);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=1000).map(|n| n * 1_000_000).collect();
        assert_eq!(percentile(&v, 0.5), 500.0);
        assert_eq!(percentile(&v, 0.99), 990.0);
        assert_eq!(percentile(&v, 0.999), 999.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn placeholders_are_substituted() {
        assert_eq!(substitute("b{seq}", "3x4", None), "b3x4");
        assert_eq!(substitute("{id}", "1", Some("m-1")), "m-1");
        assert_eq!(substitute("plain", "1", Some("m-1")), "plain");
    }
}
