import yaml from 'js-yaml';

// js-yaml exports its built-in types at runtime; @types/js-yaml does not declare them.
const types = (yaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float' | 'merge' | 'binary' | 'omap' | 'pairs' | 'set', yaml.Type> }).types;
const baseInt = types.int;

// js-yaml reads an unquoted 19-digit Discord ID as a Number and silently rounds its last digits.
// Integers beyond Number's exact range keep their exact digits as a string instead.
const exactInt = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string) => baseInt.resolve(data),
  construct: (data: string) => {
    const value = baseInt.construct(data) as number;
    if (Number.isSafeInteger(value)) return value;
    const digits = data.replace(/_/g, '');
    return /^[-+]?\d+$/.test(digits) ? digits.replace(/^\+/, '') : value;
  },
});

// The default schema's types in their usual order, with the int type swapped for the exact one.
// No implicit timestamps: js-yaml would read `at: 2026-12-24T18:00:00` as a UTC Date, and a
// schedule's zone-less date means its own time zone, so dates stay text for the schema to read.
const exactSchema = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [types.null, types.bool, exactInt, types.float, types.merge],
  explicit: [types.binary, types.omap, types.pairs, types.set],
});

/** Parses YAML text, keeping integers too large for a JS number as their exact digit strings. */
export function parseYaml(text: string, filename?: string): unknown {
  return yaml.load(text, { schema: exactSchema, filename });
}

/** Serialises a value as YAML for people to read. */
export function toYaml(value: unknown): string {
  return yaml.dump(value, { lineWidth: 120, noRefs: true });
}
