//! What a fresh data directory gets on first start: the region catalog, the public system
//! images of every region, and the bootstrap account with its root AccessKey. Also how further
//! accounts are made (`ecsim admin create-account`).

use ecsim_core::Millis;
use ecsim_core::catalog::{REGIONS, SYSTEM_IMAGES};
use ecsim_core::clock::parse_time;
use ecsim_core::ids::{new_access_key, new_account_id};
use ecsim_core::model::{
    AccessKey, AccountId, DiskMapping, DiskType, Image, ImageStatus, KeyStatus, Region, Secret,
};
use ecsim_store::{Store, Tx};
use ecsim_wire::ApiError;

/// Bumped when the seeded catalog changes, so existing data dirs get the new entries.
const CATALOG_VERSION: &str = "1";

/// A new account and its root key, as `ecsim admin create-account` prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountCredentials {
    pub account_id: AccountId,
    pub access_key_id: String,
    pub access_key_secret: Secret,
}

impl std::fmt::Debug for AccountCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCredentials")
            .field("account_id", &self.account_id)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl AccountCredentials {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "AccountId": self.account_id.to_string(),
            "AccessKeyId": self.access_key_id,
            "AccessKeySecret": self.access_key_secret.expose(),
        })
    }
}

fn seed_catalog(tx: &mut dyn Tx) -> Result<(), ApiError> {
    for (position, seed) in REGIONS.iter().enumerate() {
        let region = Region {
            id: seed.id.to_string(),
            local_name_en: seed.local_name_en.to_string(),
            local_name_zh: seed.local_name_zh.to_string(),
            endpoint: seed.endpoint(),
            zones: seed.zone_ids().collect(),
        };
        tx.insert_region(position, &region)?;
        for sys in SYSTEM_IMAGES {
            // System image ids are the same in every region, as on ECS.
            if tx.image(seed.id, sys.id)?.is_some() {
                continue;
            }
            tx.put_image(&Image {
                id: sys.id.to_string(),
                region_id: seed.id.to_string(),
                owner: None,
                name: sys.name.to_string(),
                description: String::new(),
                family: sys.family.to_string(),
                version: String::new(),
                status: ImageStatus::Available,
                os_type: sys.os_type,
                os_name: sys.os_name.to_string(),
                os_name_en: sys.os_name_en.to_string(),
                platform: sys.platform.to_string(),
                architecture: sys.architecture,
                boot_mode: sys.boot_mode,
                size_gib: sys.size_gib,
                license_type: String::new(),
                imds_support: "v2".to_string(),
                nvme_support: "supported".to_string(),
                is_copied: false,
                is_public: false,
                encrypted: false,
                created_at: parse_time(sys.released).unwrap_or(0),
                ready_at: None,
                deleted_at: None,
                source_instance_id: None,
                blob_sha256: None,
                blob_source: None,
                disk_mappings: vec![DiskMapping {
                    device: "/dev/xvda".to_string(),
                    kind: DiskType::System,
                    size_gib: sys.size_gib,
                    snapshot_id: None,
                    format: String::new(),
                    import_oss_bucket: String::new(),
                    import_oss_object: String::new(),
                    blob_sha256: None,
                }],
            })?;
        }
    }
    Ok(())
}

fn insert_account(
    tx: &mut dyn Tx,
    key: Option<(String, String)>,
    now: Millis,
) -> Result<AccountCredentials, ApiError> {
    let mut account_id = new_account_id();
    while tx.account_exists(account_id)? {
        account_id = new_account_id();
    }
    tx.insert_account(account_id, now)?;
    let (id, secret) = key.unwrap_or_else(new_access_key);
    tx.insert_access_key(&AccessKey {
        id: id.clone(),
        secret: Secret::new(secret.clone()),
        account_id,
        status: KeyStatus::Active,
        created_at: now,
    })?;
    Ok(AccountCredentials {
        account_id,
        access_key_id: id,
        access_key_secret: Secret::new(secret),
    })
}

/// Seeds a fresh store; returns the bootstrap account when this call created it.
pub fn bootstrap(
    store: &Store,
    root_key: Option<(String, String)>,
    now: Millis,
) -> Result<Option<AccountCredentials>, ApiError> {
    store.write(|tx| {
        if tx.meta("catalog_version")?.as_deref() != Some(CATALOG_VERSION) {
            seed_catalog(tx)?;
            tx.set_meta("catalog_version", CATALOG_VERSION)?;
        }
        if tx.meta("root_account")?.is_some() {
            return Ok(None);
        }
        let created = insert_account(tx, root_key, now)?;
        tx.set_meta("root_account", &created.account_id.to_string())?;
        Ok(Some(created))
    })
}

/// A further account with its own root key.
pub fn create_account(store: &Store, now: Millis) -> Result<AccountCredentials, ApiError> {
    store.write(|tx| insert_account(tx, None, now))
}
