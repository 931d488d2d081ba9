/** Pieces shared by the resource pages: the heading with badges and last error, the spec folded. */
import type { OverviewItem } from '../../../controller/web/api.js';
import { Badges } from '../components/badges.js';
import { ErrorNote } from '../components/messages.js';

export function ResourceHeader(props: { resource: OverviewItem }) {
  const { resource } = props;
  return (
    <>
      <h1>
        <span class="muted">{resource.kind}</span> {resource.name}
      </h1>
      <Badges of={resource} note={resource.details} />
      <ErrorNote text={resource.lastError} />
    </>
  );
}

export function SpecBlock(props: { yaml: string | null }) {
  if (!props.yaml) return null;
  return (
    <details class="spec">
      <summary>Spec (YAML)</summary>
      <pre tabIndex={0}>{props.yaml}</pre>
    </details>
  );
}
