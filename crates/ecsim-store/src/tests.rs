//! Storage behaviour every backend must show.

use super::*;
use ecsim_core::model::{BootMode, DiskMapping};

fn temp_store() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("ecsim-store-test-{}", uuid_like()));
    let store = Store::open(dir.join("ecsim.db").to_str().unwrap()).unwrap();
    (store, dir)
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos}-{}", std::process::id())
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

#[test]
fn committed_writes_survive_reopen_and_rolled_back_ones_do_not() {
    let (store, dir) = temp_store();
    store
        .write(|tx| Ok(tx.put_image(&image("m-1", Some(1), 10))?))
        .unwrap();
    let failed: Result<(), ApiError> = store.write(|tx| {
        tx.put_image(&image("m-2", Some(1), 20))?;
        Err(ApiError::new(Code::ImageUsingByInstance))
    });
    assert!(failed.is_err());
    drop(store);
    let store = Store::open(dir.join("ecsim.db").to_str().unwrap()).unwrap();
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

#[test]
fn image_listing_filters_by_owner_and_hides_tombstones() {
    let (store, _dir) = temp_store();
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

#[test]
fn paging_reports_the_total() {
    let (store, _dir) = temp_store();
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

#[test]
fn snapshot_links_are_released_when_the_image_is_deleted() {
    let (store, _dir) = temp_store();
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

#[test]
fn timed_creations_are_due_at_their_time() {
    let (store, _dir) = temp_store();
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

#[test]
fn tasks_are_leased_to_one_node_until_the_lease_expires() {
    let (store, _dir) = temp_store();
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

#[test]
fn tags_filter_images() {
    let (store, _dir) = temp_store();
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
