/** Follows nextToken until the last page, for list commands that show everything. */
export async function allPages<T>(page: (nextToken: string | undefined) => Promise<{ items?: T[]; nextToken?: string }>): Promise<T[]> {
  const out: T[] = [];
  let nextToken: string | undefined;
  do {
    const r = await page(nextToken);
    out.push(...(r.items ?? []));
    nextToken = r.nextToken;
  } while (nextToken);
  return out;
}
