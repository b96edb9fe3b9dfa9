/**
 * Mapping between domain records and table rows, declared once per record type: which member
 * lives in which column, and how it is encoded (dates as epoch ms, JSON members as text).
 */
import { CubbyError } from '../errors/index.js';

export type ColumnType = 'text' | 'int' | 'real' | 'date' | 'json';
export type SqlValue = string | number | bigint | null;
export type Row = Record<string, unknown>;

export interface Field<T> {
  key: Extract<keyof T, string>;
  column: string;
  type: ColumnType;
  /** Absent in the record when the column is NULL. */
  optional?: boolean;
}

/**
 * Where each member of T lives. Every member must be listed, and `optional: true` exactly for
 * optional members: a member added to the model fails the build here until it has a column.
 */
export type Layout<T> = {
  [K in keyof T]-?: { column: string; type: ColumnType } & (undefined extends T[K] ? { optional: true } : { optional?: false });
};

export interface Codec<T> {
  fields: readonly Field<T>[];
  byKey: ReadonlyMap<string, Field<T>>;
}

export function codec<T>(layout: Layout<T>): Codec<T> {
  const fields = Object.entries(layout).map(([key, spec]) => ({ key, ...(spec as object) }) as Field<T>);
  return { fields, byKey: new Map(fields.map((f) => [f.key, f])) };
}

function encode(type: ColumnType, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'date':
      return (value as Date).getTime();
    case 'json':
      return JSON.stringify(value);
    default:
      return value as SqlValue;
  }
}

function decode(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'date':
      return new Date(value as number);
    case 'json':
      return JSON.parse(value as string);
    default:
      return value;
  }
}

export function fromRow<T>(c: Codec<T>, row: Row): T {
  const out: Record<string, unknown> = {};
  for (const f of c.fields) {
    const v = row[f.column];
    if (v === null || v === undefined) {
      if (!f.optional) throw new CubbyError('CUBBY_INTERNAL', `column ${f.column} is unexpectedly NULL`);
      continue;
    }
    out[f.key] = decode(f.type, v);
  }
  return out as T;
}

/** Columns and values of a full record, plus store-only columns. */
export function toColumns<T>(c: Codec<T>, record: T, extra: Record<string, SqlValue> = {}): { columns: string[]; values: SqlValue[] } {
  const columns: string[] = [];
  const values: SqlValue[] = [];
  for (const f of c.fields) {
    const v = encode(f.type, (record as Record<string, unknown>)[f.key]);
    if (v === null && !f.optional) throw new CubbyError('CUBBY_VALIDATION', `${f.key} is required`);
    columns.push(f.column);
    values.push(v);
  }
  for (const [col, v] of Object.entries(extra)) {
    columns.push(col);
    values.push(v);
  }
  return { columns, values };
}

export function insertSql(table: string, columns: string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/**
 * "col = ?" assignments for a patch. Only `allowed` members may appear; undefined members are
 * skipped; null clears an optional member and is refused for a required one.
 */
export function patchAssignments<T>(c: Codec<T>, patch: object, allowed: ReadonlySet<string>): { sets: string[]; values: SqlValue[] } {
  const sets: string[] = [];
  const values: SqlValue[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const f = c.byKey.get(key);
    if (!f || !allowed.has(key)) throw new CubbyError('CUBBY_VALIDATION', `${key} cannot be changed here`);
    if (value === null && !f.optional) throw new CubbyError('CUBBY_VALIDATION', `${key} cannot be cleared`);
    sets.push(`${f.column} = ?`);
    values.push(encode(f.type, value));
  }
  return { sets, values };
}

/** Patches stamp updatedAt with the store's clock unless they set (or clear) it themselves. */
export function stamped<P extends { updatedAt?: Date | null }>(clock: { now(): Date }, patch: P): P {
  return patch.updatedAt === undefined ? { ...patch, updatedAt: clock.now() } : patch;
}
