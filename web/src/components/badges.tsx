/**
 * Sync and health badges with the same words as `mlform get`, each with an icon so colour is never
 * the only signal; kind icons for cards and headings.
 */
import type { ApiHealth, ApiKind, ApiSync } from '../../../controller/web/api.js';

const SYNC_ICON: Record<ApiSync, string> = { Synced: '✓', OutOfSync: '≠', Unknown: '?' };
const HEALTH_ICON: Record<ApiHealth, string> = {
  Healthy: '♥',
  Progressing: '◐',
  Degraded: '✕',
  Missing: '∅',
  Suspended: '‖',
};
const KIND_ICON: Record<ApiKind, string> = {
  TrainingRun: '⚙',
  RegisteredModel: '◆',
  DeployedEndpoint: '⇄',
  Schedule: '◷',
};

export function SyncBadge(props: { sync: ApiSync }) {
  return (
    <span class={`badge sync-${props.sync}`} title={`Sync: ${props.sync}`}>
      <span class="icon" aria-hidden="true">
        {SYNC_ICON[props.sync] ?? '?'}
      </span>
      <span data-testid="sync-badge">{props.sync}</span>
    </span>
  );
}

export function HealthBadge(props: { health: ApiHealth; small?: boolean }) {
  return (
    <span
      class={`badge health-${props.health}${props.small ? ' small' : ''}`}
      title={`Health: ${props.health}`}
    >
      <span class="icon" aria-hidden="true">
        {HEALTH_ICON[props.health] ?? '?'}
      </span>
      <span data-testid={props.small ? undefined : 'health-badge'}>{props.health}</span>
    </span>
  );
}

export function KindIcon(props: { kind: ApiKind }) {
  return (
    <span class={`kind-icon kind-${props.kind}`} aria-hidden="true" title={props.kind}>
      {KIND_ICON[props.kind] ?? '•'}
    </span>
  );
}

/** The sync and health badges of a resource side by side, with an optional note after them. */
export function Badges(props: { of: { sync: ApiSync; health: ApiHealth }; note?: string }) {
  return (
    <div class="badges">
      <SyncBadge sync={props.of.sync} />
      <HealthBadge health={props.of.health} />
      {props.note && <span class="muted">{props.note}</span>}
    </div>
  );
}
