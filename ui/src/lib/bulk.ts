/** Sequential bulk operations with progress and per-item errors. */

export interface BulkResult<K> {
  ok: K[];
  failed: { id: K; error: string }[];
}

export async function runSequential<K>(
  ids: K[],
  fn: (id: K) => Promise<unknown>,
  onProgress?: (done: number, total: number) => void,
  shouldStop?: () => boolean,
): Promise<BulkResult<K>> {
  const res: BulkResult<K> = { ok: [], failed: [] };
  let done = 0;
  for (const id of ids) {
    if (shouldStop?.()) break;
    try {
      await fn(id);
      res.ok.push(id);
    } catch (e) {
      res.failed.push({ id, error: e instanceof Error ? e.message : String(e) });
    }
    done += 1;
    onProgress?.(done, ids.length);
  }
  return res;
}
