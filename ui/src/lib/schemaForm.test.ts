import { describe, expect, it } from 'vitest';
import { hasSecret, initialValues, schemaFields, toPayload, validateValues } from './schemaForm';

const zammad = {
  type: 'object',
  properties: {
    time_unit_minutes: { type: 'number', default: 1.0, exclusiveMinimum: 0, title: 'Minutes per time unit' },
    time_placement: { type: 'string', enum: ['end_at_created', 'begin_at_created'], default: 'end_at_created' },
    webhook_secret: { type: 'string', writeOnly: true },
    retries: { type: 'integer', minimum: 0 },
    enabled: { type: 'boolean', default: true },
    timezone: { type: ['string', 'null'] },
  },
  required: ['time_placement'],
};

describe('settings schema forms', () => {
  const fields = schemaFields(zammad);
  it('derives field types', () => {
    expect(fields.map((f) => [f.name, f.type])).toEqual([
      ['time_unit_minutes', 'number'],
      ['time_placement', 'enum'],
      ['webhook_secret', 'string'],
      ['retries', 'integer'],
      ['enabled', 'boolean'],
      ['timezone', 'string'],
    ]);
    expect(fields[0]!.title).toBe('Minutes per time unit');
    expect(fields[1]!.title).toBe('Time placement');
    expect(fields[2]!.writeOnly).toBe(true);
  });
  it('prefills defaults, never secrets', () => {
    expect(initialValues(fields)).toEqual({ time_unit_minutes: '1', time_placement: 'end_at_created', webhook_secret: '', retries: '', enabled: true, timezone: '' });
    expect(initialValues(fields, { time_unit_minutes: 15, webhook_secret: 'x' }).webhook_secret).toBe('');
    expect(initialValues(fields, { time_unit_minutes: 15 }).time_unit_minutes).toBe('15');
  });
  it('validates', () => {
    const v = initialValues(fields);
    expect(validateValues(fields, v)).toEqual({});
    expect(validateValues(fields, { ...v, time_unit_minutes: '0' }).time_unit_minutes).toMatch(/greater than 0/);
    expect(validateValues(fields, { ...v, retries: '1.5' }).retries).toMatch(/whole/);
    expect(validateValues(fields, { ...v, time_placement: '' }).time_placement).toMatch(/required/);
    expect(validateValues(fields, { ...v, time_placement: 'x' }).time_placement).toMatch(/one of/);
  });
  it('builds a typed payload and keeps secrets when empty', () => {
    const p = toPayload(fields, { ...initialValues(fields), time_unit_minutes: '0.5', retries: '3' });
    expect(p).toEqual({ time_unit_minutes: 0.5, time_placement: 'end_at_created', retries: 3, enabled: true });
    expect(toPayload(fields, { ...initialValues(fields), webhook_secret: 's3cret' }).webhook_secret).toBe('s3cret');
  });
  it('detects stored secrets', () => {
    expect(hasSecret('webhook_secret', { has_webhook_secret: true })).toBe(true);
    expect(hasSecret('webhook_secret', {}, { has_webhook_secret: true })).toBe(true);
    expect(hasSecret('webhook_secret', {})).toBe(false);
  });
  it('treats the kind’s secret settings as write-only', () => {
    const withSecret = schemaFields({ type: 'object', properties: { signing_secret: { type: 'string' }, channel: { type: 'string' } } }, ['signing_secret']);
    expect(withSecret.map((f) => [f.name, f.writeOnly])).toEqual([
      ['signing_secret', true],
      ['channel', false],
    ]);
    expect(initialValues(withSecret, { signing_secret: 'x', channel: '#ops' })).toEqual({ signing_secret: '', channel: '#ops' });
  });
  it('ignores non-objects', () => {
    expect(schemaFields(null)).toEqual([]);
  });
});

describe('list settings', () => {
  it('edits an array of strings as text separated by commas or lines', () => {
    const fields = schemaFields({ type: 'object', properties: { to: { type: 'array', items: { type: 'string' }, title: 'Recipients' } } });
    expect(fields[0]?.type).toBe('list');
    const values = initialValues(fields, { to: ['a@example.com', 'b@example.com'] });
    expect(values.to).toBe('a@example.com, b@example.com');
    expect(toPayload(fields, { to: 'a@example.com,\n b@example.com, ' })).toEqual({ to: ['a@example.com', 'b@example.com'] });
    expect(toPayload(fields, { to: ' ' })).toEqual({});
  });
});
