#!/usr/bin/env node
// Fails when ui/openapi.json (from which src/api/schema.d.ts is generated) differs from the
// OpenAPI document the running server serves at /api/openapi.json.
//
//   TIMEBRIDGE_URL=http://127.0.0.1:8080 node e2e/openapi-drift.mjs           # check
//   TIMEBRIDGE_URL=http://127.0.0.1:8080 node e2e/openapi-drift.mjs --write   # update ui/openapi.json
//
// The comparison is semantic (key order and formatting do not matter); the file is written
// with sorted keys and two-space indentation so that diffs stay small. After --write, run
// `npm run gen:api && npm run typecheck`.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));
const base = (process.env.TIMEBRIDGE_URL || process.argv.find((a) => /^https?:\/\//.test(a)) || '').replace(/\/$/, '');
if (!base) {
  console.error('openapi-drift: set TIMEBRIDGE_URL (e.g. http://127.0.0.1:8080) or pass the URL as an argument');
  process.exit(2);
}

export function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}
export const format = (doc) => `${JSON.stringify(sortKeys(doc), null, 2)}\n`;

const esc = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');
const short = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 100 ? `${s.slice(0, 97)}...` : s;
};

/** JSON-pointer differences between a (committed) and b (served). */
export function diff(a, b, path = '', out = []) {
  if (JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))) return out;
  const isObj = (x) => x && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = `${path}/${esc(k)}`;
      if (!(k in b)) out.push({ path: p, kind: 'only in ui/openapi.json', value: a[k] });
      else if (!(k in a)) out.push({ path: p, kind: 'only on the server', value: b[k] });
      else diff(a[k], b[k], p, out);
    }
  } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diff(x, b[i], `${path}/${i}`, out));
  } else {
    out.push({ path: path || '/', kind: 'changed', from: a, to: b });
  }
  return out;
}

async function main() {
  const url = `${base}/api/openapi.json`;
  let served;
  try {
    const res = await fetch(url, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    served = await res.json();
  } catch (e) {
    console.error(`openapi-drift: cannot fetch ${url}: ${e.message}`);
    process.exit(2);
  }
  if (process.argv.includes('--write')) {
    await writeFile(FILE, format(served));
    console.log(`openapi-drift: wrote ${FILE}; now run: npm run gen:api && npm run typecheck`);
    return;
  }
  const committed = JSON.parse(await readFile(FILE, 'utf8'));
  const d = diff(committed, served);
  if (d.length === 0) {
    console.log(`openapi-drift: ui/openapi.json matches ${url} (${Object.keys(served.paths ?? {}).length} paths, ${Object.keys(served.components?.schemas ?? {}).length} schemas)`);
    return;
  }
  // Summary by area first (paths and schemas added, removed, changed), then the details.
  const groups = new Map();
  for (const x of d) {
    const parts = x.path.split('/').slice(1);
    const area = parts[0] === 'paths' ? `path ${parts[1]?.replace(/~1/g, '/').replace(/~0/g, '~')}` : parts[0] === 'components' ? `${parts[1]} ${parts[2] ?? ''}`.trim() : parts[0] || '/';
    const g = groups.get(area) ?? { added: 0, removed: 0, changed: 0 };
    if (x.kind === 'only on the server') g.added++;
    else if (x.kind === 'only in ui/openapi.json') g.removed++;
    else g.changed++;
    groups.set(area, g);
  }
  console.error(`openapi-drift: ui/openapi.json differs from ${url} in ${d.length} place(s):\n`);
  for (const [area, g] of [...groups].sort()) {
    const what = [g.added && `${g.added} only on the server`, g.removed && `${g.removed} only in ui/openapi.json`, g.changed && `${g.changed} changed`].filter(Boolean).join(', ');
    console.error(`  ${area}: ${what}`);
  }
  console.error('\nDetails (first 40):');
  for (const x of d.slice(0, 40)) {
    if (x.kind === 'changed') console.error(`  ~ ${x.path}: ${short(x.from)} -> ${short(x.to)}`);
    else console.error(`  ${x.kind === 'only on the server' ? '+' : '-'} ${x.path} (${x.kind}): ${short(x.value)}`);
  }
  if (d.length > 40) console.error(`  … and ${d.length - 40} more`);
  console.error(`\nIf the server is right: cd ui && TIMEBRIDGE_URL=${base} node e2e/openapi-drift.mjs --write && npm run gen:api && npm run typecheck`);
  process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
