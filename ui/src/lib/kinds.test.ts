import { describe, expect, it } from 'vitest';
import {
  connectorsWithRole,
  dimensionCatalog,
  dimensionLabel,
  dimensionWord,
  kindLabel,
  labelOfKind,
  labelsWithRole,
  listWords,
  mappableDimensions,
  mappingTitle,
  plural,
  webhookUrl,
  withArticle,
  type KindLike,
} from './kinds';

// Shaped like the server's `GET /api/connectors/kinds` items.
const zammad: KindLike = {
  kind: 'zammad',
  label: 'Zammad',
  roles: ['source'],
  dimensions: { activity: 'type', project: 'organization', user: 'agent' },
  dimension_catalogs: { activity: 'types', project: 'organizations', user: 'agents' },
  secret_settings: ['webhook_secret'],
  webhook: { path: '/api/webhook/zammad/{connector_id}', signature: 'X-Hub-Signature: sha1=…' },
};
const kimai: KindLike = {
  kind: 'kimai',
  label: 'Kimai',
  roles: ['target'],
  dimensions: { activity: 'activity', project: 'project', user: 'user' },
  dimension_catalogs: { activity: 'activities', project: 'projects', user: 'users' },
  secret_settings: [],
  webhook: null,
};
const clockify: KindLike = { kind: 'clockify', label: 'Clockify', roles: ['source', 'target'], dimensions: { activity: 'task', project: 'project', user: 'user' } };
const odoo: KindLike = { kind: 'odoo', label: 'Odoo', roles: ['target', 'source'], dimensions: { activity: 'task', project: 'project', user: 'employee' } };
const calendar: KindLike = { kind: 'google_calendar', label: 'Google Calendar', roles: ['source'], dimensions: { activity: null, project: 'project', user: null } };
const slack: KindLike = { kind: 'slack', label: 'Slack', roles: ['notifier'], dimensions: { activity: null, project: null, user: null } };

describe('labels from the kinds', () => {
  it('names a dimension with the kind label and its own word', () => {
    expect(dimensionLabel(zammad, 'activity')).toBe('Zammad type');
    expect(dimensionLabel(zammad, 'project')).toBe('Zammad organization');
    expect(dimensionLabel(zammad, 'user')).toBe('Zammad agent');
    expect(dimensionLabel(kimai, 'activity')).toBe('Kimai activity');
    expect(dimensionLabel(odoo, 'user')).toBe('Odoo employee');
  });
  it('titles a mapping from source to target', () => {
    expect(mappingTitle(zammad, kimai, 'activity')).toBe('Zammad type → Kimai activity');
    expect(mappingTitle(zammad, kimai, 'project')).toBe('Zammad organization → Kimai project');
    expect(mappingTitle(zammad, kimai, 'user')).toBe('Zammad agent → Kimai user');
    expect(mappingTitle(clockify, odoo, 'project')).toBe('Clockify project → Odoo project');
  });
  it('falls back to the kind and the hub word for a kind the server does not describe', () => {
    expect(kindLabel({ kind: 'legacy' })).toBe('legacy');
    expect(kindLabel(undefined)).toBe('Unknown');
    expect(dimensionWord({ kind: 'legacy' }, 'project')).toBe('project');
    expect(labelOfKind([zammad, kimai], 'kimai')).toBe('Kimai');
    expect(labelOfKind([zammad, kimai], 'legacy')).toBe('legacy');
  });
  it('knows which dimensions a pair can map', () => {
    expect(mappableDimensions(zammad, kimai)).toEqual(['activity', 'project', 'user']);
    expect(mappableDimensions(calendar, kimai)).toEqual(['project']);
    expect(dimensionWord(calendar, 'activity')).toBeNull();
  });
  it('takes the catalog of a dimension from the kind', () => {
    expect(dimensionCatalog(zammad, 'activity')).toBe('types');
    expect(dimensionCatalog(kimai, 'user')).toBe('users');
    expect(dimensionCatalog(clockify, 'project')).toBeUndefined();
  });
});

describe('roles', () => {
  const kinds = [zammad, kimai, clockify, slack];
  const connectors = [
    { id: 1, kind: 'zammad' },
    { id: 2, kind: 'kimai' },
    { id: 3, kind: 'clockify' },
    { id: 4, kind: 'slack' },
    { id: 5, kind: 'unknown' },
  ];
  it('offers sources and targets by role; a notifier never', () => {
    expect(connectorsWithRole(connectors, kinds, 'source').map((c) => c.id)).toEqual([1, 3]);
    expect(connectorsWithRole(connectors, kinds, 'target').map((c) => c.id)).toEqual([2, 3]);
    expect(connectorsWithRole(connectors, kinds, 'notifier').map((c) => c.id)).toEqual([4]);
  });
  it('lists the labels of a role', () => {
    expect(labelsWithRole(kinds, 'source')).toEqual(['Zammad', 'Clockify']);
    expect(listWords(labelsWithRole(kinds, 'target'))).toBe('Kimai and Clockify');
    expect(listWords(['A', 'B', 'C'], 'or')).toBe('A, B or C');
    expect(listWords([])).toBe('');
  });
});

describe('words', () => {
  it('pluralizes dimension words', () => {
    expect(['type', 'activity', 'agent', 'person', 'task', 'employee', 'organization'].map(plural)).toEqual([
      'types',
      'activities',
      'agents',
      'people',
      'tasks',
      'employees',
      'organizations',
    ]);
  });
  it('puts the right article', () => {
    expect(withArticle('organization')).toBe('an organization');
    expect(withArticle('Zammad type')).toBe('a Zammad type');
  });
});

describe('webhook URL', () => {
  it('fills the connector id into the kind’s path', () => {
    expect(webhookUrl('https://tb.example.com/', zammad, 7)).toBe('https://tb.example.com/api/webhook/zammad/7');
    expect(webhookUrl('https://tb.example.com', kimai, 7)).toBeNull();
  });
});
