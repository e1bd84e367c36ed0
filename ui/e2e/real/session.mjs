// What every browser test against the REAL server shares (e2e/run.sh starts the server and the
// simulators and sets TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD and <SYSTEM>_URL / <SYSTEM>_TOKEN):
// a logged-in Chromium page for the describe block, the API called from that page (its session
// cookie), runs polled to their end with a deadline, screenshots once nothing is loading, and the
// setup of a file's own connectors, pipeline and mappings.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { launch, login, shot } from '../lib.mjs';

export const BASE = (process.env.TIMEBRIDGE_URL ?? '').replace(/\/$/, '');
export const RUN_TIMEOUT = Number(process.env.E2E_RUN_TIMEOUT_MS || 180_000);

/** The describe option `skip`: false when every variable is set, else why the file is skipped. */
export function skipUnless(needed) {
  const missing = needed.filter((n) => !process.env[n]);
  return missing.length ? `needs ${missing.join(', ')} (run e2e/run.sh)` : false;
}

/**
 * A browser logged in for the enclosing describe block (registers its `before`/`after`), and the
 * helpers that use its page. `s.b` and `s.page` are set once `before` has run.
 */
export function realSession() {
  const s = { b: null, page: null };
  before(async () => {
    s.b = await launch();
    s.page = s.b.page;
    await login(s.page, BASE, process.env.TIMEBRIDGE_ADMIN_PASSWORD);
  });
  after(async () => {
    await s.b?.browser.close();
  });

  s.noConsoleErrors = () => assert.deepEqual(s.b.consoleErrors, [], 'console errors');

  /** Calls the API from the page (its session); asserts a 2xx and returns the JSON body. */
  s.call = async (method, path, body) => {
    const r = await s.page.evaluate(
      async ([m, p, bd]) => {
        const res = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: bd === undefined ? undefined : JSON.stringify(bd) });
        return { status: res.status, body: res.status === 204 ? null : await res.json() };
      },
      [method, path, body],
    );
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  /** Polls `GET /api/sync/runs/{id}` until the run has finished (deadline RUN_TIMEOUT). */
  s.waitForRun = async (id) => {
    const deadline = Date.now() + RUN_TIMEOUT;
    for (;;) {
      const run = await s.call('GET', `/api/sync/runs/${id}`);
      if (!['queued', 'running'].includes(run.status)) return run;
      assert.ok(Date.now() < deadline, `run #${id} still ${run.status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  /** Screenshot into docs/screenshots once no "Loading…"/"Reading…" indicator is left. */
  s.snap = async (name) => {
    await s.page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading|Reading/.test(e.textContent ?? '')));
    await shot(s.page, name);
  };

  /** The catalog `what` of connector `id` (its items). */
  s.catalog = async (id, what) => (await s.call('GET', `/api/connectors/${id}/catalog/${what}`)).items;

  /**
   * A pipeline of the file's own, without a schedule, between two new connectors of the simulators
   * `source` and `target` (`{ kind, system }`: `system` names the `<SYSTEM>_URL`/`_TOKEN` variables).
   */
  s.pipeline = async ({ name, source, target, windowDays = 30 }) => {
    const suffix = Date.now().toString(36);
    const connector = (c, role) =>
      s.call('POST', '/api/connectors', {
        kind: c.kind,
        name: `${c.kind} ${role} for ${name} ${suffix}`,
        base_url: process.env[`${c.system}_URL`],
        api_token: process.env[`${c.system}_TOKEN`],
        settings: {},
      });
    const src = await connector(source, 'source');
    const tgt = await connector(target, 'target');
    const pipeline = await s.call('POST', '/api/pipelines', {
      name: `${name} ${suffix}`,
      source_connector_id: src.id,
      target_connector_id: tgt.id,
      schedule: { enabled: false, interval_minutes: 360 },
      window_days: windowDays,
    });
    return { source: src, target: tgt, pipeline };
  };

  /** Stores a mapping of `pipelineId` from a source catalog item to a target one (or none). */
  s.map = (pipelineId, kind, source, target, extra = {}) =>
    s.call('POST', '/api/mappings', { pipeline_id: pipelineId, kind, source_key: source.key, source_label: source.label, target_key: target?.key ?? null, target_label: target?.label ?? null, ...extra });

  /** Zammad types → Kimai activities and organizations → projects of the same name, as the seed pairs them. */
  s.mapZammadToKimaiByName = async (pipelineId, zammad, kimai) => {
    const activities = await s.catalog(kimai.id, 'activities');
    for (const t of await s.catalog(zammad.id, 'types')) {
      const a = activities.find((x) => x.label === t.label);
      if (a) await s.map(pipelineId, 'activity', t, a);
    }
    const projects = await s.catalog(kimai.id, 'projects');
    for (const o of await s.catalog(zammad.id, 'organizations')) {
      const p = projects.find((x) => x.label === `${o.label} / ${o.label}`);
      if (p) await s.map(pipelineId, 'project', o, p);
    }
  };
  return s;
}
