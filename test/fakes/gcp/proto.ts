/**
 * Proto3-JSON body checking against the SDKs' own `build/protos/protos.json`.
 *
 * `checkMessage` walks a JSON value against a message type and returns a normalised copy
 * (enum numbers turned into enum names, since gax sends `$alt=json;enum-encoding=int`).
 * With `strict` it throws an INVALID_ARGUMENT ApiError worded like Google's for unknown
 * field names, wrong primitive kinds and unknown enum values.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { ApiError, isRecord } from './http.js';

const require = createRequire(import.meta.url);

export type ProtoPackage = 'aiplatform' | 'run' | 'scheduler' | 'secretmanager' | 'resourcemanager';

/** npm package of each proto package (the names differ for Secret Manager). */
const NPM: Record<ProtoPackage, string> = {
  aiplatform: '@google-cloud/aiplatform',
  run: '@google-cloud/run',
  scheduler: '@google-cloud/scheduler',
  secretmanager: '@google-cloud/secret-manager',
  resourcemanager: '@google-cloud/resource-manager',
};

const roots = new Map<ProtoPackage, protobuf.Root>();

function packageDir(pkg: ProtoPackage): string {
  // The packages have no `exports` map, so their main entry resolves: <pkg>/build/src/index.js.
  const main = require.resolve(NPM[pkg]);
  return join(dirname(main), '..', '..');
}

export function protoRoot(pkg: ProtoPackage): protobuf.Root {
  let root = roots.get(pkg);
  if (!root) {
    const json: unknown = JSON.parse(
      readFileSync(join(packageDir(pkg), 'build', 'protos', 'protos.json'), 'utf8'),
    );
    root = protobuf.Root.fromJSON(json as protobuf.INamespace);
    root.resolveAll();
    roots.set(pkg, root);
  }
  return root;
}

export function lookupType(pkg: ProtoPackage, name: string): protobuf.Type {
  return protoRoot(pkg).lookupType(name);
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

export interface CheckOptions {
  strict: boolean;
}

class Walker {
  constructor(private readonly opts: CheckOptions) {}

  private fail(message: string): never {
    throw new ApiError('INVALID_ARGUMENT', message);
  }

  private badValue(path: string, kind: string, value: unknown): unknown {
    if (this.opts.strict) {
      this.fail(`Invalid value at '${path}' (${kind}), ${JSON.stringify(value)}`);
    }
    return value;
  }

  message(type: protobuf.Type, value: unknown, path: string): unknown {
    const full = type.fullName.replace(/^\./, '');
    if (value === null) return value;
    // Well-known types with special JSON forms.
    switch (full) {
      case 'google.protobuf.Timestamp':
        if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
          return this.badValue(path, 'type.googleapis.com/google.protobuf.Timestamp', value);
        }
        return value;
      case 'google.protobuf.Duration':
        if (typeof value !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(value)) {
          return this.badValue(path, 'type.googleapis.com/google.protobuf.Duration', value);
        }
        return value;
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string')
          return this.badValue(path, 'type.googleapis.com/google.protobuf.FieldMask', value);
        return value;
      case 'google.protobuf.Struct':
        if (!isRecord(value)) return this.badValue(path, 'type.googleapis.com/google.protobuf.Struct', value);
        return value;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value))
          return this.badValue(path, 'type.googleapis.com/google.protobuf.ListValue', value);
        return value;
      case 'google.protobuf.Value':
      case 'google.protobuf.Any':
        return value;
      default:
        break;
    }
    const wrapped = WRAPPERS[full];
    if (wrapped) return this.scalar(wrapped, value, path);
    if (!isRecord(value)) return this.badValue(path, `type.googleapis.com/${full}`, value);
    const out: Record<string, unknown> = {};
    const seenOneofs = new Map<string, string>();
    for (const [key, v] of Object.entries(value)) {
      const field =
        type.fields[key] ?? type.fields[key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())];
      if (!field) {
        if (this.opts.strict) {
          const at = path ? ` at '${path}'` : '';
          this.fail(`Invalid JSON payload received. Unknown name "${key}"${at}: Cannot find field.`);
        }
        out[key] = v;
        continue;
      }
      const fieldPath = path ? `${path}.${snake(field.name)}` : snake(field.name);
      if (field.partOf && v !== null && this.opts.strict) {
        const other = seenOneofs.get(field.partOf.name);
        if (other) {
          this.fail(
            `Invalid JSON payload received. Oneof field '${snake(field.partOf.name)}' is already set. Cannot set '${snake(field.name)}'`,
          );
        }
        seenOneofs.set(field.partOf.name, field.name);
      }
      out[field.name] = this.field(field, v, fieldPath);
    }
    return out;
  }

  private field(field: protobuf.Field, value: unknown, path: string): unknown {
    if (value === null) return value;
    if (field instanceof protobuf.MapField) {
      if (!isRecord(value)) return this.badValue(path, 'map', value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.single(field, v, `${path}[${k}]`);
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.badValue(path, `TYPE_${field.type.toUpperCase()}`, value);
      return value.map((v: unknown, i) => this.single(field, v, `${path}[${i}]`));
    }
    return this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: unknown, path: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, value, path);
    if (rt instanceof protobuf.Enum) return this.enumValue(rt, value, path);
    return this.scalar(field.type, value, path);
  }

  private enumValue(e: protobuf.Enum, value: unknown, path: string): unknown {
    const kind = `type.googleapis.com/${e.fullName.replace(/^\./, '')}`;
    if (typeof value === 'number') {
      const name = e.valuesById[value];
      if (name === undefined) return this.badValue(path, kind, value);
      return name;
    }
    if (typeof value === 'string') {
      if (!(value in e.values)) return this.badValue(path, kind, value);
      return value;
    }
    return this.badValue(path, kind, value);
  }

  private scalar(type: string, value: unknown, path: string): unknown {
    const kind = `TYPE_${type.toUpperCase()}`;
    switch (type) {
      case 'string':
        return typeof value === 'string' ? value : this.badValue(path, kind, value);
      case 'bool':
        return typeof value === 'boolean' ? value : this.badValue(path, kind, value);
      case 'bytes':
        return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
          ? value
          : this.badValue(path, kind, value);
      case 'double':
      case 'float':
        if (typeof value === 'number') return value;
        if (
          typeof value === 'string' &&
          (['NaN', 'Infinity', '-Infinity'].includes(value) ||
            (value.trim() !== '' && !Number.isNaN(Number(value))))
        ) {
          return value;
        }
        return this.badValue(path, kind, value);
      default:
        if (INT32.has(type)) {
          if (typeof value === 'number' && Number.isInteger(value)) return value;
          if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
          return this.badValue(path, kind, value);
        }
        if (INT64.has(type)) {
          if (typeof value === 'number' && Number.isInteger(value)) return String(value);
          if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
          return this.badValue(path, kind, value);
        }
        return value;
    }
  }
}

/**
 * Checks and normalises `value` as JSON of message `typeName`. `rootPath` is the snake_case
 * name of the request field the HTTP body maps to (`custom_job`), or '' for `body: "*"`.
 */
export function checkMessage(
  pkg: ProtoPackage,
  typeName: string,
  value: unknown,
  rootPath: string,
  opts: CheckOptions,
): Record<string, unknown> {
  const type = lookupType(pkg, typeName);
  const out = new Walker(opts).message(type, value, rootPath);
  return isRecord(out) ? out : {};
}
