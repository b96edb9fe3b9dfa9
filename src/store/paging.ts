/** Turning keyset-query rows into a page: shared by every SQL store. */
import type { Page } from '../core/model.js';
import type { Row } from './codec.js';
import { encodePageToken } from './page-token.js';

/** Rows fetched with LIMIT size + 1 become a page, with a token when the extra row exists. */
export function toPage<T>(
  rows: Row[],
  size: number,
  map: (r: Row) => T,
  position: (r: Row) => number[],
  list: string,
  scope: unknown,
): Page<T> {
  const kept = rows.slice(0, size);
  const last = kept[kept.length - 1];
  const page: Page<T> = { items: kept.map(map) };
  if (rows.length > size && last) page.nextToken = encodePageToken(list, scope, position(last));
  return page;
}
