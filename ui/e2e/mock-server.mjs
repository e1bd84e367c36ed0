// In-memory mock of the timebridge API (docs/api-contract.md) that also serves ui/dist with SPA fallback.
// For UI development and for running the browser tests without the Rust server:
//   node e2e/mock-server.mjs [--port 8080]      (password: MOCK_ADMIN_PASSWORD or "admin-password")
// Not a simulator of Zammad/Kimai: just enough state for every page to show something realistic.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };

/** The server's defaults of a pipeline's options (docs/api.md, "Pipelines"). */
export function defaultOptions() {
  return { default_project: null, default_activity: null, unmapped_user: 'conflict', match_by_name: false, include_running: false, mirror_projects: { enabled: false, client_key: null } };
}

export function createState(password = process.env.MOCK_ADMIN_PASSWORD || 'admin-password') {
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const day = 86400000;
  const st = {
    password,
    sessions: new Set(),
    failures: 0,
    ids: { connector: 3, pipeline: 2, mapping: 10, run: 10, conflict: 20, audit: 100 },
    settings: { retention_days: 365 },
    kinds: [
      {
        kind: 'zammad',
        label: 'Zammad',
        roles: ['source'],
        features: ['webhook'],
        dimensions: { activity: 'type', project: 'organization', user: 'agent' },
        secret_settings: ['webhook_secret'],
        catalogs: ['types', 'organizations', 'agents'],
        dimension_catalogs: { activity: 'types', project: 'organizations', user: 'agents' },
        webhook: { path: '/api/webhook/zammad/{connector_id}', signature: 'X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>' },
        settings_schema: {
          type: 'object',
          properties: {
            time_unit_minutes: { type: 'number', title: 'Minutes per time unit', default: 1.0, exclusiveMinimum: 0, description: 'How many minutes one Zammad time unit is.' },
            time_placement: { type: 'string', enum: ['end_at_created', 'begin_at_created'], default: 'end_at_created', title: 'Time placement' },
            webhook_secret: { type: 'string', writeOnly: true, title: 'Webhook secret', description: 'HMAC-SHA1 signature token configured in the Zammad webhook.' },
          },
        },
      },
      {
        kind: 'kimai',
        label: 'Kimai',
        roles: ['target'],
        features: [],
        dimensions: { activity: 'activity', project: 'project', user: 'user' },
        secret_settings: [],
        catalogs: ['activities', 'projects', 'customers', 'users'],
        dimension_catalogs: { activity: 'activities', project: 'projects', user: 'users' },
        webhook: null,
        settings_schema: {
          type: 'object',
          properties: {
            billable_tag: { type: 'string', default: 'billable', title: 'Billable tag' },
            non_billable_tag: { type: 'string', default: 'non-billable', title: 'Non-billable tag' },
            set_billable_field: { type: 'boolean', default: true, title: 'Set the billable field' },
            timezone: { type: 'string', title: 'Time zone', description: 'Defaults to the Kimai user’s zone, else UTC.' },
          },
        },
      },
      {
        // a kind that is both source and target, has clients and can create projects (mirroring)
        kind: 'tracker',
        label: 'Tracker',
        roles: ['source', 'target'],
        features: ['running_entries', 'create_projects'],
        dimensions: { activity: 'task', project: 'project', user: 'member' },
        secret_settings: [],
        catalogs: ['tasks', 'tracker_projects', 'clients', 'members'],
        dimension_catalogs: { activity: 'tasks', project: 'tracker_projects', user: 'members' },
        webhook: null,
        settings_schema: { type: 'object', properties: {} },
      },
    ],
    connectors: [
      { id: 1, kind: 'zammad', name: 'Zammad (demo)', base_url: 'http://127.0.0.1:3001', settings: { time_unit_minutes: 1, time_placement: 'end_at_created', has_webhook_secret: true }, has_token: true, created_at: iso(now - 20 * day), updated_at: iso(now - 2 * day) },
      { id: 2, kind: 'kimai', name: 'Kimai (demo)', base_url: 'http://127.0.0.1:3002', settings: { billable_tag: 'billable', non_billable_tag: 'non-billable', set_billable_field: true }, has_token: true, created_at: iso(now - 20 * day), updated_at: iso(now - 20 * day) },
    ],
    pipelines: [
      { id: 1, name: 'Zammad → Kimai', source_connector_id: 1, target_connector_id: 2, enabled: true, schedule: { enabled: true, interval_minutes: 360 }, window_days: 30, options: { ...defaultOptions(), default_activity: '1' } },
    ],
    catalogs: {
      types: [{ key: '1', label: 'Support' }, { key: '2', label: 'On-site' }, { key: '3', label: 'Consulting' }, { key: '4', label: 'Travel' }],
      organizations: [{ key: '10', label: 'Acme GmbH' }, { key: '11', label: 'Globex AG' }, { key: '12', label: 'Initech KG' }],
      agents: [
        { key: '3', label: 'Anna Schmidt', extra: { email: 'anna@example.com' } },
        { key: '4', label: 'Ben Weber', extra: { email: 'ben@example.com' } },
        { key: '5', label: 'Chris Meyer', extra: { email: 'chris@contractor.example' } },
      ],
      activities: [{ key: '1', label: 'Support' }, { key: '2', label: 'Field service' }, { key: '3', label: 'Consulting' }],
      projects: [{ key: '1', label: 'Acme — Support contract' }, { key: '2', label: 'Globex — Managed services' }, { key: '3', label: 'Internal' }],
      customers: [{ key: '1', label: 'Acme GmbH' }, { key: '2', label: 'Globex AG' }],
      tasks: [{ key: 't1', label: 'Support' }, { key: 't2', label: 'Consulting' }],
      tracker_projects: [{ key: 'p1', label: 'Acme — Support contract' }],
      clients: [{ key: 'c1', label: 'Acme GmbH' }, { key: 'c2', label: 'Globex AG' }],
      members: [{ key: 'm1', label: 'Anna Schmidt', extra: { email: 'anna@example.com' } }],
      users: [
        { key: '1', label: 'anna', extra: { email: 'anna@example.com' } },
        { key: '2', label: 'ben', extra: { email: 'BEN@example.com' } },
        { key: '3', label: 'admin', extra: { email: 'admin@example.com' } },
        { key: '4', label: 'chris', extra: {} },
      ],
    },
    mappings: [
      { id: 1, pipeline_id: 1, kind: 'activity', source_key: '1', source_label: 'Support', target_key: '1', target_label: 'Support', billable: null, sync: true },
      { id: 2, pipeline_id: 1, kind: 'activity', source_key: '3', source_label: 'Consulting', target_key: '3', target_label: 'Consulting', billable: true, sync: true },
      { id: 3, pipeline_id: 1, kind: 'project', source_key: '10', source_label: 'Acme GmbH', target_key: '1', target_label: 'Acme — Support contract', billable: null, sync: true },
    ],
    runs: [],
    conflicts: [],
    audit: [],
  };
  const stats = (o = {}) => ({ fetched: 0, in_sync: 0, created: 0, updated: 0, skipped: 0, conflicts: 0, errors: 0, deleted: 0, restored: 0, ...o });
  for (let i = 1; i <= 8; i++) {
    const t = now - i * 6 * 3600000;
    // what each run wrote (the entries an undo takes back): its creates and its one update
    const items = [];
    for (let k = 0; k < i + 2; k++) items.push({ source_key: `ta-${300 + i * 10 + k}`, outcome: 'create', target_id: String(700 + i * 10 + k), conflict_id: null, message: null });
    items.push({ source_key: `ta-${300 + i * 10 + 9}`, outcome: 'update', target_id: String(700 + i * 10 + 9), conflict_id: null, message: 'duration changed in Zammad' });
    st.runs.push({ id: i, pipeline_id: 1, trigger: i % 3 === 0 ? 'webhook' : 'schedule', dry_run: false, status: i === 4 ? 'partial' : 'succeeded', created_at: iso(t - 1000), started_at: iso(t), finished_at: iso(t + 42000), window: { from: iso(t - 30 * day).slice(0, 10), to: iso(t).slice(0, 10) }, stats: stats({ fetched: 120 + i, in_sync: 110, created: i + 2, updated: 1, conflicts: i === 4 ? 3 : 0, errors: 0 }), error: null, items, mirrored_projects: [] });
  }
  // a person edited one entry of run 2 in Kimai since: an undo leaves it alone (a conflict)
  st.editedInTarget = new Set(['721']);
  // source keys an undo took back: the next syncs skip them until they change in the source
  st.undone = new Map();
  const entry = (sys, key, o = {}) => ({
    system: sys, key, ticket: { id: 4711, number: '20041', title: 'Printer on 2nd floor offline', url: 'http://127.0.0.1:3001/#ticket/zoom/4711' },
    customer: { key: '1', name: 'Acme GmbH' }, project: { key: '1', name: 'Acme — Support contract' }, activity: { key: '1', name: 'Support' },
    user: { key: '3', email: 'anna@example.com', name: 'Anna Schmidt' },
    begin: iso(now - 2 * day), end: iso(now - 2 * day + 5400000), duration_seconds: 5400, description: '#20041 Printer on 2nd floor offline', billable: true, tags: ['billable'], ...o,
  });
  const reasons = [
    ['target_modified', ['update', 'keep_target', 'skip'], [{ field: 'duration_seconds', source: 5400, target: 3600 }, { field: 'description', source: '#20041 Printer on 2nd floor offline', target: '#20041 Printer – fixed toner' }]],
    ['duplicate_in_target', ['link', 'create', 'skip'], []],
    ['unmapped_user', ['create', 'skip'], []],
    ['unmapped_project', ['create', 'skip'], []],
    ['negative_duration', ['skip'], []],
    ['source_deleted', ['delete_target', 'keep_target'], []],
    ['locked', ['keep_target', 'skip'], [{ field: 'end', source: iso(now - 2 * day + 6000000), target: iso(now - 2 * day + 5400000) }]],
  ];
  let cid = 1;
  for (const [reason, allowed, diff] of reasons) {
    for (let k = 0; k < (reason === 'unmapped_user' ? 3 : 1); k++) {
      const id = cid++;
      const hasTarget = !reason.startsWith('unmapped') && reason !== 'negative_duration';
      const src = reason === 'source_deleted' ? null : entry('zammad', `ta-${100 + id}`, reason === 'negative_duration' ? { duration_seconds: -1800, end: iso(now - 2 * day - 1800000) } : reason === 'unmapped_user' ? { user: { key: '5', email: 'chris@contractor.example', name: 'Chris Meyer' }, duration_seconds: 1800 * (k + 1) } : reason === 'unmapped_project' ? { customer: { key: '2', name: 'Globex AG' }, project: { key: '11', name: 'Globex AG' } } : {});
      const tgt = hasTarget ? entry('kimai', String(900 + id), { duration_seconds: diff.length ? 3600 : 5400, description: diff.length ? '#20041 Printer – fixed toner' : '#20041 Printer on 2nd floor offline' }) : null;
      st.conflicts.push({ id, pipeline_id: 1, reason, status: 'open', source: src, target: tgt, diff, allowed_actions: allowed, message: reason === 'unmapped_user' ? 'Agent chris@contractor.example has no Kimai user' : null, created_at: iso(now - id * 3600000), resolved_at: null, resolution: null, explanation: reason === 'target_modified' ? { activity: 'mapping #1 (Support → Support)', project: 'mapping #3 (Acme GmbH)', user: 'matched by e-mail anna@example.com', billable: 'Kimai default' } : undefined });
    }
  }
  // a running source entry whose target counterpart has ended: the diff names `running`
  st.conflicts.push({
    id: cid, pipeline_id: 1, reason: 'target_modified', status: 'open',
    source: entry('kimai', 'ta-190', { running: true, end: null, duration_seconds: null }),
    target: entry('kimai', '990', { running: false }),
    diff: [{ field: 'running', source: true, target: false }, { field: 'end', source: null, target: iso(now - 2 * day + 5400000) }, { field: 'duration_seconds', source: null, target: 5400 }],
    allowed_actions: ['update', 'keep_target', 'skip'], message: null, created_at: iso(now - 30 * 60000), resolved_at: null, resolution: null,
    explanation: { steps: [
      { field: 'activity', rule: 'name_match', mapping_id: null, text: 'type 1 "Support" matched by name activity 1 "Support"' },
      { field: 'project', rule: 'mapping', mapping_id: 3, text: 'mapping #3 (organization 10 "Acme GmbH" → project 1)' },
      { field: 'user', rule: 'email_match', mapping_id: null, text: 'matched by e-mail anna@example.com' },
    ] },
  });
  cid++;
  // Kimai refuses entries on a project that is not visible: a cause in the target, fixed there
  for (let k = 0; k < 2; k++) {
    st.conflicts.push({
      id: cid, pipeline_id: 1, reason: 'target_rejected', status: 'open',
      source: entry('kimai', `ta-${200 + k}`, { project: { key: '3', name: 'Internal' }, customer: { key: '2', name: 'Globex AG' } }), target: null, diff: [],
      allowed_actions: ['create', 'skip'], message: 'Kimai would refuse: the project “Internal” is not visible', created_at: iso(now - (10 + k) * 60000), resolved_at: null, resolution: null, origin: 'planner',
    });
    cid++;
  }
  for (const c of st.conflicts) {
    const g = groupOf(c);
    Object.assign(c, { group: g.id, cause: g.cause });
  }
  st.ids.conflict = cid;
  const actions = ['login_succeeded', 'sync_started', 'entry_created', 'sync_finished', 'conflict_raised', 'webhook_received', 'connector_updated'];
  for (let i = 1; i <= 60; i++) {
    const a = actions[i % actions.length];
    st.audit.push({ id: i, at: iso(now - i * 1800000), actor: a.startsWith('webhook') ? 'webhook' : a.startsWith('login') || a.startsWith('connector') ? 'admin' : 'system', action: a, entity_type: a.split('_')[0] === 'entry' ? 'entry' : a.split('_')[0], entity_id: String(i), details: { note: 'mock' }, ip: a.startsWith('login') ? '127.0.0.1' : null });
  }
  st.ids.audit = 61;
  return st;
}

/**
 * The cause of a conflict and how to fix it (the server's grouping, docs/api.md "Conflict groups"): a missing
 * mapping of the source's user/project/activity, a rule of the target, or the entry itself.
 */
export function groupOf(c) {
  const none = { mapping_kind: null, source_key: null, source_label: null, default_option: null, hint: null, url: null };
  const dims = { unmapped_user: ['user', null], unmapped_project: ['project', 'default_project'], unmapped_activity: ['activity', 'default_activity'] };
  let cause;
  let fix;
  if (dims[c.reason]) {
    const [kind, def] = dims[c.reason];
    const item = c.source?.[kind] ?? { key: '?' };
    const label = item.name ?? item.email ?? item.key;
    cause = { kind, key: item.key, label };
    fix = { ...none, kind: 'mapping', mapping_kind: kind, source_key: item.key, source_label: label, default_option: def };
  } else if (c.reason === 'target_rejected') {
    const pr = c.source?.project ?? { key: '?', name: '?' };
    cause = { kind: 'target_rule', key: `project_invisible:${pr.key}`, label: `Kimai project “${pr.name}” is not visible` };
    fix = { ...none, kind: 'target', hint: `Make the project “${pr.name}” visible in Kimai (Projects → ${pr.name} → Edit → Visible), then retry.`, url: `http://127.0.0.1:3002/en/admin/project/${pr.key}/edit` };
  } else {
    const key = c.source?.key ?? c.target?.key ?? String(c.id);
    cause = { kind: 'entry', key, label: c.source?.ticket ? `#${c.source.ticket.number} ${c.source.ticket.title}` : `Entry ${key}` };
    fix = { ...none, kind: 'decide' };
  }
  return { id: Buffer.from(`${c.pipeline_id}|${c.reason}|${cause.kind}|${cause.key}`).toString('base64url'), cause, fix };
}

/** Options of a request over stored ones: omitted options keep their values. */
function mergeOptions(old, input) {
  const o = { ...defaultOptions(), ...old };
  if (!input) return o;
  for (const k of ['default_project', 'default_activity', 'unmapped_user', 'match_by_name', 'include_running']) if (input[k] !== undefined && input[k] !== null) o[k] = input[k];
  for (const k of ['default_project', 'default_activity']) if (input[k] === null) o[k] = null;
  if (input.rounding !== undefined) o.rounding = input.rounding;
  if (input.mirror_projects) o.mirror_projects = { enabled: input.mirror_projects.enabled ?? o.mirror_projects.enabled, client_key: input.mirror_projects.client_key !== undefined ? input.mirror_projects.client_key : o.mirror_projects.client_key };
  return o;
}

function json(res, status, body, headers = {}) {
  const s = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(s);
}
const err = (res, status, code, message, details = {}, headers = {}) => json(res, status, { error: { code, message, details } }, headers);

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const t = Buffer.concat(chunks).toString('utf8');
  if (!t) return {};
  return JSON.parse(t);
}

export function createMockServer(st = createState()) {
  const audit = (action, entity_type, entity_id, details = {}) => st.audit.unshift({ id: st.ids.audit++, at: new Date().toISOString(), actor: 'admin', action, entity_type, entity_id: entity_id == null ? null : String(entity_id), details, ip: '127.0.0.1' });
  const page = (items, url) => {
    const limit = Math.min(500, Number(url.searchParams.get('limit') ?? 50));
    const offset = Number(url.searchParams.get('offset') ?? 0);
    return { items: items.slice(offset, offset + limit), total: items.length };
  };
  const validateConnector = (b, create) => {
    if (create && !st.kinds.some((k) => k.kind === b.kind)) return ['unknown_kind', 'unknown connector kind', { field: 'kind' }];
    if (!b.name) return ['validation_failed', 'name is required', { field: 'name' }];
    try { new URL(b.base_url); } catch { return ['validation_failed', 'base_url must be a URL', { field: 'base_url' }]; }
    if (create && !b.api_token) return ['validation_failed', 'api_token is required', { field: 'api_token' }];
    return null;
  };
  const publicConnector = (c) => {
    const { _secret, _token, ...rest } = c; // eslint-disable-line no-unused-vars
    return rest;
  };
  // the server's rules (docs/api.md "Pipelines" and "Mappings")
  const checkPipelineOptions = (b, old) => {
    const next = mergeOptions(old, b.options);
    if (next.mirror_projects.enabled) {
      const c = st.connectors.find((x) => x.id === b.source_connector_id);
      const kind = st.kinds.find((k) => k.kind === c?.kind);
      if (!kind?.features.includes('create_projects'))
        return ['validation_failed', `options.mirror_projects.enabled: the ${c?.kind} connector ${b.source_connector_id} cannot create projects, so the target's projects cannot be mirrored into it`, { field: 'options.mirror_projects.enabled', reason: `the ${c?.kind} connector ${b.source_connector_id} cannot create projects, so the target's projects cannot be mirrored into it` }];
    }
    return null;
  };
  const checkMapping = (b) => {
    const sync = b.sync ?? true;
    if (!sync && b.kind !== 'user') return ['validation_failed', 'sync: only user mappings may be excluded from sync', { field: 'sync', reason: 'only user mappings may be excluded from sync' }];
    if (sync && (b.target_key === null || b.target_key === undefined || b.target_key === '')) return ['validation_failed', 'target_key: required unless sync is false', { field: 'target_key', reason: 'required unless sync is false' }];
    return null;
  };
  const runSync = (b, dry) => {
    const id = st.ids.run++;
    const today = new Date().toISOString().slice(0, 10);
    const from = b.from || new Date(Date.now() - 30 * 86400000).toISOString().slice(0, 10);
    const pid = b.pipeline_id ?? 1;
    const pl = st.pipelines.find((x) => x.id === pid);
    // agent 5 (Chris) has no Kimai user: a conflict, unless a user mapping excludes him from sync
    const chrisExcluded = st.mappings.some((x) => x.pipeline_id === pid && x.kind === 'user' && x.source_key === '5' && x.sync === false);
    const items = [
      { source_key: 'ta-501', outcome: 'create', target_id: null, conflict_id: null, message: null },
      { source_key: 'ta-502', outcome: 'create', target_id: null, conflict_id: null, message: null },
      { source_key: 'ta-503', outcome: 'update', target_id: '912', conflict_id: null, message: 'duration changed in Zammad' },
      { source_key: 'ta-504', outcome: 'in_sync', target_id: '913', conflict_id: null, message: null },
      chrisExcluded
        ? { source_key: 'ta-505', outcome: 'skip', target_id: null, conflict_id: null, message: 'user excluded', reason: null, skip_reason: 'user_excluded' }
        : { source_key: 'ta-505', outcome: 'conflict', target_id: null, conflict_id: 3, message: 'Agent chris@contractor.example has no Kimai user', reason: 'unmapped_user' },
      // a running entry: carried only with include_running
      pl?.options?.include_running
        ? { source_key: 'ta-506', outcome: 'create', target_id: null, conflict_id: null, message: null }
        : { source_key: 'ta-506', outcome: 'skip', target_id: null, conflict_id: null, message: 'still running', skip_reason: 'still_running' },
    ];
    // what an undo took back stays quiet until it changes in the source
    for (const key of st.undone.get(pid) ?? []) items.push({ source_key: key, outcome: 'skip', target_id: null, conflict_id: null, message: 'undone: written again when it changes in the source', skip_reason: 'undone' });
    // a real run's creates get their Kimai ids
    if (!dry) items.forEach((it, k) => { if (it.outcome === 'create') it.target_id = String(5000 + id * 10 + k); });
    const count = (o) => items.filter((i) => i.outcome === o).length;
    const finalStats = { fetched: items.length, in_sync: count('in_sync'), created: count('create'), updated: count('update'), skipped: count('skip'), conflicts: count('conflict'), errors: count('error'), deleted: 0, restored: 0 };
    const run = { id, pipeline_id: pid, trigger: 'manual', dry_run: dry, status: dry ? 'succeeded' : 'running', created_at: new Date().toISOString(), started_at: new Date().toISOString(), finished_at: new Date(Date.now() + 1500).toISOString(), window: { from, to: b.to || today }, stats: finalStats, error: null, items, mirrored_projects: [] };
    st.runs.unshift(run);
    audit('sync_started', 'run', id, { dry_run: dry });
    if (!dry) {
      // a real run "progresses" for a few seconds so the UI's live status can be seen
      const final = { ...run.stats };
      run.stats = { ...final, in_sync: 0, created: 0, updated: 0, skipped: 0, conflicts: 0 };
      run.finished_at = null;
      const steps = [['in_sync', final.in_sync], ['created', final.created], ['updated', final.updated], ['skipped', final.skipped], ['conflicts', final.conflicts]];
      steps.forEach(([k, v], i) => setTimeout(() => { run.stats[k] = v; }, 800 * (i + 1)).unref?.());
      setTimeout(() => { run.status = 'succeeded'; run.finished_at = new Date().toISOString(); audit('sync_finished', 'run', id); }, 800 * (steps.length + 1)).unref?.();
    }
    return run;
  };

  /** The undo that stands for run `id` (queued, running or succeeded; a failed one may be tried again). */
  const standingUndo = (id) => st.runs.find((x) => x.undo_of === id && !x.dry_run && ['queued', 'running', 'succeeded'].includes(x.status));
  /**
   * The undo run of run `r` (docs/api.md "Undo"): each entry it created is deleted and each it updated written
   * back, unless someone changed it in the target since (a conflict). A real undo runs briefly, then succeeds,
   * and its entries are skipped by the next syncs.
   */
  const undoOf = (r, dry) => {
    const id = st.ids.run++;
    const items = r.items
      .filter((i) => i.outcome === 'create' || i.outcome === 'update')
      .map((i) => {
        const restore = i.outcome === 'update';
        if (st.editedInTarget.has(i.target_id))
          return { source_key: i.source_key, outcome: 'conflict', target_id: i.target_id, conflict_id: null, reason: 'target_modified', message: `Not undone: target entry ${i.target_id} was changed in the target after run #${r.id} wrote it; it was left as it is.` };
        const message = dry ? (restore ? 'would be written back to what it was before the run' : 'would be deleted') : restore ? 'written back to what it was before the run' : 'deleted';
        return { source_key: i.source_key, outcome: restore ? 'restore' : 'delete', target_id: i.target_id, conflict_id: null, message };
      });
    const count = (o) => items.filter((i) => i.outcome === o).length;
    const final = { fetched: items.length, in_sync: 0, created: 0, updated: 0, skipped: 0, conflicts: count('conflict'), errors: 0, deleted: count('delete'), restored: count('restore') };
    const at = new Date().toISOString();
    const run = { id, pipeline_id: r.pipeline_id, trigger: 'undo', undo_of: r.id, dry_run: dry, status: dry ? 'succeeded' : 'running', created_at: at, started_at: at, finished_at: dry ? at : null, window: r.window, stats: dry ? final : { ...final, conflicts: 0, deleted: 0, restored: 0 }, error: null, items, mirrored_projects: [] };
    if (!dry) {
      setTimeout(() => {
        Object.assign(run, { status: 'succeeded', finished_at: new Date().toISOString(), stats: final });
        const undone = st.undone.get(r.pipeline_id) ?? new Set();
        for (const i of items) if (i.outcome === 'delete' || i.outcome === 'restore') undone.add(i.source_key);
        st.undone.set(r.pipeline_id, undone);
        audit('sync_finished', 'run', id);
      }, 600).unref?.();
    }
    return run;
  };

  /**
   * The rule simulator's answer (docs/api.md "Rule simulator") from the mock's state: a proposed mapping of a
   * source item with open "unmapped" conflicts turns them into creates (or skips for an excluded person); a
   * changed or removed stored mapping changes one synced entry that uses it.
   */
  const simulationOf = (pl, proposals, options = {}) => {
    const template = st.conflicts.find((c) => c.source && c.pipeline_id === pl.id)?.source ?? st.conflicts.find((c) => c.source)?.source;
    const changes = [];
    for (const x of proposals) {
      const stored = 'delete' in x ? st.mappings.find((mp) => mp.id === x.id) : st.mappings.find((mp) => mp.pipeline_id === pl.id && mp.kind === x.kind && mp.source_key === x.source_key);
      const kind = stored?.kind ?? x.kind;
      const key = stored?.source_key ?? x.source_key;
      const written = (src, mp) => ({ ...src, system: 'kimai', key: '', [kind]: { key: mp.target_key, name: mp.target_label, ...(kind === 'user' ? { email: null } : {}) } });
      const after = (src) => ('delete' in x ? { outcome: 'conflict', target: null, reason: `unmapped_${kind}` } : x.sync === false ? { outcome: 'skip', target: null, reason: null } : { outcome: stored ? 'update' : 'create', target: written(src, x), reason: null });
      const raised = st.conflicts.filter((c) => c.pipeline_id === pl.id && c.status === 'open' && c.reason === `unmapped_${kind}` && c.source?.[kind]?.key === key);
      if (raised.length && !('delete' in x)) {
        for (const c of raised) changes.push({ source_key: c.source.key, source: c.source, before: { outcome: 'conflict', target: null, reason: c.reason }, after: after(c.source) });
      } else if (stored && template) {
        const src = { ...template, key: `ta-sim-${stored.id}`, [kind]: { key, name: stored.source_label } };
        changes.push({ source_key: src.key, source: src, before: { outcome: 'in_sync', target: written(src, stored), reason: null }, after: after(src) });
      }
    }
    // a rounding policy: one synced entry of 1:23:20 is written rounded
    const r = options.rounding;
    if (r && r.mode !== 'exact' && template) {
      const step = r.step_seconds ?? 60;
      const raw = 5000;
      const rounded = Math.max(step, (r.mode === 'up' ? Math.ceil : r.mode === 'down' ? Math.floor : Math.round)(raw / step) * step);
      const begin = Date.parse(template.begin);
      const src = { ...template, key: 'ta-sim-rounding', duration_seconds: raw, end: new Date(begin + raw * 1000).toISOString() };
      const at = (secs) => ({ ...src, system: 'kimai', key: '', duration_seconds: secs, end: new Date(begin + secs * 1000).toISOString() });
      if (rounded !== raw) changes.push({ source_key: src.key, source: src, before: { outcome: 'in_sync', target: at(raw), reason: null }, after: { outcome: 'update', target: at(rounded), reason: null } });
    }
    const by_outcome = {};
    for (const c of changes) by_outcome[c.after.outcome] = (by_outcome[c.after.outcome] ?? 0) + 1;
    return { summary: { changed: changes.length, by_outcome, entries: 24 }, changes };
  };

  async function api(req, res, url) {
    const p = url.pathname;
    const m = req.method;
    const cookie = req.headers.cookie ?? '';
    const token = /tb_session=([^;]+)/.exec(cookie)?.[1] ?? (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const authed = st.sessions.has(token);
    if (p === '/api/health') return json(res, 200, { status: 'ok', database: 'ok', version: '0.1.0-mock' });
    if (p === '/api/auth/login' && m === 'POST') {
      const b = await readBody(req);
      if (st.failures >= 5) return err(res, 429, 'rate_limited', 'Too many failed logins', {}, { 'Retry-After': '30' });
      if (b.username !== 'admin' || b.password !== st.password) {
        st.failures++;
        audit('login_failed', 'session', null);
        return err(res, 401, 'invalid_credentials', 'Invalid username or password');
      }
      st.failures = 0;
      const t = Math.random().toString(36).slice(2);
      st.sessions.add(t);
      audit('login_succeeded', 'session', null);
      return json(res, 200, { access_token: t, token_type: 'bearer', expires_in: 43200 }, { 'Set-Cookie': `tb_session=${t}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (p.startsWith('/api/webhook/')) return err(res, 401, 'bad_signature', 'missing signature');
    if (!authed) return err(res, 401, 'unauthenticated', 'Log in first');
    if (p === '/api/auth/logout' && m === 'POST') {
      st.sessions.delete(token);
      res.writeHead(204, { 'Set-Cookie': 'tb_session=; Max-Age=0; Path=/' });
      return res.end();
    }
    if (p === '/api/auth/me') return json(res, 200, { username: 'admin' });
    if (p === '/api/connectors/kinds') return json(res, 200, st.kinds);
    if (p === '/api/connectors' && m === 'GET') return json(res, 200, page(st.connectors.map(publicConnector), url));
    if (p === '/api/connectors' && m === 'POST') {
      const b = await readBody(req);
      const v = validateConnector(b, true);
      if (v) return err(res, 422, ...v);
      const { webhook_secret, ...settings } = b.settings ?? {};
      const c = { id: st.ids.connector++, kind: b.kind, name: b.name, base_url: b.base_url, settings: { ...settings, ...(b.kind === 'zammad' ? { has_webhook_secret: !!webhook_secret } : {}) }, has_token: true, created_at: new Date().toISOString(), updated_at: new Date().toISOString() };
      st.connectors.push(c);
      audit('connector_created', 'connector', c.id);
      return json(res, 201, publicConnector(c));
    }
    let mm;
    if ((mm = /^\/api\/connectors\/(\d+)$/.exec(p))) {
      const c = st.connectors.find((x) => x.id === Number(mm[1]));
      if (!c) return err(res, 404, 'not_found', 'No such connector');
      if (m === 'GET') return json(res, 200, publicConnector(c));
      if (m === 'PUT') {
        const b = await readBody(req);
        const v = validateConnector(b, false);
        if (v) return err(res, 422, ...v);
        const { webhook_secret, ...settings } = b.settings ?? {};
        Object.assign(c, { name: b.name, base_url: b.base_url, settings: { ...settings, ...(c.kind === 'zammad' ? { has_webhook_secret: c.settings.has_webhook_secret || !!webhook_secret } : {}) }, updated_at: new Date().toISOString() });
        audit('connector_updated', 'connector', c.id);
        return json(res, 200, publicConnector(c));
      }
      if (m === 'DELETE') {
        if (st.pipelines.some((x) => x.source_connector_id === c.id || x.target_connector_id === c.id)) return err(res, 409, 'in_use', 'The connector is used by a pipeline', { pipeline_ids: [1] });
        st.connectors = st.connectors.filter((x) => x !== c);
        audit('connector_deleted', 'connector', c.id);
        res.writeHead(204);
        return res.end();
      }
    }
    if ((mm = /^\/api\/connectors\/(\d+)\/test$/.exec(p))) {
      const c = st.connectors.find((x) => x.id === Number(mm[1]));
      if (!c) return err(res, 404, 'not_found', 'No such connector');
      return json(res, 200, c.base_url.includes('unreachable') ? { ok: false, message: 'connection refused', details: {} } : { ok: true, message: `Connected as admin (${c.kind} 6.4)`, details: {} });
    }
    if ((mm = /^\/api\/connectors\/(\d+)\/catalog\/(\w+)$/.exec(p))) {
      const items = st.catalogs[mm[2]];
      if (!items) return err(res, 422, 'unknown_catalog', 'Unknown catalog');
      return json(res, 200, { items });
    }
    if (p === '/api/pipelines' && m === 'GET') return json(res, 200, page(st.pipelines, url));
    if (p === '/api/pipelines' && m === 'POST') {
      const b = await readBody(req);
      if (!(b.window_days >= 1)) return err(res, 422, 'validation_failed', 'window_days must be positive', { field: 'window_days' });
      const bad = checkPipelineOptions(b, defaultOptions());
      if (bad) return err(res, 422, ...bad);
      const pl = { id: st.ids.pipeline++, enabled: true, schedule: { enabled: true, interval_minutes: 360 }, window_days: 30, ...b, options: mergeOptions(defaultOptions(), b.options) };
      st.pipelines.push(pl);
      audit('pipeline_created', 'pipeline', pl.id);
      return json(res, 201, pl);
    }
    if ((mm = /^\/api\/pipelines\/(\d+)\/simulate$/.exec(p)) && m === 'POST') {
      const pl = st.pipelines.find((x) => x.id === Number(mm[1]));
      if (!pl) return err(res, 404, 'not_found', 'Pipeline not found');
      const b = await readBody(req);
      const proposals = b.mappings ?? [];
      for (const [i, x] of proposals.entries()) {
        if ('delete' in x) {
          if (x.delete !== true) return err(res, 422, 'validation_failed', `mappings[${i}].delete: must be true (or leave the mapping out)`, { field: `mappings[${i}].delete` });
          continue;
        }
        const bad = checkMapping(x);
        if (bad) return err(res, 422, bad[0], `mappings[${i}].${bad[2].field}: ${bad[2].reason}`, { field: `mappings[${i}].${bad[2].field}` });
      }
      const r = b.options?.rounding;
      if (r && !['exact', 'up', 'down', 'nearest'].includes(r.mode)) return err(res, 422, 'validation_failed', 'options.rounding.mode: unknown mode', { field: 'options.rounding.mode' });
      return json(res, 200, simulationOf(pl, proposals, b.options ?? {}));
    }
    if ((mm = /^\/api\/pipelines\/(\d+)$/.exec(p))) {
      const pl = st.pipelines.find((x) => x.id === Number(mm[1]));
      if (!pl) return err(res, 404, 'not_found', 'No such pipeline');
      if (m === 'GET') return json(res, 200, pl);
      if (m === 'PUT') {
        const body = await readBody(req);
        const bad = checkPipelineOptions(body, pl.options);
        if (bad) return err(res, 422, ...bad);
        Object.assign(pl, { ...body, options: mergeOptions(pl.options, body.options) });
        audit('pipeline_updated', 'pipeline', pl.id);
        return json(res, 200, pl);
      }
      if (m === 'DELETE') {
        st.pipelines = st.pipelines.filter((x) => x !== pl);
        res.writeHead(204);
        return res.end();
      }
    }
    if (p === '/api/mappings' && m === 'GET') {
      const pid = url.searchParams.get('pipeline_id');
      const kind = url.searchParams.get('kind');
      return json(res, 200, page(st.mappings.filter((x) => (!pid || String(x.pipeline_id) === pid) && (!kind || x.kind === kind)), url));
    }
    if (p === '/api/mappings' && m === 'POST') {
      const b = await readBody(req);
      if (st.mappings.some((x) => x.pipeline_id === b.pipeline_id && x.kind === b.kind && x.source_key === b.source_key)) return err(res, 409, 'duplicate', 'A mapping for this source item exists');
      const bad = checkMapping(b);
      if (bad) return err(res, 422, ...bad);
      const mp = { id: st.ids.mapping++, billable: null, target_key: null, target_label: null, ...b, sync: b.sync ?? true };
      st.mappings.push(mp);
      audit('mapping_created', 'mapping', mp.id);
      return json(res, 201, mp);
    }
    if ((mm = /^\/api\/mappings\/(\d+)$/.exec(p))) {
      const mp = st.mappings.find((x) => x.id === Number(mm[1]));
      if (!mp) return err(res, 404, 'not_found', 'No such mapping');
      if (m === 'PUT') {
        const body = await readBody(req);
        const bad = checkMapping(body);
        if (bad) return err(res, 422, ...bad);
        Object.assign(mp, { target_key: null, target_label: null, ...body, sync: body.sync ?? true });
        return json(res, 200, mp);
      }
      if (m === 'DELETE') {
        st.mappings = st.mappings.filter((x) => x !== mp);
        res.writeHead(204);
        return res.end();
      }
    }
    if (p === '/api/sync/manual' && m === 'POST') {
      const b = await readBody(req);
      const busy = st.runs.find((r) => r.status === 'running' && r.pipeline_id === (b.pipeline_id ?? 1));
      if (busy) return err(res, 409, 'run_in_progress', 'A run of this pipeline is in progress', { run_id: busy.id });
      const run = runSync(b, !!b.dry_run);
      if (url.searchParams.get('wait') === 'true') return json(res, 200, run);
      return json(res, 202, { run_id: run.id });
    }
    if (p === '/api/sync/status') {
      const pid = url.searchParams.get('pipeline_id');
      const runs = st.runs.filter((r) => !r.dry_run && (!pid || String(r.pipeline_id) === pid));
      const cur = runs.find((r) => r.status === 'running' || r.status === 'queued');
      const last = runs.find((r) => r !== cur);
      const strip = (r) => (r ? { ...r, items: undefined } : null);
      return json(res, 200, { running: !!cur, current_run: strip(cur), last_run: strip(last), next_run_at: new Date(Date.now() + 3 * 3600000).toISOString() });
    }
    if (p === '/api/sync/history') return json(res, 200, page(st.runs.map(({ items, ...r }) => r), url)); // eslint-disable-line no-unused-vars
    if ((mm = /^\/api\/sync\/runs\/(\d+)$/.exec(p))) {
      const r = st.runs.find((x) => x.id === Number(mm[1]));
      return r ? json(res, 200, { ...r, undone_by: standingUndo(r.id)?.id ?? null }) : err(res, 404, 'not_found', 'No such run');
    }
    if ((mm = /^\/api\/sync\/runs\/(\d+)\/undo$/.exec(p)) && m === 'POST') {
      const id = Number(mm[1]);
      let b;
      try {
        b = await readBody(req);
      } catch (e) {
        return err(res, 400, 'bad_request', `The body is not valid: ${e.message}`);
      }
      const unknown = Object.keys(b).filter((k) => k !== 'dry_run');
      if (unknown.length) return err(res, 400, 'bad_request', `The body is not valid: unknown field \`${unknown[0]}\`, expected \`dry_run\``);
      const r = st.runs.find((x) => x.id === id);
      if (!r) return err(res, 404, 'not_found', 'Run not found');
      if (r.trigger === 'undo') return err(res, 409, 'not_undoable', `Run #${id} is itself an undo; it cannot be undone.`, { run_id: id });
      if (r.dry_run) return err(res, 409, 'not_undoable', `Run #${id} was a dry run: it wrote nothing to undo.`, { run_id: id });
      if (r.status === 'queued' || r.status === 'running') return err(res, 409, 'not_undoable', `Run #${id} is ${r.status}; undo it once it has finished.`, { run_id: id });
      const pl = st.pipelines.find((x) => x.id === r.pipeline_id);
      if (!pl.enabled) return err(res, 422, 'pipeline_disabled', `Pipeline ${pl.name} is disabled; enable it to undo its runs.`, { pipeline_id: pl.id });
      const dry = b.dry_run === true;
      const standing = standingUndo(id);
      if (!dry && standing) return err(res, 409, 'already_undone', `Run #${id} is already undone by run #${standing.id} (${standing.status}).`, { run_id: id, undo_run_id: standing.id });
      const undo = undoOf(r, dry);
      st.runs.unshift(undo);
      audit('sync_requested', 'run', undo.id, { pipeline_id: r.pipeline_id, undo_of: id, dry_run: dry });
      if (url.searchParams.get('wait') === 'true') return json(res, 200, undo);
      return json(res, 202, { run_id: undo.id });
    }
    // conflict groups (issue #18): the open conflicts by cause, fixed in place
    const conflictFilter = () => {
      const status = url.searchParams.get('status') ?? 'open';
      const reason = url.searchParams.get('reason');
      const pid = url.searchParams.get('pipeline_id');
      const drift = url.searchParams.get('drift') === 'true';
      const isDrift = (r) => r === 'target_modified' || r === 'target_deleted';
      return st.conflicts.filter((c) => (status === 'all' || c.status === status) && (!reason || c.reason === reason) && (!pid || String(c.pipeline_id) === pid) && (!drift || isDrift(c.reason)));
    };
    const groupsOf = (list) => {
      const byId = new Map();
      for (const c of list) {
        const g = groupOf(c);
        if (!byId.has(g.id)) byId.set(g.id, { ...g, pipeline_id: c.pipeline_id, reason: c.reason, conflicts: [] });
        byId.get(g.id).conflicts.push(c);
      }
      return [...byId.values()]
        .map(({ conflicts, ...g }) => {
          const newest = [...conflicts].sort((a, b) => b.created_at.localeCompare(a.created_at));
          const customers = [...new Map(conflicts.map((c) => c.source?.customer ?? c.target?.customer).filter(Boolean).map((x) => [x.key, { key: x.key, name: x.name }])).values()];
          const open = conflicts.filter((c) => c.status === 'open');
          return {
            ...g,
            count: conflicts.length,
            seconds: conflicts.reduce((n, c) => n + Math.max(0, (c.source ?? c.target)?.duration_seconds ?? 0), 0),
            customers,
            newest: { conflict_id: newest[0].id, begin: (newest[0].source ?? newest[0].target)?.begin ?? null, created_at: newest[0].created_at },
            examples: newest.slice(0, 3),
            allowed_actions: open.length ? open[0].allowed_actions : [],
          };
        })
        .sort((a, b) => b.count - a.count || a.cause.label.localeCompare(b.cause.label));
    };
    const openGroup = (id) => groupsOf(st.conflicts.filter((c) => c.status === 'open')).find((g) => g.id === id);
    const membersOf = (id) => st.conflicts.filter((c) => c.status === 'open' && c.group === id);
    const CATALOG = { user: 'users', project: 'projects', activity: 'activities' };
    const DEFAULT_DIM = { default_project: 'project', default_activity: 'activity' };
    /** The fix checked against the group: [error args] or {kind, dim, target}. */
    const checkFix = (g, fix) => {
      if (!fix || typeof fix !== 'object') return ['validation_failed', 'fix is required', { field: 'fix' }];
      if (fix.retry === true) return g.fix.kind === 'target' ? { kind: 'retry' } : ['validation_failed', 'fix: retry is only for a cause in the target', { field: 'fix.retry' }];
      const m = fix.mapping ?? fix.default;
      if (!m || g.fix.kind !== 'mapping') return ['validation_failed', 'fix: this group is not fixed by a mapping', { field: 'fix' }];
      const dim = fix.mapping ? m.kind : DEFAULT_DIM[m.option];
      if (fix.default && m.option !== g.fix.default_option) return ['validation_failed', 'fix.default.option does not fit the group', { field: 'fix.default.option' }];
      if (fix.mapping && (m.kind !== g.fix.mapping_kind || m.source_key !== g.fix.source_key)) return ['validation_failed', 'fix.mapping does not fit the group', { field: 'fix.mapping' }];
      const t = st.catalogs[CATALOG[dim]]?.find((x) => x.key === m.target_key);
      if (!t) return ['validation_failed', `fix: no ${dim} ${m.target_key} in the target`, { field: fix.mapping ? 'fix.mapping.target_key' : 'fix.default.target_key' }];
      return { kind: fix.mapping ? 'mapping' : 'default', dim, target: t, billable: m.billable ?? null };
    };
    const previewOf = (g, f) => {
      const items = membersOf(g.id).map((c) => {
        if (f.kind === 'retry') return { conflict_id: c.id, source_key: c.source?.key ?? '', outcome: 'conflict', entry: null, reason: 'target_rejected', message: c.message };
        const e = { ...c.source, system: 'kimai', key: c.source?.key ?? '' };
        e[f.dim] = f.dim === 'user' ? { key: f.target.key, name: f.target.label, email: f.target.extra?.email ?? null } : { key: f.target.key, name: f.target.label };
        return { conflict_id: c.id, source_key: c.source?.key ?? '', outcome: 'create', entry: e, reason: null, message: null };
      });
      const summary = { create: 0, update: 0, in_sync: 0, skip: 0, conflict: 0, not_found: 0 };
      for (const i of items) summary[i.outcome]++;
      return { group: g.id, total: items.length, summary, items: items.slice(0, 100) };
    };
    if (p === '/api/conflicts/drift' && m === 'GET') {
      const n = Number(url.searchParams.get('days') ?? 30);
      if (!(n >= 1 && n <= 366)) return err(res, 400, 'bad_request', 'days: must be 1 to 366');
      const pid = url.searchParams.get('pipeline_id');
      const days = [];
      const today = new Date();
      for (let i = n - 1; i >= 0; i--) {
        const date = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10);
        const of = (r) => st.conflicts.filter((c) => c.reason === r && c.created_at.slice(0, 10) === date && (!pid || String(c.pipeline_id) === pid)).length;
        days.push({ date, target_modified: of('target_modified'), target_deleted: of('target_deleted') });
      }
      return json(res, 200, { from: days[0].date, to: days[days.length - 1].date, days });
    }
    if (p === '/api/conflicts/groups' && m === 'GET') {
      const items = groupsOf(conflictFilter());
      return json(res, 200, { items, total: items.length });
    }
    if (p === '/api/conflicts/groups/suggestions' && m === 'GET') {
      const g = openGroup(url.searchParams.get('group'));
      if (!g) return err(res, 404, 'not_found', 'No such group');
      if (g.fix.kind !== 'mapping' || !g.fix.mapping_kind) return json(res, 200, { items: [] });
      const src = membersOf(g.id)[0]?.source?.[g.fix.mapping_kind] ?? {};
      const name = (g.fix.source_label ?? '').toLowerCase();
      const items = [];
      for (const t of st.catalogs[CATALOG[g.fix.mapping_kind]] ?? []) {
        const email = typeof t.extra?.email === 'string' ? t.extra.email.toLowerCase() : null;
        const label = t.label.toLowerCase();
        if (email && src.email && email === src.email.toLowerCase()) items.push({ target_key: t.key, target_label: t.label, why: 'same_email', score: 1 });
        else if (label === name) items.push({ target_key: t.key, target_label: t.label, why: 'same_name', score: 0.9 });
        else if (name && name.split(/\s+/).includes(label)) items.push({ target_key: t.key, target_label: t.label, why: 'similar_name', score: 0.7 });
      }
      return json(res, 200, { items: items.sort((a, b) => b.score - a.score) });
    }
    if (p === '/api/conflicts/groups/preview' && m === 'POST') {
      const b = await readBody(req);
      const g = openGroup(b.group);
      if (!g) return err(res, 404, 'not_found', 'No such group (fixed or resolved meanwhile?)');
      const f = checkFix(g, b.fix);
      if (Array.isArray(f)) return err(res, 422, ...f);
      return json(res, 200, previewOf(g, f));
    }
    if (p === '/api/conflicts/groups/apply' && m === 'POST') {
      const b = await readBody(req);
      const g = openGroup(b.group);
      if (!g) return err(res, 404, 'not_found', 'No such group (fixed or resolved meanwhile?)');
      const f = checkFix(g, b.fix);
      if (Array.isArray(f)) return err(res, 422, ...f);
      const pl = st.pipelines.find((x) => x.id === g.pipeline_id);
      if (st.runs.some((r) => r.pipeline_id === g.pipeline_id && (r.status === 'running' || r.status === 'queued'))) return err(res, 409, 'run_in_progress', 'A run of this pipeline is in progress');
      let mappingId = null;
      if (f.kind === 'mapping') {
        const old = st.mappings.find((x) => x.pipeline_id === g.pipeline_id && x.kind === f.dim && x.source_key === g.fix.source_key);
        const mp = old ?? { id: st.ids.mapping++, pipeline_id: g.pipeline_id, kind: f.dim, source_key: g.fix.source_key, source_label: g.fix.source_label };
        Object.assign(mp, { target_key: f.target.key, target_label: f.target.label, billable: f.dim === 'user' ? null : f.billable, sync: true });
        if (!old) st.mappings.push(mp);
        mappingId = mp.id;
        audit(old ? 'mapping_updated' : 'mapping_created', 'mapping', mp.id);
      } else if (f.kind === 'default') {
        pl.options = { ...pl.options, [g.fix.default_option]: f.target.key };
        audit('pipeline_updated', 'pipeline', pl.id);
      }
      // a `resolution` run writes the group's entries: queued, then running with progress, then finished
      const plan = previewOf(g, f);
      const members = membersOf(g.id);
      const id = st.ids.run++;
      const today = new Date().toISOString().slice(0, 10);
      const run = { id, pipeline_id: g.pipeline_id, trigger: 'resolution', dry_run: false, status: 'queued', created_at: new Date().toISOString(), started_at: null, finished_at: null, window: { from: today, to: today }, stats: { fetched: members.length, in_sync: 0, created: 0, updated: 0, skipped: 0, conflicts: 0, errors: 0, deleted: 0, restored: 0 }, error: null, items: [], mirrored_projects: [] };
      st.runs.unshift(run);
      const step = 500;
      setTimeout(() => Object.assign(run, { status: 'running', started_at: new Date().toISOString(), progress: { phase: 'writing', done: 0, total: members.length } }), step).unref?.();
      plan.items.forEach((it, i) =>
        setTimeout(() => {
          run.progress.done = i + 1;
          if (it.outcome === 'create') run.stats.created++;
          else run.stats.conflicts++;
          run.items.push({ source_key: it.source_key, outcome: it.outcome, target_id: it.outcome === 'create' ? String(2000 + it.conflict_id) : null, conflict_id: it.outcome === 'conflict' ? it.conflict_id : null, message: it.message, reason: it.reason });
        }, step * (i + 2)).unref?.(),
      );
      setTimeout(() => {
        for (const c of members) {
          if (f.kind !== 'retry') Object.assign(c, { status: 'resolved', resolved_at: new Date().toISOString(), resolution: { action: 'create', note: null, at: new Date().toISOString() } });
        }
        delete run.progress;
        Object.assign(run, { status: 'succeeded', finished_at: new Date().toISOString() });
        audit('sync_finished', 'run', id);
      }, step * (plan.items.length + 2)).unref?.();
      audit('sync_started', 'run', id, { trigger: 'resolution' });
      return json(res, 202, { run_id: id, mapping_id: mappingId });
    }
    if (p === '/api/conflicts/groups/resolve' && m === 'POST') {
      const b = await readBody(req);
      if (!['skip', 'keep_target'].includes(b.action)) return err(res, 422, 'validation_failed', 'action must be skip or keep_target', { field: 'action' });
      const g = openGroup(b.group);
      if (!g) return err(res, 404, 'not_found', 'No such group');
      let resolved = 0;
      let failed = 0;
      const errors = [];
      for (const c of membersOf(g.id)) {
        if (!c.allowed_actions.includes(b.action)) {
          failed++;
          errors.push(`conflict ${c.id}: ${b.action} is not allowed`);
          continue;
        }
        Object.assign(c, { status: 'resolved', resolved_at: new Date().toISOString(), resolution: { action: b.action, note: b.note ?? null, at: new Date().toISOString() } });
        audit('conflict_resolved', 'conflict', c.id, { action: b.action });
        resolved++;
      }
      return json(res, 200, { resolved, failed, errors });
    }
    if (p === '/api/conflicts') {
      return json(res, 200, page(conflictFilter(), url));
    }
    if ((mm = /^\/api\/conflicts\/(\d+)(\/resolve)?$/.exec(p))) {
      const c = st.conflicts.find((x) => x.id === Number(mm[1]));
      if (!c) return err(res, 404, 'not_found', 'No such conflict');
      if (!mm[2]) return json(res, 200, c);
      const b = await readBody(req);
      if (c.status === 'resolved') return err(res, 409, 'already_resolved', 'The conflict is already resolved');
      if (!c.allowed_actions.includes(b.action)) return err(res, 422, 'action_not_allowed', `Action ${b.action} is not allowed here`, { field: 'action' });
      if (b.action === 'link' && !b.target_id) return err(res, 422, 'validation_failed', 'target_id is required for link', { field: 'target_id' });
      if (b.action === 'create' && c.reason.startsWith('unmapped')) return err(res, 409, 'still_unmapped', 'The entry still does not resolve: add the mapping first');
      Object.assign(c, { status: 'resolved', resolved_at: new Date().toISOString(), resolution: { action: b.action, note: b.note ?? null, at: new Date().toISOString() } });
      audit('conflict_resolved', 'conflict', c.id, { action: b.action });
      return json(res, 200, c);
    }
    const auditFilter = () => {
      const a = url.searchParams.get('action');
      const e = url.searchParams.get('entity_type');
      const since = url.searchParams.get('since');
      const until = url.searchParams.get('until');
      return st.audit.filter((x) => (!a || x.action === a) && (!e || x.entity_type === e) && (!since || x.at >= since) && (!until || x.at <= until));
    };
    if (p === '/api/audit') return json(res, 200, page(auditFilter(), url));
    if (p === '/api/audit/export') {
      res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="audit.csv"' });
      return res.end('id,at,actor,action,entity_type,entity_id,ip\n' + auditFilter().map((x) => [x.id, x.at, x.actor, x.action, x.entity_type, x.entity_id ?? '', x.ip ?? ''].join(',')).join('\n') + '\n');
    }
    if (p === '/api/reports/money-at-risk') {
      const now = new Date();
      const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
      const month = url.searchParams.get('month') ?? current;
      if (!/^\d{4}-\d{2}$/.test(month)) return err(res, 400, 'validation_failed', 'month must be YYYY-MM', { field: 'month' });
      const pid = url.searchParams.get('pipeline_id');
      const pipelines = st.pipelines.filter((x) => !pid || x.id === Number(pid));
      if (pid && pipelines.length === 0) return err(res, 404, 'not_found', 'Pipeline not found');
      // The mock's month at risk: the current month has the first pipeline's customers (two rates, one unmapped) and
      // the second pipeline's unpriced time; other months have nothing.
      const rows = month !== current ? [] : pipelines.flatMap((pl, i) =>
        (i === 0 && pl.id === st.pipelines[0].id
          ? [
              { customer: { key: '1', name: 'Acme Logistics GmbH' }, side: 'target', entries: 4, seconds_unsynced: 7200, seconds_in_conflict: 1800, seconds_refused: 1800, seconds_unpriced: 0, rate: 95, amount: 237.5, currency: 'EUR' },
              { customer: { key: '2', name: 'Bergmann Dental' }, side: 'target', entries: 3, seconds_unsynced: 5400, seconds_in_conflict: 0, seconds_refused: 0, seconds_unpriced: 0, rate: null, amount: 160, currency: 'EUR' },
              { customer: { key: '7', name: 'Zammad org 7' }, side: 'source', entries: 1, seconds_unsynced: 0, seconds_in_conflict: 2700, seconds_refused: 0, seconds_unpriced: 2700, rate: null, amount: null, currency: null },
            ]
          : [{ customer: { key: null, name: null }, side: 'target', entries: 2, seconds_unsynced: 3600, seconds_in_conflict: 0, seconds_refused: 0, seconds_unpriced: 3600, rate: null, amount: null, currency: null }]
        ).map((r) => ({ pipeline_id: pl.id, pipeline_name: pl.name, ...r })),
      );
      const sum = (k) => rows.reduce((a, r) => a + r[k], 0);
      const priced = rows.filter((r) => r.amount !== null);
      const report = {
        month, timezone: 'UTC', from: `${month}-01T00:00:00Z`, to: `${month}-01T00:00:00Z`,
        currency: priced.length ? 'EUR' : null,
        rows,
        total: priced.length ? Math.round(priced.reduce((a, r) => a + r.amount * 100, 0)) / 100 : null,
        totals: { entries: sum('entries'), seconds_unsynced: sum('seconds_unsynced'), seconds_in_conflict: sum('seconds_in_conflict'), seconds_refused: sum('seconds_refused'), seconds_unpriced: sum('seconds_unpriced') },
        pipelines: pipelines.map((pl, i) => ({ id: pl.id, name: pl.name, priced: i === 0, error: null })),
      };
      if (url.searchParams.get('format') === 'csv') {
        res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="money-at-risk-${month}.csv"` });
        return res.end('pipeline_id,pipeline,side,customer_key,customer,amount\r\n' + rows.map((r) => [r.pipeline_id, r.pipeline_name, r.side, r.customer.key ?? '', r.customer.name ?? '', r.amount ?? ''].join(',')).join('\r\n') + '\r\n');
      }
      return json(res, 200, report);
    }
    if (p === '/api/gdpr/export') {
      const email = url.searchParams.get('email');
      if (!email) return err(res, 400, 'validation_failed', 'email is required', { field: 'email' });
      return json(res, 200, { email, entries: [], conflicts: st.conflicts.filter((c) => c.source?.user?.email === email).map((c) => c.id), audit_events: [] });
    }
    if (p === '/api/gdpr/purge' && m === 'POST') {
      const b = await readBody(req);
      return json(res, 200, { deleted: { entries: 2, conflicts: 1, run_items: 4, audit_events: 0 }, email: b.email ? '(redacted)' : null });
    }
    if (p === '/api/settings') {
      if (m === 'PUT') {
        const b = await readBody(req);
        if (!(Number.isInteger(b.retention_days) && b.retention_days >= 1)) return err(res, 422, 'validation_failed', 'retention_days must be a positive integer', { field: 'retention_days' });
        st.settings = { ...st.settings, ...b };
        audit('settings_updated', 'settings', null);
      }
      return json(res, 200, st.settings);
    }
    return err(res, 404, 'not_found', `No route ${m} ${p}`);
  }

  async function serveStatic(req, res, url) {
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(DIST, rel);
    try {
      const s = await stat(file);
      if (s.isDirectory()) file = join(DIST, 'index.html');
    } catch {
      if (rel.startsWith('/assets/')) {
        res.writeHead(404);
        return res.end('not found');
      }
      file = join(DIST, 'index.html');
    }
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      res.writeHead(500);
      res.end('dist/ missing: run npm run build');
    }
  }

  return createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname.startsWith('/api/')) return await api(req, res, url);
      return await serveStatic(req, res, url);
    } catch (e) {
      err(res, 500, 'internal', String(e));
    }
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  createMockServer().listen(port, '127.0.0.1', () => console.log(`timebridge mock API + UI on http://127.0.0.1:${port} (admin / ${process.env.MOCK_ADMIN_PASSWORD || 'admin-password'})`));
}
