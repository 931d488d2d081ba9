/**
 * The four kinds and the project file, as data: schema, normalisation, semantic rules, references.
 * Adding a kind means adding a module and one entry here (see resources/README.md).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { Diagnostic, FieldPath } from './diagnostic.js';
import { API_VERSION, MetadataSchema, type Metadata } from './metadata.js';
import { Strict, toJsonSchema } from './schema-helpers.js';
import { TrainingRunSpecSchema, checkTrainingRunSpec, type TrainingRunSpec } from './training-run.js';
import {
  RegisteredModelSpecSchema,
  checkRegisteredModelSpec,
  normalizeRegisteredModelSpec,
  type RegisteredModelSpec,
} from './registered-model.js';
import {
  DeployedEndpointSpecSchema,
  checkDeployedEndpointSpec,
  normalizeDeployedEndpointSpec,
  type DeployedEndpointSpec,
} from './deployed-endpoint.js';
import {
  ScheduleSpecSchema,
  checkScheduleSpec,
  normalizeScheduleSpec,
  triggerTarget,
  type ScheduleSpec,
} from './schedule.js';
import { ProjectConfigSchema } from './project.js';

export const KINDS = ['TrainingRun', 'RegisteredModel', 'DeployedEndpoint', 'Schedule'] as const;
export type Kind = (typeof KINDS)[number];

export interface Manifest<K extends Kind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
}
export type TrainingRun = Manifest<'TrainingRun', TrainingRunSpec>;
export type RegisteredModel = Manifest<'RegisteredModel', RegisteredModelSpec>;
export type DeployedEndpoint = Manifest<'DeployedEndpoint', DeployedEndpointSpec>;
export type Schedule = Manifest<'Schedule', ScheduleSpec>;
export type AnyManifest = TrainingRun | RegisteredModel | DeployedEndpoint | Schedule;
export type SpecOf<K extends Kind> = Extract<AnyManifest, { kind: K }>['spec'];

/** A reference from one resource to another, found at `path` in the referring document. */
export interface Reference {
  path: FieldPath;
  kind: Kind;
  name: string;
}

export interface KindDefinition<K extends Kind> {
  kind: K;
  /** Lowercase name used by the CLI (`mlform schema trainingrun`, `get trainingrun/x`). */
  cliName: string;
  description: string;
  specSchema: TSchema;
  /** Schema-valid spec (defaults applied) -> canonical spec that is hashed and applied. */
  normalize(spec: SpecOf<K>): SpecOf<K>;
  /** Rules a schema cannot express, on the schema-valid spec before normalisation. */
  check(spec: SpecOf<K>): Diagnostic[];
  references(spec: SpecOf<K>): Reference[];
}

const identity = <T>(spec: T): T => spec;

export const trainingRunKind: KindDefinition<'TrainingRun'> = {
  kind: 'TrainingRun',
  cliName: 'trainingrun',
  description:
    'One completed training of a spec. Identity is (name, spec hash): an unchanged spec never retrains.',
  specSchema: TrainingRunSpecSchema,
  normalize: identity,
  check: checkTrainingRunSpec,
  references: (spec) =>
    spec.model === undefined ? [] : [{ path: ['spec', 'model'], kind: 'RegisteredModel', name: spec.model }],
};

export const registeredModelKind: KindDefinition<'RegisteredModel'> = {
  kind: 'RegisteredModel',
  cliName: 'registeredmodel',
  description: 'A model in the registry: numbered versions, a registration gate, aliases, retention.',
  specSchema: RegisteredModelSpecSchema,
  normalize: normalizeRegisteredModelSpec,
  check: checkRegisteredModelSpec,
  references: () => [],
};

export const deployedEndpointKind: KindDefinition<'DeployedEndpoint'> = {
  kind: 'DeployedEndpoint',
  cliName: 'deployedendpoint',
  description:
    'A serving endpoint (TensorFlow Serving REST API) for a RegisteredModel, with a traffic split.',
  specSchema: DeployedEndpointSpecSchema,
  normalize: normalizeDeployedEndpointSpec,
  check: checkDeployedEndpointSpec,
  references: (spec) => [{ path: ['spec', 'model'], kind: 'RegisteredModel', name: spec.model }],
};

export const scheduleKind: KindDefinition<'Schedule'> = {
  kind: 'Schedule',
  cliName: 'schedule',
  description: 'Retrains a TrainingRun template on a cron schedule, or once at a date-time, in a time zone.',
  specSchema: ScheduleSpecSchema,
  normalize: normalizeScheduleSpec,
  check: checkScheduleSpec,
  // A trigger watches an endpoint: it must exist, and it is applied before the schedule.
  references: (spec) => [
    { path: ['spec', 'trainingRun'], kind: 'TrainingRun', name: spec.trainingRun },
    ...(spec.triggers ?? []).map((trigger, i): Reference => {
      const { type, endpoint } = triggerTarget(trigger);
      return { path: ['spec', 'triggers', i, type, 'endpoint'], kind: 'DeployedEndpoint', name: endpoint };
    }),
  ],
};

type KindTable = { [K in Kind]: KindDefinition<K> };
export const KIND_DEFINITIONS: KindTable = {
  TrainingRun: trainingRunKind,
  RegisteredModel: registeredModelKind,
  DeployedEndpoint: deployedEndpointKind,
  Schedule: scheduleKind,
};

export const isKind = (value: unknown): value is Kind =>
  typeof value === 'string' && (KINDS as readonly string[]).includes(value);

/** Looks a kind up by its CLI spelling: `trainingrun`, `TrainingRun`, `trainingruns`. */
export function kindFromCliName(name: string): Kind | undefined {
  const n = name.toLowerCase().replace(/s$/, '');
  return KINDS.find((k) => k.toLowerCase() === n);
}

/** The full document schema of a kind: apiVersion, kind, metadata, spec. */
export function documentSchema<K extends Kind>(kind: K) {
  const def = KIND_DEFINITIONS[kind];
  return Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION, { description: `Always \`${API_VERSION}\`.` }),
      kind: Type.Literal(kind),
      metadata: MetadataSchema,
      spec: def.specSchema,
    },
    { ...Strict, title: kind, description: def.description },
  );
}

/** JSON Schemas exported for editors and `mlform schema`. */
export function jsonSchemaFor(kind: Kind | 'project'): Record<string, unknown> {
  const schema =
    kind === 'project'
      ? { ...toJsonSchema(ProjectConfigSchema), title: 'mlform.yaml' }
      : toJsonSchema(documentSchema(kind));
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...schema };
}

/** One schema for any manifest file: dispatches on `kind`, for `# yaml-language-server: $schema=`. */
export function combinedJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'mlform manifest',
    description: 'Any mlform resource; the `kind` field selects the schema.',
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    properties: { kind: { enum: [...KINDS] } },
    allOf: KINDS.map((kind) => {
      const { $schema: _drop, ...schema } = jsonSchemaFor(kind);
      return { if: { properties: { kind: { const: kind } }, required: ['kind'] }, then: schema };
    }),
  };
}
