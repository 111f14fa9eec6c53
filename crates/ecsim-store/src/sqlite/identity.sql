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
