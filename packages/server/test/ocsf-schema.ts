/**
 * A validator for OCSF events that reads the schema's own JSON (./fixtures/ocsf/schema, copied
 * from ocsf/ocsf-schema; README there names the commit), rather than a hand-kept list: it
 * compiles the event class as the OCSF server does (`extends` chains, `$include`d profiles,
 * dictionary types and enums merged) and walks an event, reporting every attribute the class or
 * object does not define, every value of the wrong type, every required attribute missing, every
 * value outside its enum (with its caption sibling), every `at_least_one` / `just_one`
 * constraint broken, and every attribute of a profile the event does not name in
 * `metadata.profiles`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCHEMA_DIR = fileURLToPath(new URL('./fixtures/ocsf/schema/', import.meta.url));

interface RawAttribute {
  type?: string;
  is_array?: boolean;
  requirement?: 'required' | 'recommended' | 'optional';
  enum?: Record<string, { caption: string }>;
  sibling?: string;
  profile?: string | null;
  caption?: string;
}
interface RawFile {
  name: string;
  caption?: string;
  extends?: string;
  category?: string;
  uid?: number;
  attributes?: Record<string, RawAttribute> & { $include?: string | string[] };
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}
interface RawType {
  type?: string;
  regex?: string;
  max_len?: number;
  range?: [number, number];
  values?: unknown[];
}

/** One attribute of a compiled class or object. */
export interface OcsfAttribute {
  readonly name: string;
  readonly type: string;
  readonly isArray: boolean;
  readonly requirement: 'required' | 'recommended' | 'optional';
  readonly enum?: ReadonlyMap<string, string>;
  readonly sibling?: string;
  /** The profile that adds it (it is valid only when the event names that profile). */
  readonly profile?: string;
}

export interface OcsfShape {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, OcsfAttribute>;
  readonly constraints: { at_least_one?: string[]; just_one?: string[] };
}

const readJson = <T>(path: string): T =>
  JSON.parse(readFileSync(join(SCHEMA_DIR, path), 'utf8')) as T;

export const OCSF_FIXTURE_VERSION = readJson<{ version: string }>('version.json').version;

const dictionary = readJson<{
  attributes: Record<string, RawAttribute>;
  types: { attributes: Record<string, RawType> };
}>('dictionary.json');
const categories = readJson<{ attributes: Record<string, { uid: number; caption: string }> }>(
  'categories.json',
);

/** Attributes of one file with its `$include`s merged in (the file's own definitions win). */
function ownAttributes(file: RawFile): Map<string, RawAttribute> {
  const merged = new Map<string, RawAttribute>();
  const includes = [file.attributes?.$include ?? []].flat();
  for (const include of includes) {
    const profile = readJson<RawFile>(include);
    for (const [name, attr] of Object.entries(profile.attributes ?? {})) {
      if (name === '$include') continue;
      merged.set(name, { ...attr, profile: profile.name });
    }
  }
  for (const [name, attr] of Object.entries(file.attributes ?? {})) {
    if (name === '$include') continue;
    merged.set(name, mergeAttribute(merged.get(name), attr as RawAttribute));
  }
  return merged;
}

function mergeAttribute(base: RawAttribute | undefined, over: RawAttribute): RawAttribute {
  if (!base) return { ...over };
  const merged: RawAttribute = { ...base, ...over };
  if (base.enum || over.enum) merged.enum = { ...base.enum, ...over.enum };
  return merged;
}

/** A chain of files, root first, merged: each child's definitions deep-merged over its parent's. */
function compile(chain: RawFile[]): OcsfShape {
  let raw = new Map<string, RawAttribute>();
  const constraints: OcsfShape['constraints'] = {};
  for (const file of chain) {
    const next = new Map(raw);
    for (const [name, attr] of ownAttributes(file))
      next.set(name, mergeAttribute(raw.get(name), attr));
    raw = next;
    if (file.constraints) Object.assign(constraints, file.constraints);
  }
  const attributes = new Map<string, OcsfAttribute>();
  for (const [name, attr] of raw) {
    const entry = dictionary.attributes[name];
    if (!entry) throw new Error(`the dictionary fixture has no attribute ${name}`);
    const enumEntries = { ...entry.enum, ...attr.enum };
    const type = attr.type ?? entry.type;
    if (!type) throw new Error(`attribute ${name} has no type`);
    attributes.set(name, {
      name,
      type,
      isArray: attr.is_array ?? entry.is_array ?? false,
      requirement: attr.requirement ?? 'optional',
      ...(Object.keys(enumEntries).length > 0 && {
        enum: new Map(Object.entries(enumEntries).map(([k, v]) => [k, v.caption])),
      }),
      ...((attr.sibling ?? entry.sibling) !== undefined && {
        sibling: (attr.sibling ?? entry.sibling)!,
      }),
      ...(typeof attr.profile === 'string' && { profile: attr.profile }),
    });
  }
  return { name: chain.at(-1)!.name, attributes, constraints };
}

const objects = new Map<string, OcsfShape>();

/** The compiled object `name`, or undefined when the fixtures do not hold it. */
export function ocsfObject(name: string): OcsfShape | undefined {
  const known = objects.get(name);
  if (known) return known;
  const chain: RawFile[] = [];
  let next: string | undefined = name;
  while (next !== undefined) {
    let file: RawFile;
    try {
      file = readJson<RawFile>(`objects/${next}.json`);
    } catch {
      return undefined;
    }
    chain.unshift(file);
    next = file.extends;
  }
  const shape = compile(chain);
  objects.set(name, shape);
  return shape;
}

/** The compiled API Activity class (6003), with the enums of its classification attributes. */
export function apiActivityClass(): OcsfShape & { classUid: number } {
  const event = readJson<RawFile>('events/application/api_activity.json');
  const app = readJson<RawFile>('events/application/application.json');
  const base = readJson<RawFile>('events/base_event.json');
  const shape = compile([base, app, event]);
  const category = categories.attributes[app.category!]!;
  const classUid = category.uid * 1000 + event.uid!;
  const attributes = new Map(shape.attributes);
  const set = (name: string, values: Map<string, string>) =>
    attributes.set(name, { ...attributes.get(name)!, enum: values });
  set('category_uid', new Map([[String(category.uid), category.caption]]));
  set('class_uid', new Map([[String(classUid), event.caption!]]));
  const activities = attributes.get('activity_id')!.enum!;
  set(
    'type_uid',
    new Map(
      [...activities].map(([id, caption]) => [
        String(classUid * 100 + Number(id)),
        `${event.caption}: ${caption}`,
      ]),
    ),
  );
  return { ...shape, attributes, classUid };
}

const INT32 = 2 ** 31;

/** Why `value` is not of OCSF type `type` (a scalar type of the dictionary), or undefined. */
function scalarProblem(value: unknown, type: string): string | undefined {
  const def = dictionary.types.attributes[type];
  if (!def) return `has unknown type ${type}`;
  switch (type) {
    case 'string_t':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'integer_t':
      return Number.isInteger(value) && Math.abs(value as number) < INT32
        ? undefined
        : 'must be a 32-bit integer';
    case 'long_t':
      return Number.isSafeInteger(value) ? undefined : 'must be an integer';
    case 'float_t':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean_t':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'json_t':
      return undefined;
  }
  if (!def.type) return `has unknown type ${type}`;
  const base = scalarProblem(value, def.type);
  if (base) return `${base} (${type})`;
  if (def.regex && !new RegExp(def.regex).test(value as string)) return `must match ${type}`;
  if (def.max_len !== undefined && (value as string).length > def.max_len) {
    return `is longer than ${type} allows`;
  }
  if (def.range && ((value as number) < def.range[0] || (value as number) > def.range[1])) {
    return `is outside the range of ${type}`;
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every problem of `value` against `shape`, each a path and a sentence. */
function walk(
  value: unknown,
  shape: OcsfShape,
  path: string,
  profiles: ReadonlySet<string>,
  problems: string[],
): void {
  if (!isObject(value)) {
    problems.push(`${path} must be an object (${shape.name})`);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const attr = shape.attributes.get(key);
    const at = path === '' ? key : `${path}.${key}`;
    if (!attr) {
      problems.push(`${at} is not an attribute of ${shape.name}`);
      continue;
    }
    if (attr.profile !== undefined && !profiles.has(attr.profile)) {
      problems.push(`${at} belongs to the ${attr.profile} profile, not in metadata.profiles`);
    }
    if (attr.isArray) {
      if (!Array.isArray(item)) {
        problems.push(`${at} must be an array`);
        continue;
      }
      item.forEach((element, i) => checkValue(element, attr, `${at}[${i}]`, profiles, problems));
    } else {
      checkValue(item, attr, at, profiles, problems);
    }
  }
  for (const attr of shape.attributes.values()) {
    const applies = attr.profile === undefined || profiles.has(attr.profile);
    if (attr.requirement === 'required' && applies && value[attr.name] === undefined) {
      problems.push(`${path === '' ? '' : `${path}.`}${attr.name} is required in ${shape.name}`);
    }
    if (attr.sibling !== undefined && attr.enum && value[attr.name] !== undefined) {
      const sibling = value[attr.sibling];
      const caption = attr.enum.get(String(value[attr.name]));
      if (sibling !== undefined && caption !== undefined && caption !== 'Other') {
        if (sibling !== caption) {
          problems.push(
            `${path === '' ? '' : `${path}.`}${attr.sibling} must be "${caption}" for ${attr.name} ${String(value[attr.name])}`,
          );
        }
      }
    }
  }
  const { at_least_one: atLeastOne, just_one: justOne } = shape.constraints;
  if (atLeastOne && !atLeastOne.some((k) => value[k] !== undefined)) {
    problems.push(`${path || 'event'} needs at least one of ${atLeastOne.join(', ')}`);
  }
  if (justOne && justOne.filter((k) => value[k] !== undefined).length !== 1) {
    problems.push(`${path || 'event'} needs exactly one of ${justOne.join(', ')}`);
  }
}

function checkValue(
  value: unknown,
  attr: OcsfAttribute,
  path: string,
  profiles: ReadonlySet<string>,
  problems: string[],
): void {
  if (attr.type === 'object') {
    // `unmapped` and the like: any JSON object.
    if (!isObject(value)) problems.push(`${path} must be an object`);
    return;
  }
  if (dictionary.types.attributes[attr.type] === undefined) {
    const shape = ocsfObject(attr.type);
    if (!shape) {
      problems.push(`${path} is a ${attr.type}, which the schema fixtures do not hold`);
      return;
    }
    walk(value, shape, path, profiles, problems);
    return;
  }
  const problem = scalarProblem(value, attr.type);
  if (problem) {
    problems.push(`${path} ${problem}`);
    return;
  }
  if (attr.enum && !attr.enum.has(String(value))) {
    problems.push(`${path} is ${String(value)}, not one of ${[...attr.enum.keys()].join(', ')}`);
  }
}

/** Every problem of `event` as an OCSF API Activity event; empty when it conforms. */
export function apiActivityProblems(event: unknown): string[] {
  const shape = apiActivityClass();
  const problems: string[] = [];
  const metadata = isObject(event) ? event['metadata'] : undefined;
  const named = isObject(metadata) ? metadata['profiles'] : undefined;
  const profiles = new Set(Array.isArray(named) ? named.filter((p) => typeof p === 'string') : []);
  walk(event, shape, '', profiles, problems);
  // The class's own rule: type_uid = class_uid × 100 + activity_id.
  if (isObject(event) && Number.isInteger(event['activity_id'])) {
    const expected = shape.classUid * 100 + (event['activity_id'] as number);
    if (event['type_uid'] !== expected) {
      problems.push(`type_uid must be ${expected} (class_uid × 100 + activity_id)`);
    }
  }
  return problems;
}

/** Every problem of `value` as an OCSF object of type `name` (e.g. `delegation`). */
export function objectProblems(value: unknown, name: string, profiles: string[] = []): string[] {
  const shape = ocsfObject(name);
  if (!shape) return [`the schema fixtures hold no ${name} object`];
  const problems: string[] = [];
  walk(value, shape, name, new Set(profiles), problems);
  return problems;
}
