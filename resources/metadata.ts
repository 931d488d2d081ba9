import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic } from './diagnostic.js';
import { Strict } from './schema-helpers.js';

export const API_VERSION = 'mlform/v1';

/** Cloud names are derived from resource names (`mlform-<stack>_<name>`, `<service>-v<N>`), hence 49. */
export const MAX_NAME_LENGTH = 49;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const PREVENT_DESTROY_ANNOTATION = 'mlform/prevent-destroy';
/**
 * On a TrainingRun: `"true"` makes it a template only its Schedules fire; apply never starts a run
 * of its own (a Cloud Scheduler job adopted by `mlform import` never trained on apply either).
 */
export const SCHEDULED_ONLY_ANNOTATION = 'mlform/scheduled-only';

export const ResourceAddressPattern = '^(TrainingRun|RegisteredModel|DeployedEndpoint|Schedule)/[^/]+$';

export const MetadataSchema = Type.Object(
  {
    name: Type.String({
      description: `Resource name: a DNS-1123 label (lowercase letters, digits, '-'), at most ${MAX_NAME_LENGTH} characters.`,
    }),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Free-form labels, copied to the cloud objects the resource creates where the API has labels.',
      }),
    ),
    annotations: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: `Annotations. \`${PREVENT_DESTROY_ANNOTATION}: "true"\` makes any plan that would delete the resource fail.`,
      }),
    ),
    dependsOn: Type.Optional(
      Type.Array(Type.String({ pattern: ResourceAddressPattern }), {
        description:
          "Explicit ordering, like Terraform's depends_on: addresses (`Kind/name`) that must be applied before this resource.",
      }),
    ),
  },
  { ...Strict, description: 'Name, labels and annotations.' },
);
export type Metadata = Static<typeof MetadataSchema>;

/** Lowercase, '-' for anything else, trimmed: the name a user most likely meant. */
export function suggestName(name: string): string {
  const candidate = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/-+$/, '');
  return candidate || 'my-resource';
}

export function checkName(name: string, path: readonly (string | number)[]): Diagnostic[] {
  if (name.length > MAX_NAME_LENGTH) {
    return [
      error(
        'invalid-name',
        `name "${name}" is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`,
        {
          path,
          hint: `names become part of cloud resource names; try "${suggestName(name)}"`,
        },
      ),
    ];
  }
  if (!DNS_LABEL.test(name)) {
    return [
      error('invalid-name', `name "${name}" is not a DNS-1123 label`, {
        path,
        hint: `use lowercase letters, digits and '-', starting and ending with a letter or digit; try "${suggestName(name)}"`,
      }),
    ];
  }
  return [];
}
