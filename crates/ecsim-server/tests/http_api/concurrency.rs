//! DeleteImage (without Force) racing RunInstances on the same image: "no instance uses this
//! image" must still hold when the delete commits (spec §3.1, store: serialized writes).

use crate::support::*;

const ROUNDS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_image_never_wins_against_a_launch_from_it() {
    let app = TestApp::start();
    let source = app.run_instance(X86_IMAGE).await;
    let mut images = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        images.push(app.create_image_from(&source, None).await);
    }
    app.finish_creations().await;

    let (mut deleted, mut launched) = (0, 0);
    for (round, image) in images.iter().enumerate() {
        let delete = app.call("DeleteImage").region().param("ImageId", image);
        let run = || {
            app.call("RunInstances")
                .region()
                .param("ImageId", image)
                .param("InstanceType", X86_TYPE)
        };
        let (run_a, run_b) = (run(), run());
        // Alternate which request is polled first.
        let (d, a, b) = if round % 2 == 0 {
            tokio::join!(delete.send(), run_a.send(), run_b.send())
        } else {
            let (a, b, d) = tokio::join!(run_a.send(), run_b.send(), delete.send());
            (d, a, b)
        };
        let delete_ok = match d.status {
            200 => true,
            _ => {
                d.err(403, "ImageUsingByInstance");
                false
            }
        };
        let mut runs_ok = 0;
        for r in [a, b] {
            if r.status == 200 {
                runs_ok += 1;
                r.ok();
            } else {
                r.err(403, "OperationDenied.ImageNotValid");
            }
        }
        assert!(
            !(delete_ok && runs_ok > 0),
            "round {round}: DeleteImage without Force and RunInstances both succeeded"
        );
        assert!(
            delete_ok || runs_ok > 0,
            "round {round}: neither the delete nor a launch succeeded"
        );
        let users = app.instances_of_image(image).await;
        if delete_ok {
            deleted += 1;
            assert!(
                users.is_empty(),
                "round {round}: image deleted but instances use it: {users:?}"
            );
            assert!(app.describe_image(image).await.is_none());
        } else {
            launched += 1;
            assert_eq!(users.len(), runs_ok, "round {round}");
            let shown = app.describe_image(image).await.expect("image survives");
            assert_eq!(shown["Usage"], "instance");
        }
    }
    assert_eq!(deleted + launched, ROUNDS);
    eprintln!("race outcomes over {ROUNDS} rounds: delete won {deleted}, launch won {launched}");
}

/// Sends every call at once, each on its own task; answers in the calls' order.
async fn all_at_once(calls: Vec<Call>) -> Vec<Resp> {
    let handles: Vec<_> = calls
        .into_iter()
        .map(|call| tokio::spawn(async move { call.send().await }))
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("request task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_client_token_create_one_image() {
    let app = TestApp::start();
    let source = app.run_instance(X86_IMAGE).await;
    let calls = (0..8)
        .map(|_| {
            app.call("CreateImage")
                .region()
                .param("InstanceId", &source)
                .param("ImageName", "raced")
                .param("ClientToken", "raced-token")
        })
        .collect();
    let ids: Vec<String> = all_at_once(calls)
        .await
        .into_iter()
        .map(|r| str_of(&r.ok()["ImageId"]))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 1, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_same_name_creations_admit_one() {
    let app = TestApp::start();
    let source = app.run_instance(X86_IMAGE).await;
    let calls = (0..8)
        .map(|_| {
            app.call("CreateImage")
                .region()
                .param("InstanceId", &source)
                .param("ImageName", "only-one")
        })
        .collect();
    let mut created = 0;
    for r in all_at_once(calls).await {
        if r.status == 200 {
            created += 1;
            r.ok();
        } else {
            r.err(400, "InvalidImageName.Duplicated");
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_of_one_nonce_admit_one() {
    let app = TestApp::start();
    let call = app.call("DescribeRegions").nonce("contended-nonce");
    let mut admitted = 0;
    for r in all_at_once(vec![call; 8]).await {
        if r.status == 200 {
            admitted += 1;
            r.ok();
        } else {
            r.err(400, "SignatureNonceUsed");
        }
    }
    assert_eq!(admitted, 1);
}
