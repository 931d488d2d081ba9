/**
 * Environment variables in manifests: a value is a literal string or a reference to a secret,
 * `{secretRef: {name, key}}`, resolved where the process runs and never by the planner. So a
 * secret's value is never in a spec, a spec hash, a plan, a state record or a job body; only its
 * reference is. Every manifest field that passes environment (today `trainer.container.env`)
 * uses `EnvSchema`, so the rules and the warnings below apply to all of them.
 *
 * Where a reference resolves (README of resources/):
 * - local: `<secrets dir>/<name>/<key>` (a Kubernetes Secret volume layout) given by the operator,
 *   else `MLFORM_SECRET_<NAME>_<KEY>` in the operator's environment (`trainer/secrets.ts`);
 * - gcp: the Secret Manager secret `<name>_<key>` of the project, version `version` (`latest`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { credentialKind } from './credential.js';
import { error, warning, type Diagnostic, type FieldPath } from './diagnostic.js';
import { Strict } from './schema-helpers.js';

/** Kubernetes Secret names (DNS-1123 label): no `_`, so `<name>_<key>` splits one way only. */
export const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Letters, digits, `-` and `_`: a file name (no `/`, no `.`), a Secret Manager id part, an env var part. */
export const SECRET_KEY_PATTERN = '^[A-Za-z0-9]([-_A-Za-z0-9]*[A-Za-z0-9])?$';

export const SecretRefSchema = Type.Object(
  {
    secretRef: Type.Object(
      {
        name: Type.String({
          pattern: SECRET_NAME_PATTERN,
          maxLength: 63,
          description: 'Secret name: lowercase letters, digits and `-`.',
        }),
        key: Type.String({
          pattern: SECRET_KEY_PATTERN,
          maxLength: 63,
          description: 'Key inside the secret: letters, digits, `-` and `_`.',
        }),
        version: Type.Optional(
          Type.String({
            pattern: '^(latest|[1-9][0-9]*)$',
            description: 'gcp: Secret Manager version of `<name>_<key>` (default `latest`); ignored locally.',
          }),
        ),
      },
      Strict,
    ),
  },
  {
    ...Strict,
    description:
      'A secret, resolved where the process runs: locally from the operator (`<secrets dir>/<name>/<key>` or `MLFORM_SECRET_<NAME>_<KEY>`), on gcp from Secret Manager secret `<name>_<key>`. Its value never appears in plans, state or job specs.',
  },
);
export type SecretRef = Static<typeof SecretRefSchema>['secretRef'];

export const EnvValueSchema = Type.Union([Type.String(), SecretRefSchema], {
  description: 'A literal string, or `{secretRef: {name, key}}` for anything secret.',
});
export type EnvValue = Static<typeof EnvValueSchema>;

export const EnvSchema = Type.Record(Type.String(), EnvValueSchema, {
  description:
    'Environment variables: a literal string, or `{secretRef: {name, key}}` for credentials (a literal that looks like one gets a warning).',
});
export type Env = Static<typeof EnvSchema>;

export const isSecretRef = (value: EnvValue): value is { secretRef: SecretRef } =>
  typeof value === 'object' && value !== null && 'secretRef' in value;

/** `secretRef(name/key)`, `secretRef(name/key@3)`: how a reference is shown to people. */
export function formatSecretRef(ref: SecretRef): string {
  return `secretRef(${ref.name}/${ref.key}${ref.version !== undefined && ref.version !== 'latest' ? `@${ref.version}` : ''})`;
}

/** The env's references, by variable name, in name order. */
export function secretRefsOf(env: Env | undefined): [string, SecretRef][] {
  return Object.entries(env ?? {})
    .flatMap(([name, value]): [string, SecretRef][] => (isSecretRef(value) ? [[name, value.secretRef]] : []))
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The variable that carries references to a Vertex AI job (providers/gcp/secrets.ts). */
export const RESERVED_ENV = 'MLFORM_SECRET_REFS';

/**
 * An error for the reserved variable, and warnings for literals that look like credentials, at
 * the variable's line. The message names the variable and why, never the value (the warning
 * itself is printed, logged and put in /api/status).
 */
export function checkEnv(env: Env | undefined, path: FieldPath): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (name === RESERVED_ENV) {
      // Where mlform's trainer reads references from: a literal could point it at any secret.
      out.push(
        error('env-reserved', `env ${name} is set by mlform from the secretRef values`, {
          path: [...path, name],
          hint: 'write each secret as VAR: {secretRef: {name, key}}',
        }),
      );
      continue;
    }
    if (typeof value !== 'string') continue;
    const kind = credentialKind(value);
    if (kind === undefined) continue;
    out.push(
      warning('literal-credential', `env ${name} looks like a credential (${kind}) written as a literal`, {
        path: [...path, name],
        hint: `store it as a secret and write ${name}: {secretRef: {name: <secret>, key: <key>}}; plans and describe mask this value, but it is kept in the spec, the spec hash input and the job`,
      }),
    );
  }
  return out;
}
