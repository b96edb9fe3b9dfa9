/**
 * The schema, as numbered steps applied in order (see migrate.ts). Never edit a released step:
 * append a new one. Kept close to portable SQL so PostgreSQL can follow the same steps (there:
 * BIGINT identity for seq, JSONB for the JSON text columns, strpos for instr).
 * Times are epoch milliseconds (INTEGER); JSON members are TEXT.
 */
import type { Migration } from '../migration.js';

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE tenants (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL UNIQUE,
  account_id  TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL
);

CREATE TABLE access_keys (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  access_key_id  TEXT NOT NULL UNIQUE,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  secret_sealed  TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
  created_at     INTEGER NOT NULL,
  revoked_at     INTEGER
);
CREATE INDEX access_keys_by_tenant ON access_keys (tenant_id, seq);

CREATE TABLE images (
  seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
  id                     TEXT NOT NULL UNIQUE,
  tenant_id              TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name                   TEXT NOT NULL,
  state                  TEXT NOT NULL,
  latest_active_version  TEXT,
  latest_failed_version  TEXT,
  -- highest version number ever assigned, so a deleted version's number is never reused
  last_major             INTEGER,
  last_minor             INTEGER,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER,
  UNIQUE (tenant_id, name)
);
CREATE INDEX images_by_state ON images (state);

CREATE TABLE image_versions (
  image_id       TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  version        TEXT NOT NULL,
  major          INTEGER NOT NULL,
  minor          INTEGER NOT NULL,
  tenant_id      TEXT NOT NULL,
  state          TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
  settings       TEXT NOT NULL,
  state_reason   TEXT,
  rootfs_path    TEXT,
  snapshot_path  TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER,
  PRIMARY KEY (image_id, version),
  UNIQUE (image_id, major, minor)
);
CREATE INDEX image_versions_by_state ON image_versions (state);

CREATE TABLE image_builds (
  seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
  id                     TEXT NOT NULL UNIQUE,
  image_id               TEXT NOT NULL,
  version                TEXT NOT NULL,
  tenant_id              TEXT NOT NULL,
  state                  TEXT NOT NULL,
  state_reason           TEXT,
  log_path               TEXT,
  memory_snapshot_bytes  INTEGER,
  disk_snapshot_bytes    INTEGER,
  code_install_bytes     INTEGER,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER,
  FOREIGN KEY (image_id, version) REFERENCES image_versions (image_id, version) ON DELETE CASCADE
);
CREATE INDEX image_builds_by_version ON image_builds (image_id, version, seq);
CREATE INDEX image_builds_by_state ON image_builds (state);

-- No foreign key to images: terminated microVMs outlive the image they ran.
CREATE TABLE microvms (
  seq                       INTEGER PRIMARY KEY AUTOINCREMENT,
  id                        TEXT NOT NULL UNIQUE,
  tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  image_id                  TEXT NOT NULL,
  image_version             TEXT NOT NULL,
  state                     TEXT NOT NULL,
  state_reason              TEXT,
  idle_policy               TEXT,
  maximum_duration_seconds  INTEGER NOT NULL,
  run_hook_payload          TEXT,
  egress                    TEXT NOT NULL,
  checkpoint_path           TEXT,
  extra                     TEXT NOT NULL,
  started_at                INTEGER NOT NULL,
  last_activity_at          INTEGER NOT NULL,
  suspended_at              INTEGER,
  terminated_at             INTEGER,
  running_seconds           REAL NOT NULL,
  suspended_seconds         REAL NOT NULL,
  updated_at                INTEGER NOT NULL
);
CREATE INDEX microvms_by_tenant ON microvms (tenant_id, seq);
CREATE INDEX microvms_by_image ON microvms (image_id, image_version);
CREATE INDEX microvms_by_state ON microvms (state);

CREATE TABLE tags (
  tenant_id    TEXT NOT NULL,
  kind         TEXT NOT NULL,
  resource_id  TEXT NOT NULL,
  tag_key      TEXT NOT NULL,
  tag_value    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, kind, resource_id, tag_key)
);

CREATE TABLE idempotency (
  tenant_id     TEXT NOT NULL,
  operation     TEXT NOT NULL,
  client_token  TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  result_ref    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, operation, client_token)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
`,
  },
  {
    id: 2,
    name: 'microvm state change time',
    sql: 'ALTER TABLE microvms ADD COLUMN state_changed_at INTEGER;',
  },
  {
    id: 3,
    name: 'per-tenant quota overrides',
    sql: `
CREATE TABLE tenant_quotas (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  quota      TEXT NOT NULL,
  value      INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, quota)
);
`,
  },
  {
    id: 4,
    name: 'E2B API keys; renewable maximum duration',
    sql: `
CREATE TABLE e2b_api_keys (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  key_id      TEXT NOT NULL UNIQUE,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key_sha256  TEXT NOT NULL UNIQUE,
  hint        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX e2b_api_keys_by_tenant ON e2b_api_keys (tenant_id, seq);
ALTER TABLE microvms ADD COLUMN on_maximum_duration TEXT;
`,
  },
  {
    id: 5,
    name: 'execution roles and secrets',
    sql: `
CREATE TABLE secrets (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  version       INTEGER NOT NULL,
  value_sealed  TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (tenant_id, name)
);
CREATE TABLE roles (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  secrets      TEXT NOT NULL,
  permissions  TEXT NOT NULL,
  launch       TEXT,
  created_at   INTEGER NOT NULL,
  UNIQUE (tenant_id, name)
);
`,
  },
];
