//! A quick load generator for one signed operation: N threads, each with a keep-alive
//! connection, sign and send the request in a loop for a fixed time, then print requests/s and
//! latency percentiles. The full benchmark (with baselines) is a separate piece of work; this is
//! for the quick figures in issue notes.
//!
//! cargo run --release -p ecsim --example quick_load -- ENDPOINT KEY_ID SECRET [THREADS] [SECONDS] [ACTION] [Name=Value...]

use ecsim_wire::client::{Scheme, Signer, sign_post};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: quick_load ENDPOINT KEY_ID SECRET [THREADS] [SECONDS] [ACTION] [Name=Value...]"
        );
        std::process::exit(2);
    }
    let endpoint = args[0].trim_end_matches('/').to_string();
    let (key_id, secret) = (args[1].clone(), args[2].clone());
    let threads: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(10);
    let action = args
        .get(5)
        .cloned()
        .unwrap_or_else(|| "DescribeImages".into());
    let params: Vec<(String, String)> = if args.len() > 6 {
        args[6..]
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    } else {
        vec![
            ("RegionId".into(), "cn-hangzhou".into()),
            (
                "ImageId".into(),
                "aliyun_3_x64_20G_alibase_20240819.vhd".into(),
            ),
        ]
    };
    let host = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, h)| h)
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (endpoint, host, key_id, secret, action, params) = (
                endpoint.clone(),
                host.clone(),
                key_id.clone(),
                secret.clone(),
                action.clone(),
                params.clone(),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let nonce = format!("{t}-{n}-{}", std::process::id());
                    let ts = time_now();
                    let signer = Signer {
                        access_key_id: &key_id,
                        access_key_secret: &secret,
                        timestamp: &ts,
                        nonce: &nonce,
                    };
                    let post =
                        sign_post(Scheme::V3, &signer, &host, &action, "2014-05-26", &params);
                    let start = Instant::now();
                    let mut req = agent.post(format!("{endpoint}/?{}", post.query));
                    for (k, v) in &post.headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    match req.send_empty() {
                        Ok(mut resp) => {
                            let ok = resp.status().is_success();
                            let _ = resp.body_mut().read_to_vec();
                            if !ok {
                                errors += 1;
                            }
                        }
                        Err(_) => errors += 1,
                    }
                    latencies.push(start.elapsed());
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.join() {
            all.extend(l);
            errors += e;
        }
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{action}: {} requests in {seconds}s with {threads} connections = {:.0} req/s; errors {errors}; p50 {:?} p99 {:?} p999 {:?}",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99),
        pct(0.999)
    );
}

fn time_now() -> String {
    use ecsim_core::Clock;
    ecsim_core::clock::format_time(ecsim_core::SystemClock.now())
}
