-- ecsim schema, version 1 (PostgreSQL translation of ../schema.sql; keep the two in step). Each resource keeps its full value as JSON in `doc` (the source of
-- truth) and copies the fields that queries filter or sort on into indexed columns.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    id         BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS access_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    secret     TEXT COLLATE "C" NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    status     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS regions (
    id            TEXT COLLATE "C" PRIMARY KEY,
    position      BIGINT NOT NULL,
    local_name_en TEXT COLLATE "C" NOT NULL,
    local_name_zh TEXT COLLATE "C" NOT NULL,
    endpoint      TEXT COLLATE "C" NOT NULL,
    zones         TEXT COLLATE "C" NOT NULL
);

-- System images carry the same id in every region, so an image is keyed by region and id.
CREATE TABLE IF NOT EXISTS images (
    id          TEXT COLLATE "C" NOT NULL,
    region_id   TEXT COLLATE "C" NOT NULL,
    owner       BIGINT,
    name        TEXT COLLATE "C" NOT NULL,
    family      TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    os_type     TEXT COLLATE "C" NOT NULL,
    arch        TEXT COLLATE "C" NOT NULL,
    is_public   BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    ready_at    BIGINT,
    deleted_at  BIGINT,
    doc         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (region_id, id)
);
CREATE INDEX IF NOT EXISTS images_by_owner ON images(region_id, owner, created_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS images_public ON images(region_id, is_public) WHERE deleted_at IS NULL AND is_public;
CREATE INDEX IF NOT EXISTS images_due ON images(ready_at) WHERE status = 'Creating';
CREATE INDEX IF NOT EXISTS images_by_name ON images(owner, region_id, name) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS image_snapshots (
    image_id    TEXT COLLATE "C" NOT NULL,
    snapshot_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (image_id, snapshot_id)
);
CREATE INDEX IF NOT EXISTS image_snapshots_by_snapshot ON image_snapshots(snapshot_id);

CREATE TABLE IF NOT EXISTS image_shares (
    image_id   TEXT COLLATE "C" NOT NULL,
    account_id BIGINT NOT NULL,
    shared_at  BIGINT NOT NULL,
    PRIMARY KEY (image_id, account_id)
);
CREATE INDEX IF NOT EXISTS image_shares_by_account ON image_shares(account_id);

CREATE TABLE IF NOT EXISTS instances (
    id            TEXT COLLATE "C" PRIMARY KEY,
    owner         BIGINT NOT NULL,
    region_id     TEXT COLLATE "C" NOT NULL,
    zone_id       TEXT COLLATE "C" NOT NULL,
    image_id      TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    instance_type TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    doc           TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_owner ON instances(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS instances_by_image ON instances(image_id);

CREATE TABLE IF NOT EXISTS disks (
    id          TEXT COLLATE "C" PRIMARY KEY,
    owner       BIGINT NOT NULL,
    region_id   TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C",
    created_at  BIGINT NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS disks_by_owner ON disks(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS disks_by_instance ON disks(instance_id);

CREATE TABLE IF NOT EXISTS snapshots (
    id             TEXT COLLATE "C" PRIMARY KEY,
    owner          BIGINT NOT NULL,
    region_id      TEXT COLLATE "C" NOT NULL,
    source_disk_id TEXT COLLATE "C" NOT NULL,
    status         TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    ready_at       BIGINT,
    doc            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_owner ON snapshots(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS snapshots_by_disk ON snapshots(source_disk_id, status);
CREATE INDEX IF NOT EXISTS snapshots_due ON snapshots(ready_at) WHERE status = 'progressing';

CREATE TABLE IF NOT EXISTS tags (
    resource_type TEXT COLLATE "C" NOT NULL,
    resource_id   TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    value         TEXT COLLATE "C" NOT NULL,
    owner         BIGINT NOT NULL,
    region_id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (resource_type, resource_id, key)
);
CREATE INDEX IF NOT EXISTS tags_by_key ON tags(owner, region_id, resource_type, key, value);

CREATE TABLE IF NOT EXISTS client_tokens (
    owner       BIGINT NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    token       TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    response    TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (owner, action, token)
);

CREATE TABLE IF NOT EXISTS nonces (
    access_key_id TEXT COLLATE "C" NOT NULL,
    nonce         TEXT COLLATE "C" NOT NULL,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces(seen_at);

CREATE TABLE IF NOT EXISTS tasks (
    id          TEXT COLLATE "C" PRIMARY KEY,
    owner       BIGINT NOT NULL,
    region_id   TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    lease_owner TEXT COLLATE "C",
    lease_until BIGINT,
    doc         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks(owner, region_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS tasks_by_resource ON tasks(resource_id, action, status);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks(created_at) WHERE status IN ('Waiting', 'Processing');
