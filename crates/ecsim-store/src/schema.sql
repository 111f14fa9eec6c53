-- ecsim schema, version 1. Each resource keeps its full value as JSON in `doc` (the source of
-- truth) and copies the fields that queries filter or sort on into indexed columns.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS access_keys (
    id         TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS regions (
    id            TEXT PRIMARY KEY,
    position      INTEGER NOT NULL,
    local_name_en TEXT NOT NULL,
    local_name_zh TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    zones         TEXT NOT NULL
);

-- System images carry the same id in every region, so an image is keyed by region and id.
CREATE TABLE IF NOT EXISTS images (
    id          TEXT NOT NULL,
    region_id   TEXT NOT NULL,
    owner       INTEGER,
    name        TEXT NOT NULL,
    family      TEXT NOT NULL,
    status      TEXT NOT NULL,
    os_type     TEXT NOT NULL,
    arch        TEXT NOT NULL,
    is_public   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    ready_at    INTEGER,
    deleted_at  INTEGER,
    doc         TEXT NOT NULL,
    PRIMARY KEY (region_id, id)
);
CREATE INDEX IF NOT EXISTS images_by_owner ON images(region_id, owner, created_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS images_public ON images(region_id, is_public) WHERE deleted_at IS NULL AND is_public = 1;
CREATE INDEX IF NOT EXISTS images_due ON images(ready_at) WHERE status = 'Creating';
CREATE INDEX IF NOT EXISTS images_by_name ON images(owner, region_id, name) WHERE deleted_at IS NULL;

-- Live (not deleted) images per region, owner (-1: system images) and status, kept by the
-- triggers below so DescribeImages' TotalCount does not count a million index entries.
CREATE TABLE IF NOT EXISTS image_counts (
    region_id TEXT NOT NULL,
    owner     INTEGER NOT NULL,
    status    TEXT NOT NULL,
    live      INTEGER NOT NULL,
    PRIMARY KEY (region_id, owner, status)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS image_counts_on_insert AFTER INSERT ON images
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO image_counts(region_id, owner, status, live)
    VALUES (NEW.region_id, coalesce(NEW.owner, -1), NEW.status, 1)
    ON CONFLICT DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER IF NOT EXISTS image_counts_on_delete AFTER DELETE ON images
WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE image_counts SET live = live - 1
    WHERE region_id = OLD.region_id AND owner = coalesce(OLD.owner, -1) AND status = OLD.status;
END;
CREATE TRIGGER IF NOT EXISTS image_counts_on_update AFTER UPDATE OF region_id, owner, status, deleted_at ON images
BEGIN
    UPDATE image_counts SET live = live - 1
    WHERE OLD.deleted_at IS NULL
      AND region_id = OLD.region_id AND owner = coalesce(OLD.owner, -1) AND status = OLD.status;
    INSERT INTO image_counts(region_id, owner, status, live)
    SELECT NEW.region_id, coalesce(NEW.owner, -1), NEW.status, 1 WHERE NEW.deleted_at IS NULL
    ON CONFLICT DO UPDATE SET live = live + 1;
END;
-- Data dirs made before the counters existed are counted once at open (`COUNT_IMAGES` in
-- sqlite.rs).

CREATE TABLE IF NOT EXISTS image_snapshots (
    image_id    TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    PRIMARY KEY (image_id, snapshot_id)
);
CREATE INDEX IF NOT EXISTS image_snapshots_by_snapshot ON image_snapshots(snapshot_id);

CREATE TABLE IF NOT EXISTS image_shares (
    image_id   TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    shared_at  INTEGER NOT NULL,
    PRIMARY KEY (image_id, account_id)
);
CREATE INDEX IF NOT EXISTS image_shares_by_account ON image_shares(account_id);

CREATE TABLE IF NOT EXISTS instances (
    id            TEXT PRIMARY KEY,
    owner         INTEGER NOT NULL,
    region_id     TEXT NOT NULL,
    zone_id       TEXT NOT NULL,
    image_id      TEXT NOT NULL,
    status        TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    doc           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_owner ON instances(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS instances_by_image ON instances(image_id);

CREATE TABLE IF NOT EXISTS disks (
    id          TEXT PRIMARY KEY,
    owner       INTEGER NOT NULL,
    region_id   TEXT NOT NULL,
    instance_id TEXT,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS disks_by_owner ON disks(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS disks_by_instance ON disks(instance_id);

CREATE TABLE IF NOT EXISTS snapshots (
    id             TEXT PRIMARY KEY,
    owner          INTEGER NOT NULL,
    region_id      TEXT NOT NULL,
    source_disk_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    ready_at       INTEGER,
    doc            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_owner ON snapshots(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS snapshots_by_disk ON snapshots(source_disk_id, status);
CREATE INDEX IF NOT EXISTS snapshots_due ON snapshots(ready_at) WHERE status = 'progressing';

CREATE TABLE IF NOT EXISTS tags (
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    owner         INTEGER NOT NULL,
    region_id     TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id, key)
);
CREATE INDEX IF NOT EXISTS tags_by_key ON tags(owner, region_id, resource_type, key, value);

CREATE TABLE IF NOT EXISTS client_tokens (
    owner       INTEGER NOT NULL,
    action      TEXT NOT NULL,
    token       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, action, token)
);

-- Accepted nonces, for refusing replays after a restart. One node owns this database and its
-- in-memory cache decides replays, so the table needs no uniqueness: rows are appended in
-- acceptance order (rowid ≈ time), which makes a nonce one b-tree append and pruning a range
-- delete from the front. (A keyed table and a time index were three inserts per nonce, two of
-- them at random places in large indexes.) Read whole at start-up.
CREATE TABLE IF NOT EXISTS nonce_log (
    seen_at       INTEGER NOT NULL,
    access_key_id TEXT NOT NULL,
    nonce         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tasks (
    id          TEXT PRIMARY KEY,
    owner       INTEGER NOT NULL,
    region_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    doc         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS tasks_by_resource ON tasks(resource_id, action, status);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks(created_at) WHERE status IN ('Waiting', 'Processing');
