-- RAM and STS tables (issue 5), PostgreSQL translation of ../sqlite/identity.sql; keep the two
-- in step. Run at every open after schema.sql, so every statement is idempotent. Names compare
-- case-insensitively (SQLite's COLLATE NOCASE, here `lower(name)` in the unique indexes and in
-- every comparison: RAM names are ASCII) and are stored as given.

CREATE TABLE IF NOT EXISTS ram_users (
    id         TEXT COLLATE "C" PRIMARY KEY,
    account_id BIGINT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    doc        TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_users_name ON ram_users (account_id, lower(name));

CREATE TABLE IF NOT EXISTS ram_groups (
    id         TEXT COLLATE "C" PRIMARY KEY,
    account_id BIGINT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    doc        TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_groups_name ON ram_groups (account_id, lower(name));

CREATE TABLE IF NOT EXISTS ram_group_members (
    group_id  TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS ram_group_members_user ON ram_group_members (user_id);

CREATE TABLE IF NOT EXISTS ram_roles (
    id         TEXT COLLATE "C" PRIMARY KEY,
    account_id BIGINT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    doc        TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_roles_name ON ram_roles (account_id, lower(name));

CREATE TABLE IF NOT EXISTS ram_policies (
    account_id      BIGINT NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    default_version TEXT COLLATE "C" NOT NULL,
    doc             TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_policies_name ON ram_policies (account_id, lower(name));

CREATE TABLE IF NOT EXISTS ram_policy_versions (
    account_id  BIGINT NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    version_id  TEXT COLLATE "C" NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_policy_versions_key
    ON ram_policy_versions (account_id, lower(policy_name), version_id);

-- principal_type: User | Group | Role; policy_type: System | Custom. `seq` stands in for
-- SQLite's rowid (insertion order breaks ties of attached_at).
CREATE TABLE IF NOT EXISTS ram_attachments (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id     BIGINT NOT NULL,
    principal_type TEXT COLLATE "C" NOT NULL,
    principal_id   TEXT COLLATE "C" NOT NULL,
    policy_type    TEXT COLLATE "C" NOT NULL,
    policy_name    TEXT COLLATE "C" NOT NULL,
    attached_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ram_attachments_key
    ON ram_attachments (principal_type, principal_id, policy_type, lower(policy_name));
CREATE INDEX IF NOT EXISTS ram_attachments_policy
    ON ram_attachments (account_id, policy_type, lower(policy_name));

-- RAM users' AccessKeys; the account root keys stay in access_keys.
CREATE TABLE IF NOT EXISTS ram_access_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    secret     TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ram_access_keys_user ON ram_access_keys (user_id);

CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key_id  TEXT COLLATE "C" PRIMARY KEY,
    secret         TEXT NOT NULL,
    security_token TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id     BIGINT NOT NULL,
    role_id        TEXT COLLATE "C" NOT NULL,
    role_name      TEXT COLLATE "C" NOT NULL,
    session_name   TEXT COLLATE "C" NOT NULL,
    session_policy TEXT,
    source_arn     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sts_sessions_role ON sts_sessions (role_id);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions (expires_at);

-- A counter that moves whenever the set of policies applying to some principal may have
-- changed (attachments, memberships, policies and their versions); see ../sqlite/identity.sql.
-- It starts at a random value so two databases never share a sequence.
CREATE TABLE IF NOT EXISTS ram_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    value BIGINT NOT NULL
);
INSERT INTO ram_generation (id, value) VALUES (0, (random() * 1e15)::bigint) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION ram_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ram_generation SET value = value + 1 WHERE id = 0;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER ram_attachments_generation AFTER INSERT OR UPDATE OR DELETE ON ram_attachments
    FOR EACH ROW EXECUTE FUNCTION ram_bump_generation();
CREATE OR REPLACE TRIGGER ram_group_members_generation AFTER INSERT OR UPDATE OR DELETE ON ram_group_members
    FOR EACH ROW EXECUTE FUNCTION ram_bump_generation();
CREATE OR REPLACE TRIGGER ram_policies_generation AFTER INSERT OR UPDATE OR DELETE ON ram_policies
    FOR EACH ROW EXECUTE FUNCTION ram_bump_generation();
CREATE OR REPLACE TRIGGER ram_policy_versions_generation AFTER INSERT OR UPDATE OR DELETE ON ram_policy_versions
    FOR EACH ROW EXECUTE FUNCTION ram_bump_generation();
