//! A quick load generator for one signed operation: N threads, each with a keep-alive
//! connection, sign and send the request in a loop for a fixed time, then print requests/s and
//! latency percentiles. The full benchmark (with baselines) is a separate piece of work; this is
//! for the quick figures in issue notes.
//!
//! cargo run --release -p ecsim --example quick_load -- ENDPOINT KEY_ID SECRET [THREADS] [SECONDS] [ACTION] [Name=Value...]
//!
//! ENDPOINT may list several nodes separated by commas: thread `t` talks to node `t % n`.
//! ACTION `DeleteImageCycle` measures whole cycles instead of one call: each thread launches an
//! instance, then loops CreateImage → DeleteImage (resent while `ImageIsCreating`), sending the
//! DeleteImage to the next node, and reports cycles/s (start ecsim with a short
//! `--creation-time-ms`, e.g. 0).

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
    let endpoints: Vec<String> = args[0]
        .split(',')
        .map(|e| e.trim_end_matches('/').to_string())
        .collect();
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
    if action == "DeleteImageCycle" {
        delete_image_cycles(&endpoints, &key_id, &secret, threads, seconds);
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let endpoint = endpoints[t % endpoints.len()].clone();
            let host = host_of(&endpoint);
            let (key_id, secret, action, params) = (
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

fn host_of(endpoint: &str) -> String {
    endpoint
        .split_once("://")
        .map_or(endpoint, |(_, h)| h)
        .to_string()
}

/// One signed V3 call; the JSON answer (errors too) or `None` when the request failed.
fn call(
    agent: &ureq::Agent,
    endpoint: &str,
    key_id: &str,
    secret: &str,
    action: &str,
    params: &[(String, String)],
    nonce: &str,
) -> Option<serde_json::Value> {
    let ts = time_now();
    let signer = Signer {
        access_key_id: key_id,
        access_key_secret: secret,
        timestamp: &ts,
        nonce,
    };
    let post = sign_post(
        Scheme::V3,
        &signer,
        &host_of(endpoint),
        action,
        "2014-05-26",
        params,
    );
    let mut req = agent.post(format!("{endpoint}/?{}", post.query));
    for (k, v) in &post.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let mut resp = req.send_empty().ok()?;
    serde_json::from_slice(&resp.body_mut().read_to_vec().ok()?).ok()
}

fn delete_image_cycles(
    endpoints: &[String],
    key_id: &str,
    secret: &str,
    threads: usize,
    seconds: u64,
) {
    let region = || ("RegionId".to_string(), "cn-hangzhou".to_string());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (key_id, secret) = (key_id.to_string(), secret.to_string());
            let create_on = endpoints[t % endpoints.len()].clone();
            let delete_on = endpoints[(t + 1) % endpoints.len()].clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut n = 0u64;
                let mut nonce = || {
                    n += 1;
                    format!("c{t}-{n}-{}", std::process::id())
                };
                let run = call(
                    &agent,
                    &create_on,
                    &key_id,
                    &secret,
                    "RunInstances",
                    &[
                        region(),
                        (
                            "ImageId".into(),
                            "aliyun_3_x64_20G_alibase_20240819.vhd".into(),
                        ),
                        ("InstanceType".into(), "ecs.g7.large".into()),
                    ],
                    &nonce(),
                );
                let Some(instance) = run
                    .as_ref()
                    .and_then(|r| r["InstanceIdSets"]["InstanceIdSet"][0].as_str())
                    .map(str::to_string)
                else {
                    eprintln!("RunInstances failed: {run:?}");
                    return (Vec::new(), 1u64);
                };
                let mut cycles = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let name = format!("cycle-{t}-{}", uuid::Uuid::new_v4().simple());
                    let created = call(
                        &agent,
                        &create_on,
                        &key_id,
                        &secret,
                        "CreateImage",
                        &[
                            region(),
                            ("InstanceId".into(), instance.clone()),
                            ("ImageName".into(), name),
                        ],
                        &nonce(),
                    );
                    let Some(image) = created
                        .as_ref()
                        .and_then(|r| r["ImageId"].as_str())
                        .map(str::to_string)
                    else {
                        errors += 1;
                        continue;
                    };
                    loop {
                        let deleted = call(
                            &agent,
                            &delete_on,
                            &key_id,
                            &secret,
                            "DeleteImage",
                            &[region(), ("ImageId".into(), image.clone())],
                            &nonce(),
                        );
                        match deleted.as_ref().and_then(|r| r["Code"].as_str()) {
                            Some("ImageIsCreating") => std::thread::sleep(Duration::from_millis(2)),
                            Some(_) => {
                                errors += 1;
                                break;
                            }
                            None if deleted.is_some() => {
                                cycles.push(start.elapsed());
                                break;
                            }
                            None => {
                                errors += 1;
                                break;
                            }
                        }
                    }
                }
                (cycles, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((c, e)) = w.join() {
            all.extend(c);
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
        "DeleteImageCycle (CreateImage + DeleteImage): {} cycles in {seconds}s with {threads} connections over {} node(s) = {:.0} cycles/s; errors {errors}; p50 {:?} p99 {:?}",
        all.len(),
        endpoints.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
}

fn time_now() -> String {
    use ecsim_core::Clock;
    ecsim_core::clock::format_time(ecsim_core::SystemClock.now())
}
