import { describe, expectTypeOf, it } from 'vitest';
import { api, href, narrow, type Answer, type Init, type PathsWith } from './client';
import type { components } from './schema';
import type { Conflict } from './types';

type S = components['schemas'];

/**
 * Type-level tests of the typed client: checked by `npm run typecheck` (tsc over src/), where an
 * unused `@ts-expect-error` is itself an error. The calls sit in functions that never run.
 */
describe('the typed api client', () => {
  it('only accepts paths and methods the server document has', () => {
    expectTypeOf<'/api/connectors/{id}'>().toExtend<PathsWith<'get'>>();
    expectTypeOf<'/api/sync/manual'>().toExtend<PathsWith<'post'>>();
    expectTypeOf<'/api/stats/daily'>().not.toExtend<PathsWith<'get'>>();
    expectTypeOf<'/api/sync/manual'>().not.toExtend<PathsWith<'get'>>();
    expectTypeOf<'/api/health'>().not.toExtend<PathsWith<'delete'>>();
    const _never = () => {
      // @ts-expect-error the server has no daily stats route
      void api.get('/api/stats/daily', { query: { days: 30 } });
      // @ts-expect-error POST only
      void api.get('/api/sync/manual');
      // @ts-expect-error a concrete path instead of the template
      void api.get('/api/connectors/5');
    };
    void _never;
  });

  it('requires path parameters, bodies and required queries of the right types', () => {
    const _never = () => {
      // @ts-expect-error the template has an {id}
      void api.get('/api/connectors/{id}');
      // @ts-expect-error id is a number
      void api.get('/api/connectors/{id}', { params: { id: 'x' } });
      void api.get('/api/connectors/{id}', { params: { id: 1 } });
      // @ts-expect-error a body is required
      void api.post('/api/auth/login');
      // @ts-expect-error the login body has username and password
      void api.post('/api/auth/login', { body: { user: 'a' } });
      void api.post('/api/auth/login', { body: { username: 'a', password: 'b' }, skipAuthRedirect: true });
      // @ts-expect-error logout takes no body
      void api.post('/api/auth/logout', { body: { a: 1 } });
      // @ts-expect-error the group is a required query parameter
      void api.get('/api/conflicts/groups/suggestions');
      void api.get('/api/conflicts/groups/suggestions', { query: { group: 'g' } });
      // @ts-expect-error not a conflict reason
      void api.get('/api/conflicts', { query: { reason: 'no_such_reason' } });
      // @ts-expect-error the list takes no such filter
      void api.get('/api/connectors', { query: { kind: 'kimai' } });
      // the undo body is optional
      void api.post('/api/sync/runs/{id}/undo', { params: { id: 1 } });
    };
    void _never;
    expectTypeOf<Init<'/api/health', 'get'>>().toEqualTypeOf<Init<'/api/health', 'get'>>();
  });

  it('types link URLs like GETs', () => {
    expectTypeOf(href('/api/audit/export', { query: { action: 'login_failed' } })).toEqualTypeOf<string>();
    const _never = () => {
      // @ts-expect-error the CSV format is `csv`
      href('/api/reports/money-at-risk', { query: { format: 'xlsx' } });
      // @ts-expect-error the OAuth start needs the connector's id
      href('/api/connectors/{id}/oauth/start');
      // @ts-expect-error no such route
      href('/api/stats/daily');
    };
    void _never;
  });

  it('types the answers from the document', () => {
    expectTypeOf<Answer<'/api/connectors/{id}', 'get'>>().toEqualTypeOf<S['Connector']>();
    expectTypeOf<Answer<'/api/auth/logout', 'post'>>().toEqualTypeOf<undefined>();
    expectTypeOf<Answer<'/api/sync/manual', 'post'>>().toEqualTypeOf<S['RunDetail'] | S['Queued']>();
    expectTypeOf<Answer<'/api/audit/export', 'get'>>().toEqualTypeOf<string>();
    const _never = async () => {
      const c = await api.get('/api/connectors/{id}', { params: { id: 1 } });
      expectTypeOf(c.name).toEqualTypeOf<string>();
      // @ts-expect-error a connector's name is a string
      expectTypeOf(c.name).toEqualTypeOf<number>();
      const r = await api.post('/api/sync/manual', { body: { pipeline_id: 1, dry_run: true } });
      // @ts-expect-error 202 answers a bare run id: `status` needs narrowing first
      void r.status;
    };
    void _never;
  });

  it('narrows an answer only to a subtype of it', () => {
    const _never = async () => {
      const c = await narrow(api.get('/api/conflicts/{id}', { params: { id: 1 } })).to<Conflict>();
      expectTypeOf(c).toEqualTypeOf<Conflict>();
      // @ts-expect-error a conflict is not a connector
      void narrow(api.get('/api/conflicts/{id}', { params: { id: 1 } })).to<S['Connector']>();
    };
    void _never;
  });
});
