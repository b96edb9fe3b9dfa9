/**
 * The PostgreSQL schema, as numbered steps applied in order (see migrate.ts). Never edit a
 * released step: append a new one. It follows the SQLite steps (src/store/sqlite/migrations.ts)
 * so both stores hold the same columns: identity seq for keyset pagination, times as epoch
 * milliseconds (BIGINT), JSON members as JSONB.
 */
import type { Migration } from '../migration.js';

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE tenants (
  seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  account_id  TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  CONSTRAINT tenants_name_unique UNIQUE (name)
);

CREATE TABLE access_keys (
  seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  access_key_id  TEXT NOT NULL UNIQUE,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  secret_sealed  TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
  created_at     BIGINT NOT NULL,
  revoked_at     BIGINT
);
CREATE INDEX access_keys_by_tenant ON access_keys (tenant_id, seq);

CREATE TABLE images (
  seq                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                     TEXT NOT NULL UNIQUE,
  tenant_id              TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name                   TEXT NOT NULL,
  state                  TEXT NOT NULL,
  latest_active_version  TEXT,
  latest_failed_version  TEXT,
  -- highest version number ever assigned, so a deleted version's number is never reused
  last_major             INTEGER,
  last_minor             INTEGER,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT,
  CONSTRAINT images_name_unique UNIQUE (tenant_id, name)
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
  settings       JSONB NOT NULL,
  state_reason   TEXT,
  rootfs_path    TEXT,
  snapshot_path  TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT,
  PRIMARY KEY (image_id, version),
  UNIQUE (image_id, major, minor)
);
CREATE INDEX image_versions_by_state ON image_versions (state);

CREATE TABLE image_builds (
  seq                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                     TEXT NOT NULL UNIQUE,
  image_id               TEXT NOT NULL,
  version                TEXT NOT NULL,
  tenant_id              TEXT NOT NULL,
  state                  TEXT NOT NULL,
  state_reason           TEXT,
  log_path               TEXT,
  memory_snapshot_bytes  BIGINT,
  disk_snapshot_bytes    BIGINT,
  code_install_bytes     BIGINT,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT,
  FOREIGN KEY (image_id, version) REFERENCES image_versions (image_id, version) ON DELETE CASCADE
);
CREATE INDEX image_builds_by_version ON image_builds (image_id, version, seq);
CREATE INDEX image_builds_by_state ON image_builds (state);

-- No foreign key to images: terminated microVMs outlive the image they ran.
CREATE TABLE microvms (
  seq                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                        TEXT NOT NULL UNIQUE,
  tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  image_id                  TEXT NOT NULL,
  image_version             TEXT NOT NULL,
  state                     TEXT NOT NULL,
  state_reason              TEXT,
  idle_policy               JSONB,
  maximum_duration_seconds  INTEGER NOT NULL,
  run_hook_payload          TEXT,
  egress                    JSONB NOT NULL,
  checkpoint_path           TEXT,
  extra                     JSONB NOT NULL,
  started_at                BIGINT NOT NULL,
  last_activity_at          BIGINT NOT NULL,
  suspended_at              BIGINT,
  terminated_at             BIGINT,
  running_seconds           DOUBLE PRECISION NOT NULL,
  suspended_seconds         DOUBLE PRECISION NOT NULL,
  updated_at                BIGINT NOT NULL,
  state_changed_at          BIGINT
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
  created_at    BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, operation, client_token)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
`,
  },
  {
    id: 2,
    name: 'per-tenant quota overrides',
    sql: `
CREATE TABLE tenant_quotas (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  quota      TEXT NOT NULL,
  value      BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, quota)
);
`,
  },
  {
    id: 3,
    name: 'E2B API keys; renewable maximum duration',
    sql: `
CREATE TABLE e2b_api_keys (
  seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_id      TEXT NOT NULL UNIQUE,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key_sha256  TEXT NOT NULL UNIQUE,
  hint        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
  created_at  BIGINT NOT NULL,
  revoked_at  BIGINT
);
CREATE INDEX e2b_api_keys_by_tenant ON e2b_api_keys (tenant_id, seq);
ALTER TABLE microvms ADD COLUMN on_maximum_duration JSONB;
`,
  },
  {
    // The SQLite schema's step 5 (PostgreSQL began at SQLite's step 2, so its numbers run one behind).
    id: 4,
    name: 'execution roles and secrets',
    sql: `
CREATE TABLE secrets (
  seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  version       BIGINT NOT NULL,
  value_sealed  TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  CONSTRAINT secrets_name_unique UNIQUE (tenant_id, name)
);
CREATE TABLE roles (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  secrets      JSONB NOT NULL,
  permissions  JSONB NOT NULL,
  launch       JSONB,
  created_at   BIGINT NOT NULL,
  CONSTRAINT roles_name_unique UNIQUE (tenant_id, name)
);
`,
  },
];
