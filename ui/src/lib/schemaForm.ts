/** Turns a connector kind's `settings_schema` (JSON Schema) into form fields, values and payloads. */

/** `list`: an array of strings, edited as text separated by commas or new lines. */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'list';

export interface SchemaField {
  name: string;
  type: FieldType;
  title: string;
  description?: string;
  default?: unknown;
  options?: { value: string; label: string }[];
  writeOnly: boolean;
  /** Set by a flow (the OAuth connect flow's refresh token), never typed in. */
  readOnly: boolean;
  required: boolean;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}

type Json = Record<string, unknown>;

function pickType(p: Json): FieldType {
  if (Array.isArray(p.enum)) return 'enum';
  if (Array.isArray(p.oneOf) && (p.oneOf as Json[]).every((o) => 'const' in o)) return 'enum';
  let t = p.type;
  if (Array.isArray(t)) t = t.find((x) => x !== 'null');
  if (t === 'number' || t === 'integer' || t === 'boolean') return t;
  if (t === 'array') return 'list';
  return 'string';
}

/**
 * Form fields of a settings schema. `secrets` are the kind's `secret_settings`: write-only fields
 * (never prefilled, kept when left empty) even where the schema does not say `writeOnly`.
 */
export function schemaFields(schema: unknown, secrets: readonly string[] = []): SchemaField[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Json;
  const props = (s.properties ?? {}) as Record<string, Json>;
  const req = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  return Object.entries(props).map(([name, p]) => {
    const type = pickType(p);
    let options: SchemaField['options'];
    if (Array.isArray(p.enum)) options = (p.enum as unknown[]).filter((v) => v !== null).map((v) => ({ value: String(v), label: String(v) }));
    else if (Array.isArray(p.oneOf))
      options = (p.oneOf as Json[]).map((o) => ({ value: String(o.const), label: typeof o.title === 'string' ? o.title : String(o.const) }));
    return {
      name,
      type,
      title: typeof p.title === 'string' ? p.title : name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()),
      description: typeof p.description === 'string' ? p.description : undefined,
      default: p.default,
      options,
      writeOnly: p.writeOnly === true || secrets.includes(name),
      readOnly: p.readOnly === true,
      required: req.has(name),
      format: typeof p.format === 'string' ? p.format : undefined,
      minimum: typeof p.minimum === 'number' ? p.minimum : undefined,
      exclusiveMinimum: typeof p.exclusiveMinimum === 'number' ? p.exclusiveMinimum : undefined,
      maximum: typeof p.maximum === 'number' ? p.maximum : undefined,
    };
  });
}

/** Form values are strings for text/number/enum inputs and booleans for checkboxes. */
export type FormValues = Record<string, string | boolean>;

export function initialValues(fields: SchemaField[], existing?: Json | null): FormValues {
  const out: FormValues = {};
  for (const f of fields) {
    if (f.writeOnly) {
      out[f.name] = '';
      continue;
    }
    const v = existing && f.name in existing ? existing[f.name] : f.default;
    if (f.type === 'boolean') out[f.name] = v === undefined || v === null ? false : Boolean(v);
    else if (f.type === 'list') out[f.name] = Array.isArray(v) ? v.map(String).join(', ') : '';
    else out[f.name] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/** Is a write-only secret already stored? Looks for `has_<name>` in the settings or on the connector. */
export function hasSecret(name: string, settings?: Json | null, connector?: Json | null): boolean {
  return settings?.[`has_${name}`] === true || connector?.[`has_${name}`] === true;
}

export function validateValues(fields: SchemaField[], values: FormValues): Record<string, string | undefined> {
  const errs: Record<string, string | undefined> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.type === 'boolean') continue;
    const s = typeof v === 'string' ? v.trim() : '';
    if (s === '') {
      if (f.required && !f.writeOnly) errs[f.name] = `${f.title} is required`;
      continue;
    }
    if (f.type === 'number' || f.type === 'integer') {
      const n = Number(s);
      if (!Number.isFinite(n)) errs[f.name] = `${f.title} must be a number`;
      else if (f.type === 'integer' && !Number.isInteger(n)) errs[f.name] = `${f.title} must be a whole number`;
      else if (f.minimum !== undefined && n < f.minimum) errs[f.name] = `${f.title} must be at least ${f.minimum}`;
      else if (f.exclusiveMinimum !== undefined && n <= f.exclusiveMinimum) errs[f.name] = `${f.title} must be greater than ${f.exclusiveMinimum}`;
      else if (f.maximum !== undefined && n > f.maximum) errs[f.name] = `${f.title} must be at most ${f.maximum}`;
    } else if (f.type === 'enum' && f.options && !f.options.some((o) => o.value === s)) {
      errs[f.name] = `${f.title} must be one of ${f.options.map((o) => o.value).join(', ')}`;
    } else if (f.format === 'uri' || f.format === 'url') {
      try {
        new URL(s);
      } catch {
        errs[f.name] = `${f.title} must be a valid URL`;
      }
    }
  }
  return errs;
}

/** Build the `settings` object to send: typed values; empty optional fields and empty secrets omitted (kept). */
export function toPayload(fields: SchemaField[], values: FormValues): Json {
  const out: Json = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.type === 'boolean') {
      out[f.name] = Boolean(v);
      continue;
    }
    const s = typeof v === 'string' ? v.trim() : '';
    if (s === '') continue;
    if (f.type === 'list')
      out[f.name] = s
        .split(/[,\n]/)
        .map((x) => x.trim())
        .filter((x) => x !== '');
    else if (f.type === 'number') out[f.name] = Number(s);
    else if (f.type === 'integer') out[f.name] = Math.trunc(Number(s));
    else out[f.name] = f.writeOnly ? (v as string) : s;
  }
  return out;
}
