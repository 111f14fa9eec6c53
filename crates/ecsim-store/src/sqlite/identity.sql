-- RAM and STS tables (issue 5). Run at every open after schema.sql, so every statement is
-- idempotent. Names compare case-insensitively (COLLATE NOCASE: RAM names are ASCII) and are
-- stored as given; memberships and attachments refer to ids, so renames keep them.

CREATE TABLE IF NOT EXISTS ram_users (
    id         TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    name       TEXT NOT NULL COLLATE NOCASE,
    doc        TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS ram_groups (
    id         TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    name       TEXT NOT NULL COLLATE NOCASE,
    doc        TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS ram_group_members (
    group_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS ram_group_members_user ON ram_group_members (user_id);

CREATE TABLE IF NOT EXISTS ram_roles (
    id         TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    name       TEXT NOT NULL COLLATE NOCASE,
    doc        TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS ram_policies (
    account_id      INTEGER NOT NULL,
    name            TEXT NOT NULL COLLATE NOCASE,
    default_version TEXT NOT NULL,
    doc             TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE IF NOT EXISTS ram_policy_versions (
    account_id  INTEGER NOT NULL,
    policy_name TEXT NOT NULL COLLATE NOCASE,
    version_id  TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, policy_name, version_id)
);

-- principal_type: User | Group | Role; policy_type: System | Custom.
CREATE TABLE IF NOT EXISTS ram_attachments (
    account_id     INTEGER NOT NULL,
    principal_type TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    policy_type    TEXT NOT NULL,
    policy_name    TEXT NOT NULL COLLATE NOCASE,
    attached_at    INTEGER NOT NULL,
    PRIMARY KEY (principal_type, principal_id, policy_type, policy_name)
);
CREATE INDEX IF NOT EXISTS ram_attachments_policy
    ON ram_attachments (account_id, policy_type, policy_name);

-- RAM users' AccessKeys; the account root keys stay in access_keys.
CREATE TABLE IF NOT EXISTS ram_access_keys (
    id         TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    user_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ram_access_keys_user ON ram_access_keys (user_id);

CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key_id  TEXT PRIMARY KEY,
    secret         TEXT NOT NULL,
    security_token TEXT NOT NULL UNIQUE,
    account_id     INTEGER NOT NULL,
    role_id        TEXT NOT NULL,
    role_name      TEXT NOT NULL,
    session_name   TEXT NOT NULL,
    session_policy TEXT,
    source_arn     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sts_sessions_role ON sts_sessions (role_id);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions (expires_at);

-- A counter that moves whenever the set of policies applying to some principal may have
-- changed (attachments, memberships, policies and their versions), so the server can keep a
-- principal's policies between requests and still see every change at once, on every node
-- sharing the database. It starts at a random value so two databases never share a sequence.
CREATE TABLE IF NOT EXISTS ram_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO ram_generation (id, value) VALUES (0, random());
CREATE TRIGGER IF NOT EXISTS ram_attachments_insert_generation AFTER INSERT ON ram_attachments
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_attachments_update_generation AFTER UPDATE ON ram_attachments
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_attachments_delete_generation AFTER DELETE ON ram_attachments
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_group_members_insert_generation AFTER INSERT ON ram_group_members
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_group_members_update_generation AFTER UPDATE ON ram_group_members
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_group_members_delete_generation AFTER DELETE ON ram_group_members
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policies_insert_generation AFTER INSERT ON ram_policies
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policies_update_generation AFTER UPDATE ON ram_policies
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policies_delete_generation AFTER DELETE ON ram_policies
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policy_versions_insert_generation AFTER INSERT ON ram_policy_versions
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policy_versions_update_generation AFTER UPDATE ON ram_policy_versions
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS ram_policy_versions_delete_generation AFTER DELETE ON ram_policy_versions
    BEGIN UPDATE ram_generation SET value = value + 1 WHERE id = 0; END;
