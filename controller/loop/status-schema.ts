/**
 * `GET /api/status`: the controller and every resource, as `mlform get --server` reads it. The
 * TypeBox schema is the single source of the type and of the check the client runs on the answer.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Diagnostic } from '../../resources/diagnostic.js';
import { DiagnosticSchema } from '../engine/change.js';

export const STATUS_API_VERSION = 1;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Diagnostics as the API carries them (field paths are plain arrays in JSON). */
export function toApiDiagnostic(d: Diagnostic): Static<typeof DiagnosticSchema> {
  const { path, ...rest } = d;
  return path === undefined ? rest : { ...rest, path: [...path] };
}

const SyncResultSchema = Type.Union([
  Type.Literal('succeeded'),
  Type.Literal('degraded'),
  Type.Literal('invalid-commit'),
  Type.Literal('lock-held'),
  Type.Literal('source-error'),
  Type.Literal('error'),
]);
export type SyncResult = Static<typeof SyncResultSchema>;

export const ConditionSchema = Type.Object({
  type: Type.String(),
  status: Type.Boolean(),
  reason: Type.String(),
  message: Type.String(),
  /** The commit of the desired state the condition was computed from. */
  commit: Nullable(Type.String()),
});

export const ResourceStatusSchema = Type.Object({
  kind: Type.Union([
    Type.Literal('TrainingRun'),
    Type.Literal('RegisteredModel'),
    Type.Literal('DeployedEndpoint'),
    Type.Literal('Schedule'),
  ]),
  name: Type.String(),
  address: Type.String(),
  syncStatus: Type.Union([Type.Literal('Synced'), Type.Literal('OutOfSync'), Type.Literal('Unknown')]),
  health: Type.Union([
    Type.Literal('Healthy'),
    Type.Literal('Progressing'),
    Type.Literal('Degraded'),
    Type.Literal('Missing'),
    Type.Literal('Suspended'),
  ]),
  /** The same one-line summary `mlform get` shows. */
  details: Type.String(),
  conditions: Type.Array(ConditionSchema),
  /** The last failed change's error while the resource is in retry backoff. */
  lastError: Nullable(Type.String()),
  nextRetryAt: Nullable(Type.String({ description: 'ISO 8601 time of the next attempt.' })),
});
export type ResourceStatusView = Static<typeof ResourceStatusSchema>;

export const ControllerStatusSchema = Type.Object({
  formatVersion: Type.Literal(STATUS_API_VERSION),
  controller: Type.Object({
    version: Type.String(),
    /** `host/pid` of this replica. */
    identity: Type.String(),
    leader: Type.Boolean(),
    ready: Type.Boolean(),
    stack: Nullable(Type.String()),
    source: Type.String(),
    /** The commit currently on disk (newest fetched). */
    commit: Nullable(Type.String()),
    /** The commit whose desired state is being reconciled (the last good one). */
    appliedCommit: Nullable(Type.String()),
    lastSync: Nullable(
      Type.Object({
        startedAt: Type.String(),
        finishedAt: Type.String(),
        result: SyncResultSchema,
      }),
    ),
    lastError: Nullable(Type.String()),
    /** The newest commit, when its manifests do not load: the last good state is kept meanwhile. */
    badCommit: Nullable(Type.Object({ commit: Type.String(), diagnostics: Type.Array(DiagnosticSchema) })),
  }),
  resources: Type.Array(ResourceStatusSchema),
  /** With `?limit=` or `?cursor=`: pass as `cursor` for the next page of `resources`; null on the last. */
  nextCursor: Type.Optional(Nullable(Type.String())),
});
export type ControllerStatus = Static<typeof ControllerStatusSchema>;
