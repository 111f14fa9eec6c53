//! Storage behaviour every backend must show. Each test runs once per backend: SQLite in a
//! temp file, PostgreSQL in a fresh schema of the server at `ECSIM_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards. An unreachable PostgreSQL
//! fails the PostgreSQL variants; `ECSIM_SKIP_POSTGRES=1` skips them instead (local runs only).

use super::*;
use ecsim_core::model::{BootMode, DiskMapping};

/// A database for one test; `open` may be called again (a restart).
enum TestDb {
    Sqlite(TempDir),
    Postgres(postgres::ScratchSchema),
}

/// Removed with everything in it when dropped.
pub(crate) struct TempDir(pub(crate) std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    fn open(&self) -> Store {
        match self {
            TestDb::Sqlite(dir) => Store::open(dir.0.join("ecsim.db").to_str().unwrap()).unwrap(),
            TestDb::Postgres(schema) => Store::open(&schema.url).unwrap(),
        }
    }
}

/// A fresh directory name under the temp dir (not created).
pub(crate) fn temp_dir(what: &str) -> TempDir {
    TempDir(std::env::temp_dir().join(format!("ecsim-store-{what}-{}", uuid_like())))
}

fn sqlite_db() -> Option<TestDb> {
    Some(TestDb::Sqlite(temp_dir("test")))
}

pub(crate) fn postgres_base_url() -> String {
    std::env::var("ECSIM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A fresh schema; `None` (skip) only when `ECSIM_SKIP_POSTGRES=1`.
fn postgres_db() -> Option<TestDb> {
    if std::env::var("ECSIM_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("ECSIM_SKIP_POSTGRES=1: skipping a PostgreSQL test");
        return None;
    }
    let base = postgres_base_url();
    match postgres::ScratchSchema::create(&base) {
        Ok(schema) => Some(TestDb::Postgres(schema)),
        Err(err) => panic!(
            "PostgreSQL at {base} is needed for this test ({err}); start it (.ci/run does) or set ECSIM_SKIP_POSTGRES=1"
        ),
    }
}

/// Each named test function (`fn(&TestDb)`) becomes one `#[test]` per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { if let Some(db) = super::sqlite_db() { super::$name(&db) } })*
        }
        mod on_postgres {
            $(#[test] fn $name() { if let Some(db) = super::postgres_db() { super::$name(&db) } })*
        }
    };
}

on_both_backends!(
    committed_writes_survive_reopen_and_rolled_back_ones_do_not,
    image_listing_filters_by_owner_and_hides_tombstones,
    paging_reports_the_total,
    snapshot_links_are_released_when_the_image_is_deleted,
    timed_creations_are_due_at_their_time,
    recorded_checksums_of_completed_creations_are_kept,
    tasks_are_leased_to_one_node_until_the_lease_expires,
    tags_filter_images,
    ids_sort_bytewise_and_names_match_literally,
    instances_disks_and_snapshots_filter,
    tag_patterns_match_with_star_only,
    sharing_and_community_visibility,
    metadata_accounts_keys_and_regions_round_trip,
    client_tokens_and_nonces,
    copy_tasks_are_found_by_source,
    identity_names_are_case_insensitive_and_a_failed_insert_does_not_spoil_the_transaction,
    identity_policies_versions_and_generation,
    listing_totals_follow_every_change_and_extras_come_batched,
    listed_images_follow_every_write_of_their_document,
    deletion_facts_answer_what_the_single_questions_do,
    writes_read_the_image_as_committed_not_as_rolled_back,
);

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{nanos}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn image(id: &str, owner: Option<AccountId>, created_at: Millis) -> Image {
    Image {
        id: id.into(),
        region_id: "cn-hangzhou".into(),
        owner,
        name: format!("name-{id}"),
        description: String::new(),
        family: String::new(),
        version: String::new(),
        status: ImageStatus::Available,
        os_type: OsType::Linux,
        os_name: String::new(),
        os_name_en: String::new(),
        platform: "Aliyun".into(),
        architecture: Architecture::X86_64,
        boot_mode: BootMode::Bios,
        size_gib: 20,
        license_type: String::new(),
        imds_support: "v1".into(),
        nvme_support: "unsupported".into(),
        is_copied: false,
        is_public: false,
        encrypted: false,
        created_at,
        ready_at: None,
        deleted_at: None,
        source_instance_id: None,
        blob_sha256: None,
        blob_source: None,
        disk_mappings: vec![DiskMapping {
            device: "/dev/xvda".into(),
            kind: DiskType::System,
            size_gib: 20,
            snapshot_id: Some(format!("s-{id}")),
            format: String::new(),
            import_oss_bucket: String::new(),
            import_oss_object: String::new(),
            blob_sha256: None,
        }],
    }
}

fn query(caller: AccountId) -> ImageQuery {
    ImageQuery {
        caller,
        region_id: "cn-hangzhou".into(),
        owners: OwnerSet {
            system: true,
            own: true,
            shared_with_me: true,
            community: false,
        },
        limit: 100,
        ..Default::default()
    }
}

fn committed_writes_survive_reopen_and_rolled_back_ones_do_not(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| Ok(tx.put_image(&image("m-1", Some(1), 10))?))
        .unwrap();
    let failed: Result<(), ApiError> = store.write(|tx| {
        tx.put_image(&image("m-2", Some(1), 20))?;
        Err(ApiError::new(Code::ImageUsingByInstance))
    });
    assert!(failed.is_err());
    drop(store);
    let store = db.open();
    assert!(
        store
            .read(|tx| Ok(tx.image("cn-hangzhou", "m-1")?))
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .read(|tx| Ok(tx.image("cn-hangzhou", "m-2")?))
            .unwrap()
            .is_none()
    );
}

fn image_listing_filters_by_owner_and_hides_tombstones(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.put_image(&image("sys", None, 1))?;
            tx.put_image(&image("m-mine", Some(1), 3))?;
            tx.put_image(&image("m-theirs", Some(2), 2))?;
            let mut gone = image("m-gone", Some(1), 4);
            gone.deleted_at = Some(5);
            tx.put_image(&gone)?;
            Ok(())
        })
        .unwrap();
    let ids = |q: ImageQuery| -> Vec<String> {
        store
            .read(|tx| Ok(tx.find_images(&q)?))
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(ids(query(1)), vec!["m-mine", "sys"]);
    let mut own_only = query(1);
    own_only.owners = OwnerSet {
        own: true,
        ..Default::default()
    };
    assert_eq!(ids(own_only), vec!["m-mine"]);
    assert_eq!(ids(query(3)), vec!["sys"]);
}

fn paging_reports_the_total(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            for n in 0..25 {
                tx.put_image(&image(&format!("m-{n:02}"), Some(1), n))?;
            }
            Ok(())
        })
        .unwrap();
    let mut q = query(1);
    q.limit = 10;
    q.offset = 20;
    let page = store.read(|tx| Ok(tx.find_images(&q)?)).unwrap();
    assert_eq!(page.total, 25);
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.items[0].id, "m-04");
}

fn snapshot_links_are_released_when_the_image_is_deleted(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| Ok(tx.put_image(&image("m-1", Some(1), 1))?))
        .unwrap();
    assert!(
        store
            .read(|tx| Ok(tx.snapshot_used_by_image("s-m-1")?))
            .unwrap()
    );
    store
        .write(|tx| {
            let mut img = tx.image("cn-hangzhou", "m-1")?.unwrap();
            img.deleted_at = Some(2);
            Ok(tx.put_image(&img)?)
        })
        .unwrap();
    assert!(
        !store
            .read(|tx| Ok(tx.snapshot_used_by_image("s-m-1")?))
            .unwrap()
    );
}

fn timed_creations_are_due_at_their_time(db: &TestDb) {
    let store = db.open();
    let mut img = image("m-1", Some(1), 0);
    img.status = ImageStatus::Creating;
    img.ready_at = Some(1000);
    store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
    assert_eq!(store.read(|tx| Ok(tx.next_due()?)).unwrap(), Some(1000));
    assert!(store.read(|tx| Ok(tx.due_images(999)?)).unwrap().is_empty());
    assert_eq!(store.read(|tx| Ok(tx.due_images(1000)?)).unwrap().len(), 1);
    img.status = ImageStatus::Available;
    img.ready_at = None;
    store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
    assert_eq!(store.read(|tx| Ok(tx.next_due()?)).unwrap(), None);
}

/// The completion worker records the checksum of the bytes it cloned on the snapshot and the
/// image in one transaction; both must come back from the store as written (the next clone
/// relies on them instead of reading the bytes again).
fn recorded_checksums_of_completed_creations_are_kept(db: &TestDb) {
    let store = db.open();
    let sum = "ab".repeat(32);
    let mut snap = Snapshot {
        id: "s-9".into(),
        owner: 1,
        region_id: "cn-hangzhou".into(),
        name: String::new(),
        description: String::new(),
        source_disk_id: "d-9".into(),
        source_disk_type: DiskType::System,
        source_disk_size_gib: 20,
        source_image_id: Some("m-src".into()),
        status: SnapshotStatus::Progressing,
        created_at: 1,
        ready_at: Some(10),
        blob_source: Some(ecsim_core::model::BlobRef {
            region: "cn-hangzhou".into(),
            key: "m-src".into(),
        }),
        blob_sha256: None,
    };
    let mut img = image("m-9", Some(1), 1);
    img.status = ImageStatus::Creating;
    img.ready_at = Some(10);
    store
        .write(|tx| {
            tx.put_snapshot(&snap)?;
            Ok(tx.put_image(&img)?)
        })
        .unwrap();
    assert_eq!(
        store.read(|tx| Ok(tx.snapshot("s-9")?)).unwrap().as_ref(),
        Some(&snap)
    );
    snap.status = SnapshotStatus::Accomplished;
    snap.ready_at = None;
    snap.blob_source = None;
    snap.blob_sha256 = Some(sum.clone());
    img.status = ImageStatus::Available;
    img.ready_at = None;
    img.blob_sha256 = Some(sum.clone());
    store
        .write(|tx| {
            tx.put_snapshot(&snap)?;
            Ok(tx.put_image(&img)?)
        })
        .unwrap();
    let (read_snap, read_img) = store
        .read(|tx| Ok((tx.snapshot("s-9")?, tx.image("cn-hangzhou", "m-9")?)))
        .unwrap();
    assert_eq!(read_snap, Some(snap));
    assert_eq!(read_img.and_then(|i| i.blob_sha256), Some(sum));
    assert!(
        store
            .read(|tx| Ok(tx.due_snapshots(10)?))
            .unwrap()
            .is_empty()
    );
}

fn task(id: &str, created_at: Millis) -> Task {
    Task {
        id: id.into(),
        owner: 1,
        region_id: "cn-hangzhou".into(),
        action: TaskAction::ImportImage,
        status: TaskStatus::Waiting,
        resource_id: format!("m-{id}"),
        work: ecsim_core::model::TaskWork::Import {
            bucket: "b".into(),
            object: "o".into(),
            declared_format: None,
        },
        created_at,
        finished_at: None,
        bytes_done: 0,
        bytes_total: 0,
        cancel_requested: false,
        lease_owner: None,
        lease_until: None,
        error_code: None,
        error_message: None,
    }
}

fn tasks_are_leased_to_one_node_until_the_lease_expires(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.put_task(&task("t-1", 1))?;
            tx.put_task(&task("t-2", 2))?;
            Ok(())
        })
        .unwrap();
    let a = store
        .write(|tx| Ok(tx.claim_task("node-a", 100, 200)?))
        .unwrap()
        .unwrap();
    assert_eq!(a.id, "t-1");
    let b = store
        .write(|tx| Ok(tx.claim_task("node-b", 100, 200)?))
        .unwrap()
        .unwrap();
    assert_eq!(b.id, "t-2");
    assert!(
        store
            .write(|tx| Ok(tx.claim_task("node-c", 150, 250)?))
            .unwrap()
            .is_none()
    );
    // Node a's lease runs out: another node takes its task over.
    let c = store
        .write(|tx| Ok(tx.claim_task("node-c", 201, 300)?))
        .unwrap()
        .unwrap();
    assert!(c.id == "t-1" || c.id == "t-2");
    // A restarted node gives its leases up at once.
    store.write(|tx| Ok(tx.release_leases("node-c")?)).unwrap();
    assert_eq!(
        store
            .write(|tx| Ok(tx.claim_task("node-a", 202, 300)?))
            .unwrap()
            .map(|t| t.id),
        Some(c.id.clone())
    );
    assert!(
        store
            .read(|tx| Ok(tx.open_task("m-t-1", TaskAction::ImportImage)?))
            .unwrap()
            .is_some()
    );
    let mut done = a.clone();
    done.status = TaskStatus::Finished;
    store.write(|tx| Ok(tx.put_task(&done)?)).unwrap();
    assert!(
        store
            .read(|tx| Ok(tx.open_task("m-t-1", TaskAction::ImportImage)?))
            .unwrap()
            .is_none()
    );
}

fn tags_filter_images(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.put_image(&image("m-a", Some(1), 1))?;
            tx.put_image(&image("m-b", Some(1), 2))?;
            tx.set_tag(
                1,
                "cn-hangzhou",
                ResourceType::Image,
                "m-a",
                &Tag {
                    key: "env".into(),
                    value: "prod".into(),
                },
            )?;
            Ok(())
        })
        .unwrap();
    let mut q = query(1);
    q.tags = vec![("env".into(), Some("prod".into()))];
    let page = store.read(|tx| Ok(tx.find_images(&q)?)).unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec!["m-a"]
    );
    q.tags = vec![("env".into(), Some("dev".into()))];
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 0);
}

fn ids<T>(page: Page<T>, id: impl Fn(&T) -> &str) -> Vec<String> {
    page.items.iter().map(|i| id(i).to_string()).collect()
}

fn ids_sort_bytewise_and_names_match_literally(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            for (id, name) in [("m-a", "web_1"), ("m-B", "web%1"), ("m-0", "Web-1")] {
                let mut img = image(id, Some(1), 5);
                img.name = name.into();
                tx.put_image(&img)?;
            }
            Ok(())
        })
        .unwrap();
    let all = store.read(|tx| Ok(tx.find_images(&query(1))?)).unwrap();
    // Same creation time: ties break by id, bytewise ("0" < "B" < "a").
    assert_eq!(ids(all, |i| &i.id), vec!["m-0", "m-B", "m-a"]);
    let named = |needle: &str| {
        let mut q = query(1);
        q.name_contains = Some(needle.into());
        ids(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap(), |i| &i.id)
    };
    assert_eq!(named("_"), vec!["m-a"]);
    assert_eq!(named("%"), vec!["m-B"]);
    assert_eq!(named("web"), vec!["m-B", "m-a"], "case-sensitive");
    assert!(named("x").is_empty());
    let mut q = query(1);
    q.ids = vec![];
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 3);
    q.ids = vec!["m-a".into(), "m-0".into()];
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 2);
    assert!(
        store
            .read(|tx| Ok(tx.image_name_taken(1, "cn-hangzhou", "web_1", None)?))
            .unwrap()
    );
    assert!(
        !store
            .read(|tx| Ok(tx.image_name_taken(1, "cn-hangzhou", "web_1", Some("m-a"))?))
            .unwrap()
    );
}

fn instance(id: &str, name: &str, image_id: &str, created_at: Millis) -> Instance {
    Instance {
        id: id.into(),
        owner: 1,
        region_id: "cn-hangzhou".into(),
        zone_id: "cn-hangzhou-h".into(),
        name: name.into(),
        instance_type: "ecs.g7.large".into(),
        image_id: image_id.into(),
        status: InstanceStatus::Running,
        cpu: 2,
        memory_mib: 8192,
        created_at,
    }
}

fn disk(id: &str, instance_id: &str, kind: DiskType, created_at: Millis) -> Disk {
    Disk {
        id: id.into(),
        owner: 1,
        region_id: "cn-hangzhou".into(),
        zone_id: "cn-hangzhou-h".into(),
        instance_id: Some(instance_id.into()),
        kind,
        device: "/dev/xvda".into(),
        category: "cloud_essd".into(),
        size_gib: 20,
        image_id: None,
        created_at,
    }
}

fn instances_disks_and_snapshots_filter(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.put_image(&image("m-1", Some(1), 1))?;
            tx.put_instance(&instance("i-1", "web-01", "m-1", 1))?;
            tx.put_instance(&instance("i-2", "web_02", "m-1", 2))?;
            tx.put_instance(&instance("i-3", "db-?1", "m-2", 3))?;
            tx.put_disk(&disk("d-1", "i-1", DiskType::System, 1))?;
            tx.put_disk(&disk("d-2", "i-1", DiskType::Data, 2))?;
            tx.put_snapshot(&Snapshot {
                id: "s-1".into(),
                owner: 1,
                region_id: "cn-hangzhou".into(),
                name: String::new(),
                description: String::new(),
                source_disk_id: "d-2".into(),
                source_disk_type: DiskType::Data,
                source_disk_size_gib: 20,
                source_image_id: None,
                status: SnapshotStatus::Progressing,
                created_at: 4,
                ready_at: Some(50),
                blob_source: None,
                blob_sha256: None,
            })?;
            Ok(())
        })
        .unwrap();
    let names = |pattern: &str| {
        let q = InstanceQuery {
            owner: 1,
            region_id: "cn-hangzhou".into(),
            name_pattern: Some(pattern.into()),
            limit: 10,
            ..Default::default()
        };
        ids(store.read(|tx| Ok(tx.find_instances(&q)?)).unwrap(), |i| {
            &i.id
        })
    };
    assert_eq!(names("web-*"), vec!["i-1"]);
    assert_eq!(names("web*"), vec!["i-2", "i-1"]);
    assert_eq!(names("web_0*"), vec!["i-2"], "_ is literal");
    assert_eq!(names("db-?1"), vec!["i-3"], "? is literal");
    assert!(names("db-x1").is_empty());
    assert!(names("WEB*").is_empty(), "case-sensitive");
    let q = InstanceQuery {
        owner: 1,
        region_id: "cn-hangzhou".into(),
        ids: Some(vec![]),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.read(|tx| Ok(tx.find_instances(&q)?)).unwrap().total,
        0
    );
    assert_eq!(
        store
            .read(|tx| Ok(tx.instances_using_image("cn-hangzhou", "m-1")?))
            .unwrap(),
        2
    );
    let mut in_use = query(1);
    in_use.in_use = Some(true);
    assert_eq!(
        store.read(|tx| Ok(tx.find_images(&in_use)?)).unwrap().total,
        1
    );
    let dq = DiskQuery {
        owner: 1,
        region_id: "cn-hangzhou".into(),
        kind: Some(DiskType::Data),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(store.read(|tx| Ok(tx.find_disks(&dq)?)).unwrap(), |d| &d.id),
        vec!["d-2"]
    );
    let of_instance = store.read(|tx| Ok(tx.disks_of_instance("i-1")?)).unwrap();
    assert_eq!(of_instance.len(), 2);
    assert_eq!(of_instance[0].id, "d-1");
    // Oldest first, ties by id (bytewise), whatever order they were written in.
    store
        .write(|tx| {
            for (id, at) in [
                ("d-o3", 7),
                ("d-oB", 5),
                ("d-o1", 7),
                ("d-oA", 5),
                ("d-o0", 9),
            ] {
                tx.put_disk(&disk(id, "i-order", DiskType::Data, at))?;
            }
            Ok(())
        })
        .unwrap();
    let ordered: Vec<String> = store
        .read(|tx| Ok(tx.disks_of_instance("i-order")?))
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ordered, ["d-oA", "d-oB", "d-o1", "d-o3", "d-o0"]);
    let sq = |kind: DiskType| SnapshotQuery {
        owner: 1,
        region_id: "cn-hangzhou".into(),
        instance_id: Some("i-1".into()),
        source_disk_type: Some(kind),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store
            .read(|tx| Ok(tx.find_snapshots(&sq(DiskType::Data))?))
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        store
            .read(|tx| Ok(tx.find_snapshots(&sq(DiskType::System))?))
            .unwrap()
            .total,
        0
    );
    assert!(
        store
            .read(|tx| Ok(tx.disk_has_progressing_snapshot("d-2")?))
            .unwrap()
    );
    assert_eq!(store.read(|tx| Ok(tx.next_due()?)).unwrap(), Some(50));
    assert_eq!(store.read(|tx| Ok(tx.due_snapshots(50)?)).unwrap().len(), 1);
    store
        .write(|tx| {
            tx.delete_snapshot("s-1")?;
            tx.delete_disk("d-2")?;
            tx.delete_instance("i-3")?;
            Ok(())
        })
        .unwrap();
    assert!(store.read(|tx| Ok(tx.snapshot("s-1")?)).unwrap().is_none());
    assert!(store.read(|tx| Ok(tx.disk("d-2")?)).unwrap().is_none());
    assert!(store.read(|tx| Ok(tx.instance("i-3")?)).unwrap().is_none());
    assert_eq!(
        store
            .read(|tx| Ok(tx.instance("i-1")?))
            .unwrap()
            .unwrap()
            .name,
        "web-01"
    );
}

fn tag_patterns_match_with_star_only(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            for (id, value) in [("m-1", "prod-a"), ("m-2", "prod_b"), ("m-3", "dev")] {
                tx.set_tag(
                    1,
                    "cn-hangzhou",
                    ResourceType::Image,
                    id,
                    &Tag {
                        key: "env".into(),
                        value: value.into(),
                    },
                )?;
            }
            tx.set_tag(
                1,
                "cn-hangzhou",
                ResourceType::Image,
                "m-1",
                &Tag {
                    key: "team".into(),
                    value: "x".into(),
                },
            )?;
            tx.set_tag(
                2,
                "cn-hangzhou",
                ResourceType::Image,
                "m-9",
                &Tag {
                    key: "env".into(),
                    value: "prod".into(),
                },
            )?;
            Ok(())
        })
        .unwrap();
    let find = |patterns: Vec<TagPattern>| {
        let q = TagQuery {
            owner: 1,
            region_id: "cn-hangzhou".into(),
            resource_type: Some(ResourceType::Image),
            patterns,
            limit: 50,
            ..Default::default()
        };
        store
            .read(|tx| Ok(tx.find_tags(&q)?))
            .unwrap()
            .items
            .into_iter()
            .map(|r| format!("{}:{}={}", r.resource_id, r.tag.key, r.tag.value))
            .collect::<Vec<_>>()
    };
    let env = |values: &[&str]| TagPattern {
        key: "env".into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    assert_eq!(
        find(vec![env(&["prod*"])]),
        vec!["m-1:env=prod-a", "m-1:team=x", "m-2:env=prod_b"]
    );
    assert_eq!(find(vec![env(&["prod_*"])]), vec!["m-2:env=prod_b"]);
    assert_eq!(find(vec![env(&["dev", "nothing"])]), vec!["m-3:env=dev"]);
    assert_eq!(find(vec![env(&[])]).len(), 4);
    let q = TagQuery {
        owner: 1,
        region_id: "cn-hangzhou".into(),
        tags: vec![("team".into(), None)],
        limit: 1,
        offset: 1,
        ..Default::default()
    };
    let page = store.read(|tx| Ok(tx.find_tags(&q)?)).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].tag.key, "team");
    store
        .write(|tx| {
            tx.remove_tag(ResourceType::Image, "m-1", "team")?;
            tx.remove_all_tags(ResourceType::Image, "m-2")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store
            .read(|tx| Ok(tx.tags(ResourceType::Image, "m-1")?))
            .unwrap(),
        vec![Tag {
            key: "env".into(),
            value: "prod-a".into()
        }]
    );
    assert!(
        store
            .read(|tx| Ok(tx.tags(ResourceType::Image, "m-2")?))
            .unwrap()
            .is_empty()
    );
}

fn sharing_and_community_visibility(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.put_image(&image("m-shared", Some(1), 1))?;
            let mut public = image("m-public", Some(1), 2);
            public.is_public = true;
            tx.put_image(&public)?;
            tx.share_image("m-shared", 2, 10)?;
            tx.share_image("m-shared", 3, 11)?;
            tx.share_image("m-shared", 2, 12)?;
            Ok(())
        })
        .unwrap();
    let page = store
        .read(|tx| Ok(tx.image_shares("m-shared", 0, 10)?))
        .unwrap();
    assert_eq!(page.items, vec![(2, 10), (3, 11)]);
    assert_eq!(
        store
            .read(|tx| Ok(tx.image_shares("m-shared", 1, 10)?))
            .unwrap()
            .total,
        2
    );
    assert_eq!(store.read(|tx| Ok(tx.shared_image_count(1)?)).unwrap(), 1);
    assert_eq!(
        store
            .read(|tx| Ok(tx.shared_accounts("m-shared")?))
            .unwrap(),
        2
    );
    assert!(
        store
            .read(|tx| Ok(tx.is_shared_with("m-shared", 3)?))
            .unwrap()
    );
    let visible = |caller: AccountId, owners: OwnerSet| {
        let mut q = query(caller);
        q.owners = owners;
        ids(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap(), |i| &i.id)
    };
    let shared = OwnerSet {
        shared_with_me: true,
        ..Default::default()
    };
    let community = OwnerSet {
        community: true,
        ..Default::default()
    };
    assert_eq!(visible(2, shared), vec!["m-shared"]);
    assert!(visible(4, shared).is_empty());
    assert_eq!(visible(4, community), vec!["m-public"]);
    assert!(visible(1, community).is_empty(), "not one's own");
    store
        .write(|tx| Ok(tx.unshare_image("m-shared", 2)?))
        .unwrap();
    assert!(visible(2, shared).is_empty());
}

fn listing_totals_follow_every_change_and_extras_come_batched(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            for n in 0..3 {
                let mut sys = image(&format!("sys-{n}"), None, n);
                if n == 0 {
                    sys.status = ImageStatus::Creating;
                }
                tx.put_image(&sys)?;
            }
            for n in 0..12 {
                let mut own = image(&format!("m-{n:02}"), Some(1), 100 + n);
                if n < 2 {
                    own.status = ImageStatus::Creating;
                }
                tx.put_image(&own)?;
            }
            // Another account's image, public and shared with account 1 as well.
            let mut both = image("m-both", Some(2), 50);
            both.is_public = true;
            tx.put_image(&both)?;
            tx.share_image("m-both", 1, 1)?;
            tx.share_image("m-05", 2, 1)?;
            tx.share_image("m-05", 3, 1)?;
            tx.put_instance(&instance("i-1", "web", "m-07", 1))?;
            tx.set_tag(
                1,
                "cn-hangzhou",
                ResourceType::Image,
                "m-07",
                &Tag {
                    key: "b".into(),
                    value: "2".into(),
                },
            )?;
            tx.set_tag(
                1,
                "cn-hangzhou",
                ResourceType::Image,
                "m-07",
                &Tag {
                    key: "a".into(),
                    value: "1".into(),
                },
            )?;
            Ok(())
        })
        .unwrap();
    let page = |q: &ImageQuery| store.read(|tx| Ok(tx.find_images(q)?)).unwrap();
    let mut q = query(1);
    q.statuses = vec![ImageStatus::Available];
    q.limit = 5;
    // 2 system + 10 own + 1 shared, newest first.
    let first = page(&q);
    assert_eq!(first.total, 13);
    assert_eq!(
        ids(first, |i| &i.id),
        ["m-11", "m-10", "m-09", "m-08", "m-07"]
    );
    q.offset = 10;
    let last = page(&q);
    assert_eq!(
        (last.total, ids(last, |i| &i.id)),
        (
            13,
            vec!["m-both".to_string(), "sys-2".into(), "sys-1".into()]
        )
    );
    q.statuses.clear();
    assert_eq!(page(&q).total, 16, "every status");
    q.statuses = vec![ImageStatus::Available];

    store
        .write(|tx| {
            let mut gone = tx.image("cn-hangzhou", "m-11")?.unwrap();
            gone.deleted_at = Some(500);
            tx.put_image(&gone)?;
            let mut ready = tx.image("cn-hangzhou", "m-00")?.unwrap();
            ready.status = ImageStatus::Available;
            tx.put_image(&ready)?;
            let mut ready = tx.image("cn-hangzhou", "sys-0")?.unwrap();
            ready.status = ImageStatus::Available;
            Ok(tx.put_image(&ready)?)
        })
        .unwrap();
    q.offset = 0;
    assert_eq!(page(&q).total, 14, "one deleted, two became Available");
    let mut self_only = q.clone();
    self_only.owners = OwnerSet {
        own: true,
        ..Default::default()
    };
    assert_eq!(page(&self_only).total, 10);
    self_only.name_contains = Some("m-0".into());
    assert_eq!(
        page(&self_only).total,
        9,
        "a filter the counters cannot answer"
    );
    // Shared with the caller and public: listed once.
    let mut others = query(1);
    others.owners = OwnerSet {
        shared_with_me: true,
        community: true,
        ..Default::default()
    };
    others.limit = 1;
    let listed = page(&others);
    assert_eq!(
        (listed.total, ids(listed, |i| &i.id)),
        (1, vec!["m-both".to_string()])
    );
    // The same by id (lookups check shares per row), and a share of another account's image
    // that is not public is found by id too.
    others.limit = 10;
    others.ids = vec!["m-both".into(), "m-05".into(), "sys-1".into()];
    let listed = page(&others);
    assert_eq!(
        (listed.total, ids(listed, |i| &i.id)),
        (1, vec!["m-both".to_string()])
    );
    let mut as_two = query(2);
    as_two.owners = OwnerSet {
        shared_with_me: true,
        ..Default::default()
    };
    as_two.ids = vec!["m-05".into(), "m-04".into()];
    assert_eq!(ids(page(&as_two), |i| &i.id), vec!["m-05".to_string()]);
    as_two.owners.community = true;
    as_two.owners.shared_with_me = false;
    assert!(page(&as_two).items.is_empty(), "m-05 is not public");
    // Reopening keeps the counts.
    drop(store);
    let store = db.open();
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 14);

    let wanted: Vec<String> = ["m-07", "m-05", "m-01", "nope"].map(String::from).to_vec();
    let extras = store
        .read(|tx| Ok(tx.image_listing_extras("cn-hangzhou", &wanted, true)?))
        .unwrap();
    assert_eq!(extras.len(), 4);
    assert_eq!(
        extras[0],
        ImageExtras {
            tags: vec![
                Tag {
                    key: "a".into(),
                    value: "1".into()
                },
                Tag {
                    key: "b".into(),
                    value: "2".into()
                }
            ],
            in_use: true,
            shared_accounts: 0,
        }
    );
    assert_eq!(
        extras[1],
        ImageExtras {
            shared_accounts: 2,
            ..Default::default()
        }
    );
    assert_eq!(extras[2], ImageExtras::default());
    assert_eq!(extras[3], ImageExtras::default());
    // One id alone (every lookup by id; SQLite answers it with its own statements) gets what
    // the page answered for it.
    for (id, expected) in wanted.iter().zip(&extras) {
        let alone = store
            .read(|tx| {
                Ok(tx.image_listing_extras("cn-hangzhou", std::slice::from_ref(id), true)?)
            })
            .unwrap();
        assert_eq!(alone, vec![expected.clone()], "{id} alone");
    }
    // Without share counts (a page of none of the caller's images) the rest is the same.
    let uncounted = store
        .read(|tx| Ok(tx.image_listing_extras("cn-hangzhou", &wanted, false)?))
        .unwrap();
    assert_eq!(uncounted[1].shared_accounts, 0);
    assert_eq!(uncounted[0], extras[0]);
    for (id, expected) in wanted.iter().zip(&uncounted) {
        let alone = store
            .read(|tx| {
                Ok(tx.image_listing_extras("cn-hangzhou", std::slice::from_ref(id), false)?)
            })
            .unwrap();
        assert_eq!(alone, vec![expected.clone()], "{id} alone, uncounted");
    }
    // An id given twice is looked up once: its tags are not doubled.
    let twice: Vec<String> = ["m-07", "m-07"].map(String::from).to_vec();
    let extras = store
        .read(|tx| Ok(tx.image_listing_extras("cn-hangzhou", &twice, true)?))
        .unwrap();
    assert_eq!(extras[1].tags.len(), 2);
    assert!(extras[1].in_use);
}

fn metadata_accounts_keys_and_regions_round_trip(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            assert_eq!(tx.meta("k")?, None);
            tx.set_meta("k", "1")?;
            tx.set_meta("k", "2")?;
            tx.insert_account(7, 100)?;
            tx.insert_access_key(&AccessKey {
                id: "LTAIx".into(),
                secret: ecsim_core::model::Secret::new("sec"),
                account_id: 7,
                status: ecsim_core::model::KeyStatus::Active,
                created_at: 100,
            })?;
            for (i, id) in ["cn-b", "cn-a"].iter().enumerate() {
                tx.insert_region(
                    i,
                    &Region {
                        id: id.to_string(),
                        local_name_en: "en".into(),
                        local_name_zh: "中文".into(),
                        endpoint: format!("ecs.{id}.aliyuncs.com"),
                        zones: vec![format!("{id}-a"), format!("{id}-b")],
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    store
        .read(|tx| {
            assert_eq!(tx.meta("k")?.as_deref(), Some("2"));
            assert!(tx.account_exists(7)?);
            assert!(!tx.account_exists(8)?);
            let key = tx.access_key("LTAIx")?.unwrap();
            assert_eq!(key.secret.expose(), "sec");
            assert_eq!(key.account_id, 7);
            assert!(tx.access_key("nope")?.is_none());
            let regions = tx.regions()?;
            assert_eq!(regions.len(), 2);
            assert_eq!(regions[0].id, "cn-b");
            assert_eq!(regions[1].zones, vec!["cn-a-a", "cn-a-b"]);
            assert_eq!(regions[1].local_name_zh, "中文");
            Ok(())
        })
        .unwrap();
}

/// Each (key, nonce) once, at its first sighting, ordered by time: SQLite's log may hold a
/// repeated nonce twice, PostgreSQL one row; refusing replays needs the first sighting.
fn first_sightings(records: Vec<NonceRecord>) -> Vec<NonceRecord> {
    let mut first = std::collections::BTreeMap::new();
    for r in records {
        let at = first.entry((r.access_key_id, r.nonce)).or_insert(r.seen_at);
        *at = (*at).min(r.seen_at);
    }
    let mut out: Vec<NonceRecord> = first
        .into_iter()
        .map(|((access_key_id, nonce), seen_at)| NonceRecord {
            access_key_id,
            nonce,
            seen_at,
        })
        .collect();
    out.sort_by(|a, b| (a.seen_at, &a.nonce).cmp(&(b.seen_at, &b.nonce)));
    out
}

fn client_tokens_and_nonces(db: &TestDb) {
    let store = db.open();
    let record = IdempotentRecord {
        fingerprint: "f".into(),
        response: "{\"a\":1}".into(),
    };
    store
        .write(|tx| Ok(tx.put_idempotent_record(1, "RunInstances", "tok", &record, 5)?))
        .unwrap();
    assert_eq!(
        store
            .read(|tx| Ok(tx.idempotent_record(1, "RunInstances", "tok")?))
            .unwrap(),
        Some(record.clone())
    );
    assert!(
        store
            .read(|tx| Ok(tx.idempotent_record(2, "RunInstances", "tok")?))
            .unwrap()
            .is_none()
    );
    let nonce = |n: &str, at: Millis| NonceRecord {
        access_key_id: "ak".into(),
        nonce: n.into(),
        seen_at: at,
    };
    store.record_nonce(nonce("n1", 10));
    assert!(store.has_pending_nonces());
    store.flush_nonces(0).unwrap();
    assert!(!store.has_pending_nonces());
    store
        .write(|tx| Ok(tx.insert_nonces(&[nonce("n1", 11), nonce("n2", 20)])?))
        .unwrap();
    let seen = first_sightings(store.nonces_since(0).unwrap());
    assert_eq!(
        seen,
        vec![nonce("n1", 10), nonce("n2", 20)],
        "the first sighting stays"
    );
    assert!(store.nonce_recorded("ak", "n2", 20).unwrap());
    assert!(
        !store.nonce_recorded("ak", "n2", 21).unwrap(),
        "older than asked"
    );
    assert!(!store.nonce_recorded("other", "n2", 0).unwrap());
    assert!(!store.nonce_recorded("ak", "n9", 0).unwrap());
    store.flush_nonces(15).unwrap();
    assert_eq!(store.nonces_since(0).unwrap(), vec![nonce("n2", 20)]);
    // A large flush (SQLite writes it in multi-row statements, then one by one): every nonce
    // lands once, a repeated one (within a statement, across statements, already stored) keeps
    // its first sighting.
    let mut many: Vec<NonceRecord> = (0..150).map(|i| nonce(&format!("m{i}"), 100 + i)).collect();
    many.push(nonce("m3", 999));
    many.insert(10, nonce("m5", 998));
    many.insert(130, nonce("m120", 997));
    many.push(nonce("n2", 996));
    store.write(|tx| Ok(tx.insert_nonces(&many)?)).unwrap();
    let seen = first_sightings(store.nonces_since(0).unwrap());
    let mut expected: Vec<NonceRecord> =
        (0..150).map(|i| nonce(&format!("m{i}"), 100 + i)).collect();
    expected.insert(0, nonce("n2", 20));
    assert_eq!(seen, expected);
    for n in [1, 64, 65, 129] {
        store.flush_nonces(Millis::MAX).unwrap();
        let batch: Vec<NonceRecord> = (0..n).map(|i| nonce(&format!("b{i}"), 5000)).collect();
        store.write(|tx| Ok(tx.insert_nonces(&batch)?)).unwrap();
        assert_eq!(
            store.nonces_since(0).unwrap().len(),
            n as usize,
            "{n} nonces"
        );
    }
    // Pruning forgets what is older than asked and nothing newer, whatever order the rows came
    // in (SQLite may keep an old row that arrived after a newer one a little longer).
    store.flush_nonces(Millis::MAX).unwrap();
    let batch = [
        nonce("a", 10),
        nonce("b", 30),
        nonce("c", 20),
        nonce("d", 40),
    ];
    store.write(|tx| Ok(tx.insert_nonces(&batch)?)).unwrap();
    store.flush_nonces(25).unwrap();
    let left: Vec<String> = store
        .nonces_since(0)
        .unwrap()
        .into_iter()
        .map(|n| n.nonce)
        .collect();
    assert!(!left.contains(&"a".to_string()), "{left:?}");
    assert!(
        left.contains(&"b".to_string()) && left.contains(&"d".to_string()),
        "{left:?}"
    );
    assert!(!store.nonce_recorded("ak", "a", 0).unwrap());
    assert!(store.nonce_recorded("ak", "d", 40).unwrap());
    // A shared database refuses a nonce some node already claimed; the embedded one leaves
    // that to the node's own cache.
    assert!(store.claim_nonce(&nonce("n3", 30)).unwrap());
    assert_eq!(
        store.claim_nonce(&nonce("n3", 31)).unwrap(),
        !store.is_shared()
    );
}

fn copy_tasks_are_found_by_source(db: &TestDb) {
    let store = db.open();
    let mut copy = task("t-copy", 1);
    copy.action = TaskAction::CopyImage;
    copy.work = ecsim_core::model::TaskWork::Copy {
        source_region: "cn-beijing".into(),
        source_image_id: "m-src".into(),
    };
    store.write(|tx| Ok(tx.put_task(&copy)?)).unwrap();
    assert!(store.read(|tx| Ok(tx.open_copy_of("m-src")?)).unwrap());
    assert!(!store.read(|tx| Ok(tx.open_copy_of("m-other")?)).unwrap());
    let q = TaskQuery {
        owner: 1,
        region_id: "cn-hangzhou".into(),
        action: Some(TaskAction::CopyImage),
        status: Some(TaskStatus::Waiting),
        created_from: Some(1),
        created_to: Some(1),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.read(|tx| Ok(tx.find_tasks(&q)?)).unwrap().total, 1);
    copy.status = TaskStatus::Finished;
    store.write(|tx| Ok(tx.put_task(&copy)?)).unwrap();
    assert!(!store.read(|tx| Ok(tx.open_copy_of("m-src")?)).unwrap());
    assert_eq!(
        store
            .read(|tx| Ok(tx.task("t-copy")?))
            .unwrap()
            .unwrap()
            .status,
        TaskStatus::Finished
    );
}

/// A write transaction reads an image exactly as the database holds it: what an earlier write
/// (or this one) put, never what a rolled-back one did (SQLite's writer remembers the documents
/// it wrote; a remembered parse must never outlive its text).
fn writes_read_the_image_as_committed_not_as_rolled_back(db: &TestDb) {
    let store = db.open();
    let read_in_write = || {
        store
            .write(|tx| Ok(tx.image("cn-hangzhou", "m-w")?))
            .unwrap()
            .unwrap()
    };
    let mut img = image("m-w", Some(1), 1);
    store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
    assert_eq!(read_in_write(), img);
    img.name = "second".into();
    let read_back = store
        .write(|tx| {
            tx.put_image(&img)?;
            Ok(tx.image("cn-hangzhou", "m-w")?)
        })
        .unwrap();
    assert_eq!(read_back, Some(img.clone()));
    let committed = img.clone();
    img.name = "rolled back".into();
    let refused: Result<(), ApiError> = store.write(|tx| {
        tx.put_image(&img)?;
        assert_eq!(tx.image("cn-hangzhou", "m-w")?.as_ref(), Some(&img));
        Err(ApiError::new(Code::InternalError))
    });
    assert!(refused.is_err());
    assert_eq!(read_in_write(), committed);
    assert_eq!(
        store
            .read(|tx| Ok(tx.image("cn-hangzhou", "m-w")?))
            .unwrap(),
        Some(committed)
    );
}

/// `Tx::deletion_facts` (one statement on SQLite) says what `open_task`, `shared_accounts` and
/// `instances_using_image` say, in every state they can be in.
fn deletion_facts_answer_what_the_single_questions_do(db: &TestDb) {
    let store = db.open();
    let facts = |id: &str| {
        store
            .read(|tx| {
                let single = ecsim_core::rules::DeletionFacts {
                    copying: tx.open_task(id, TaskAction::CopyImage)?.is_some(),
                    importing: tx.open_task(id, TaskAction::ImportImage)?.is_some(),
                    exporting: tx.open_task(id, TaskAction::ExportImage)?.is_some(),
                    shared_accounts: tx.shared_accounts(id)?,
                    instances_using: tx.instances_using_image("cn-hangzhou", id)?,
                };
                let together = tx.deletion_facts("cn-hangzhou", id)?;
                assert_eq!(together, single, "{id}");
                Ok(together)
            })
            .unwrap()
    };
    store
        .write(|tx| {
            tx.put_image(&image("m-d", Some(1), 1))?;
            tx.put_image(&image("m-other", Some(1), 2))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(facts("m-d"), ecsim_core::rules::DeletionFacts::default());
    // Tasks on it: open ones count, a finished one and another image's do not.
    let mut n = 0;
    for (action, status) in [
        (TaskAction::CopyImage, TaskStatus::Waiting),
        (TaskAction::ImportImage, TaskStatus::Processing),
        (TaskAction::ExportImage, TaskStatus::Finished),
    ] {
        n += 1;
        let mut t = task(&format!("t-{n}"), n);
        t.action = action;
        t.status = status;
        t.resource_id = "m-d".into();
        store.write(|tx| Ok(tx.put_task(&t)?)).unwrap();
    }
    let mut other = task("t-other", 9);
    other.action = TaskAction::ExportImage;
    other.resource_id = "m-other".into();
    store.write(|tx| Ok(tx.put_task(&other)?)).unwrap();
    let got = facts("m-d");
    assert!(got.copying && got.importing && !got.exporting, "{got:?}");
    // Shares and instances: those of this image in this region only.
    store
        .write(|tx| {
            tx.share_image("m-d", 2, 1)?;
            tx.share_image("m-d", 3, 1)?;
            tx.share_image("m-other", 4, 1)?;
            tx.put_instance(&instance("i-1", "a", "m-d", 1))?;
            tx.put_instance(&instance("i-2", "b", "m-d", 2))?;
            tx.put_instance(&instance("i-3", "c", "m-other", 3))?;
            let mut elsewhere = instance("i-4", "d", "m-d", 4);
            elsewhere.region_id = "cn-beijing".into();
            tx.put_instance(&elsewhere)?;
            Ok(())
        })
        .unwrap();
    let got = facts("m-d");
    assert_eq!(
        (got.shared_accounts, got.instances_using),
        (2, 2),
        "{got:?}"
    );
    // Inside a write transaction too.
    let in_write = store
        .write(|tx| Ok(tx.deletion_facts("cn-hangzhou", "m-d")?))
        .unwrap();
    assert_eq!(in_write, got);
    facts("m-other");
    facts("m-unknown");
}

fn ram_user(id: &str, name: &str) -> RamUser {
    RamUser {
        id: id.into(),
        account_id: 1,
        name: name.into(),
        display_name: String::new(),
        mobile_phone: String::new(),
        email: String::new(),
        comments: String::new(),
        created_at: 0,
        updated_at: 0,
    }
}

fn identity_names_are_case_insensitive_and_a_failed_insert_does_not_spoil_the_transaction(
    db: &TestDb,
) {
    let store = db.open();
    store
        .write(|tx| {
            tx.insert_ram_user(&ram_user("1", "Bob"))?;
            tx.insert_ram_user(&ram_user("2", "alice"))?;
            assert!(tx.insert_ram_user(&ram_user("3", "ALICE")).is_err());
            // The transaction goes on after the refused insert, and commits.
            tx.insert_ram_user(&ram_user("4", "carol"))?;
            Ok(())
        })
        .unwrap();
    store
        .read(|tx| {
            assert_eq!(tx.ram_user(1, "BOB")?.unwrap().name, "Bob");
            assert_eq!(tx.count_ram_users(1)?, 3);
            let names: Vec<String> = tx
                .ram_users(1, 0, 10)?
                .into_iter()
                .map(|u| u.name)
                .collect();
            assert_eq!(
                names,
                vec!["alice", "Bob", "carol"],
                "ordered case-insensitively"
            );
            assert_eq!(tx.ram_users(1, 1, 1)?[0].name, "Bob");
            Ok(())
        })
        .unwrap();
}

fn identity_policies_versions_and_generation(db: &TestDb) {
    let store = db.open();
    store
        .write(|tx| {
            tx.insert_ram_user(&ram_user("u1", "alice"))?;
            tx.insert_ram_group(&RamGroup {
                id: "g1".into(),
                account_id: 1,
                name: "Ops".into(),
                comments: String::new(),
                created_at: 0,
                updated_at: 0,
            })?;
            let g0 = tx.policy_generation()?;
            tx.add_group_member("g1", "u1", 5)?;
            assert_ne!(tx.policy_generation()?, g0);
            tx.insert_custom_policy(
                &CustomPolicy {
                    account_id: 1,
                    name: "Mine".into(),
                    description: String::new(),
                    default_version: "v2".into(),
                    next_version: 11,
                    created_at: 0,
                    updated_at: 0,
                },
                &PolicyVersion {
                    version_id: "v1".into(),
                    document: "old".into(),
                    created_at: 0,
                },
            )?;
            for (v, doc) in [("v2", "new"), ("v10", "ten")] {
                tx.insert_policy_version(
                    1,
                    "MINE",
                    &PolicyVersion {
                        version_id: v.into(),
                        document: doc.into(),
                        created_at: 0,
                    },
                )?;
            }
            for (kind, id, origin, name) in [
                (PrincipalKind::User, "u1", PolicyOrigin::Custom, "mine"),
                (PrincipalKind::Group, "g1", PolicyOrigin::Custom, "Mine"),
                (
                    PrincipalKind::Group,
                    "g1",
                    PolicyOrigin::System,
                    "ReadOnlyAccess",
                ),
                (
                    PrincipalKind::Group,
                    "g1",
                    PolicyOrigin::System,
                    "readonlyaccess",
                ),
            ] {
                tx.attach_policy(
                    1,
                    &Attachment {
                        principal_kind: kind,
                        principal_id: id.into(),
                        origin,
                        policy_name: name.into(),
                        attached_at: 1,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    store
        .read(|tx| {
            let versions: Vec<String> = tx
                .policy_versions(1, "mine")?
                .into_iter()
                .map(|v| v.version_id)
                .collect();
            assert_eq!(versions, vec!["v1", "v2", "v10"]);
            assert_eq!(tx.policy_version(1, "MiNe", "v2")?.unwrap().document, "new");
            let applied = tx.policies_for_user("u1")?;
            assert_eq!(applied.len(), 2, "{applied:?}");
            assert_eq!(applied[0].document.as_deref(), Some("new"));
            assert_eq!(tx.attachments_of(PrincipalKind::Group, "g1")?.len(), 2);
            assert_eq!(
                tx.attachments_of_policy(1, PolicyOrigin::Custom, "MINE")?
                    .len(),
                2
            );
            assert_eq!(tx.groups_of_user("u1")?[0].0.name, "Ops");
            assert_eq!(tx.members_of_group("g1", 0, 10)?[0].1, 5);
            Ok(())
        })
        .unwrap();
    store
        .write(|tx| {
            assert!(tx.detach_policy(PrincipalKind::User, "u1", PolicyOrigin::Custom, "MINE")?);
            tx.delete_custom_policy(1, "mine")?;
            assert!(tx.custom_policy(1, "Mine")?.is_none());
            assert!(tx.policy_versions(1, "Mine")?.is_empty());
            Ok(())
        })
        .unwrap();
}

/// What only a database shared by several nodes shows.
mod postgres_only {
    use super::*;
    use std::sync::Arc;

    fn schema() -> Option<postgres::ScratchSchema> {
        match super::postgres_db()? {
            TestDb::Postgres(schema) => Some(schema),
            TestDb::Sqlite(_) => None,
        }
    }

    #[test]
    fn nodes_starting_together_all_migrate() {
        let Some(schema) = schema() else { return };
        let url = Arc::new(schema.url.clone());
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let url = Arc::clone(&url);
                std::thread::spawn(move || Store::open(&url).map(|_| ()))
            })
            .collect();
        for n in nodes {
            n.join().unwrap().unwrap();
        }
    }

    #[test]
    fn writes_from_two_nodes_are_serialized() {
        let Some(schema) = schema() else { return };
        let nodes = [
            Arc::new(Store::open(&schema.url).unwrap()),
            Arc::new(Store::open(&schema.url).unwrap()),
        ];
        let workers: Vec<_> = (0..8)
            .map(|n| {
                let store = Arc::clone(&nodes[n % 2]);
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        // Check, then write: lost updates would show as a short count.
                        store
                            .write(|tx| {
                                let n: u64 = tx
                                    .meta("counter")?
                                    .and_then(|v| v.parse().ok())
                                    .unwrap_or(0);
                                tx.set_meta("counter", &(n + 1).to_string())?;
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let total = nodes[1].read(|tx| Ok(tx.meta("counter")?)).unwrap();
        assert_eq!(total.as_deref(), Some("200"));
    }

    #[test]
    fn a_nonce_claimed_through_one_node_is_refused_by_another() {
        let Some(schema) = schema() else { return };
        let a = Store::open(&schema.url).unwrap();
        let b = Store::open(&schema.url).unwrap();
        assert!(a.is_shared());
        let record = NonceRecord {
            access_key_id: "ak".into(),
            nonce: "once".into(),
            seen_at: 1,
        };
        assert!(a.claim_nonce(&record).unwrap());
        assert!(!b.claim_nonce(&record).unwrap());
        assert_eq!(b.nonces_since(0).unwrap(), vec![record]);
    }

    #[test]
    fn a_change_through_one_node_is_read_through_another() {
        let Some(schema) = schema() else { return };
        let a = Store::open(&schema.url).unwrap();
        let b = Store::open(&schema.url).unwrap();
        // b's pooled connection exists before the write.
        assert!(
            b.read(|tx| Ok(tx.image("cn-hangzhou", "m-1")?))
                .unwrap()
                .is_none()
        );
        a.write(|tx| Ok(tx.put_image(&image("m-1", Some(1), 1))?))
            .unwrap();
        assert!(
            b.read(|tx| Ok(tx.image("cn-hangzhou", "m-1")?))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn usable_on_a_thread_that_runs_a_tokio_runtime() {
        let Some(schema) = schema() else { return };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Store::open(&schema.url).unwrap();
            store.write(|tx| Ok(tx.set_meta("k", "v")?)).unwrap();
            assert_eq!(
                store.read(|tx| Ok(tx.meta("k")?)).unwrap().as_deref(),
                Some("v")
            );
            // Dropped inside the runtime too.
        });
    }

    #[test]
    fn an_unreachable_database_is_unavailable() {
        if super::postgres_db().is_none() {
            return;
        }
        match Store::open("postgres://postgres@127.0.0.1:1/test?connect_timeout=2") {
            Err(StoreError::Unavailable(_)) => {}
            Err(other) => panic!("expected Unavailable, got {other}"),
            Ok(_) => panic!("nothing listens on port 1"),
        }
    }

    #[test]
    fn a_node_recovers_when_its_connections_are_cut() {
        let Some(schema) = schema() else { return };
        let app = format!("ecsim_cut_{}", schema.name);
        let store = Store::open(&format!("{}&application_name={app}", schema.url)).unwrap();
        store.write(|tx| Ok(tx.set_meta("k", "v")?)).unwrap();
        postgres::execute_batch(
            &postgres_base_url(),
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
            ),
        )
        .unwrap();
        let mut failures = 0;
        let value = loop {
            match store.read(|tx| Ok(tx.meta("k")?)) {
                Ok(v) => break v,
                Err(err) => {
                    assert_eq!(err.code(), ecsim_wire::Code::ServiceUnavailable);
                    failures += 1;
                    assert!(failures < 50, "never recovered");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        };
        assert_eq!(value.as_deref(), Some("v"));
    }
}

#[test]
fn sqlite_counts_the_images_of_a_data_dir_made_before_the_counters() {
    let db = sqlite_db().unwrap();
    let store = db.open();
    store
        .write(|tx| {
            for n in 0..7 {
                tx.put_image(&image(&format!("m-{n}"), Some(1), n))?;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    // As an older ecsim left it: no counters, no triggers.
    let TestDb::Sqlite(dir) = &db else {
        unreachable!()
    };
    rusqlite::Connection::open(dir.0.join("ecsim.db"))
        .unwrap()
        .execute_batch(
            "DROP TRIGGER image_counts_on_insert; DROP TRIGGER image_counts_on_delete;
             DROP TRIGGER image_counts_on_update; DROP TABLE image_counts;
             DELETE FROM meta WHERE key = 'image_counts';",
        )
        .unwrap();
    let store = db.open();
    let mut q = query(1);
    q.limit = 2;
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 7);
    store
        .write(|tx| Ok(tx.put_image(&image("m-new", Some(1), 9))?))
        .unwrap();
    assert_eq!(store.read(|tx| Ok(tx.find_images(&q)?)).unwrap().total, 8);
}

#[test]
fn sqlite_moves_the_nonces_of_a_data_dir_made_before_the_log() {
    let db = sqlite_db().unwrap();
    drop(db.open());
    // As an older ecsim left it: a keyed `nonces` table with a time index.
    let TestDb::Sqlite(dir) = &db else {
        unreachable!()
    };
    rusqlite::Connection::open(dir.0.join("ecsim.db"))
        .unwrap()
        .execute_batch(
            "DROP TABLE nonce_log;
             CREATE TABLE nonces (access_key_id TEXT NOT NULL, nonce TEXT NOT NULL,
                 seen_at INTEGER NOT NULL, PRIMARY KEY (access_key_id, nonce));
             CREATE INDEX nonces_by_time ON nonces(seen_at);
             INSERT INTO nonces VALUES ('ak', 'later', 20), ('ak', 'earlier', 10);",
        )
        .unwrap();
    let nonce = |n: &str, at: Millis| NonceRecord {
        access_key_id: "ak".into(),
        nonce: n.into(),
        seen_at: at,
    };
    let store = db.open();
    assert_eq!(
        store.nonces_since(0).unwrap(),
        vec![nonce("earlier", 10), nonce("later", 20)]
    );
    assert!(store.nonce_recorded("ak", "later", 15).unwrap());
    // Moved in time order, so pruning by the front forgets exactly the old one.
    store.flush_nonces(15).unwrap();
    assert_eq!(store.nonces_since(0).unwrap(), vec![nonce("later", 20)]);
    drop(store);
    let store = db.open();
    assert_eq!(store.nonces_since(0).unwrap(), vec![nonce("later", 20)]);
    drop(store);
    let old_table_left: bool = rusqlite::Connection::open(dir.0.join("ecsim.db"))
        .unwrap()
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'nonces')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!old_table_left);
}

/// A listing or lookup shows each image exactly as last written, however often the same image
/// was read before (SQLite's readers remember parsed documents; the remembered parse must never
/// outlive the text it came from), and exactly what reading the single image gives.
fn listed_images_follow_every_write_of_their_document(db: &TestDb) {
    let store = db.open();
    let mut img = image("m-1", Some(1), 10);
    store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
    store
        .write(|tx| Ok(tx.put_image(&image("m-2", Some(1), 20))?))
        .unwrap();
    let mut by_id = query(1);
    by_id.ids = vec!["m-1".into()];
    let listed = |q: &ImageQuery| store.read(|tx| Ok(tx.find_images(q)?.items)).unwrap();
    let alone = |id: &str| {
        store
            .read(|tx| Ok(tx.image("cn-hangzhou", id)?))
            .unwrap()
            .unwrap()
    };
    for round in 0..4 {
        // Read it several times over, by id and in the page (warming whatever is remembered).
        for _ in 0..3 {
            assert_eq!(listed(&by_id), vec![img.clone()], "round {round}");
            let page = listed(&query(1));
            assert_eq!(page.len(), 2, "round {round}");
            assert_eq!(page[1], img, "round {round}");
            assert_eq!(page[0], alone("m-2"), "round {round}");
        }
        // Every kind of change to the document shows on the next read.
        match round {
            0 => img.name = "renamed".into(),
            1 => img.description = "Описание \"quoted\"\n".into(),
            2 => img.disk_mappings[0].size_gib = 40,
            _ => img.status = ImageStatus::Deprecated,
        }
        store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
        assert_eq!(alone("m-1"), img, "round {round}");
    }
    let mut any_status = by_id.clone();
    any_status.statuses = vec![ImageStatus::Deprecated];
    assert_eq!(listed(&any_status), vec![img.clone()]);
    // Deleted: gone from the listing, however often it was read before.
    img.deleted_at = Some(99);
    store.write(|tx| Ok(tx.put_image(&img)?)).unwrap();
    assert!(listed(&any_status).is_empty());
}
