/**
 * The stack overview, Argo CD style: one box per group (a model's TrainingRun -> RegisteredModel
 * -> DeployedEndpoints, Schedules), then the ungrouped resources; a filter bar reflected in the
 * URL; counts; stack diagnostics. Cards are keyed and effect-free so 1,000 render at once.
 */
import { useEffect, useState } from 'preact/hooks';
import type { OverviewDoc, OverviewItem } from '../../../controller/web/api.js';
import { Badges, HealthBadge, KindIcon } from '../components/badges.js';
import { Diagnostic } from '../components/messages.js';
import { RelTime } from '../components/time.js';
import { navigate, useLocation } from '../lib/router.js';
import { addressHref, pageHref } from '../lib/routes.js';

const KINDS = ['TrainingRun', 'RegisteredModel', 'DeployedEndpoint', 'Schedule'] as const;
const HEALTHS = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Suspended'] as const;
const SYNCS = ['Synced', 'OutOfSync', 'Unknown'] as const;
const TYPING_MS = 250;

export function OverviewPage(props: { doc: OverviewDoc }) {
  const { doc } = props;
  const groups = groupItems(doc.items);
  return (
    <>
      <h1>
        Stack <span class="stack-name">{doc.stack}</span>
      </h1>
      <p class="muted">
        {doc.provider} provider · observed <RelTime at={doc.observedAt} />
      </p>
      <Counts doc={doc} />
      {doc.diagnostics.length > 0 && (
        <section aria-labelledby="diag-h" class="panel">
          <h2 id="diag-h">Stack diagnostics</h2>
          <ul class="diagnostics">
            {doc.diagnostics.map((d, i) => (
              <Diagnostic key={i} diagnostic={d} testid="stack-diagnostic" />
            ))}
          </ul>
        </section>
      )}
      <Filters />
      <p class="muted" aria-live="polite">
        Showing {doc.items.length} of {doc.matched} matching resources
        {doc.nextCursor && (
          <>
            {' · '}
            <a href={nextPageHref(doc.nextCursor)}>next page</a>
          </>
        )}
      </p>
      {groups.map(([group, items]) => (
        <section
          key={group ?? ''}
          class={`group${group === null ? ' ungrouped' : ''}`}
          data-testid="group"
          data-group={group ?? ''}
          aria-label={group === null ? 'Resources tied to no model' : `Application ${group}`}
        >
          <h2 class="group-title">
            {group === null ? 'Other resources' : group}
            <span class="muted"> · {items.length}</span>
          </h2>
          {group === null ? (
            <div class="cards">
              {items.map((item) => (
                <ResourceCard key={item.address} item={item} />
              ))}
            </div>
          ) : (
            <Lanes items={items} />
          )}
        </section>
      ))}
      {doc.items.length === 0 && <p>No resource matches these filters.</p>}
    </>
  );
}

function nextPageHref(cursor: string): string {
  const query = new URLSearchParams(location.search);
  query.set('cursor', cursor);
  return `/?${query.toString()}`;
}

/** Groups in document order (the API sorts by group), ungrouped last. */
function groupItems(items: OverviewItem[]): [string | null, OverviewItem[]][] {
  const byGroup = new Map<string | null, OverviewItem[]>();
  for (const item of items) {
    const list = byGroup.get(item.group);
    if (list) list.push(item);
    else byGroup.set(item.group, [item]);
  }
  const ungrouped = byGroup.get(null);
  byGroup.delete(null);
  const out = [...byGroup.entries()];
  if (ungrouped) out.push([null, ungrouped]);
  return out;
}

/** The application's tree left to right: TrainingRun -trains-> RegisteredModel -served by-> endpoints; then schedules. */
const LANES = ['TrainingRun', 'RegisteredModel', 'DeployedEndpoint', 'Schedule'] as const;

function edge(from: string, to: string): string | null {
  if (from === 'TrainingRun' && to === 'RegisteredModel') return 'trains';
  if (from === 'RegisteredModel' && to === 'DeployedEndpoint') return 'served by';
  return null;
}

function Lanes(props: { items: OverviewItem[] }) {
  const lanes = LANES.map((kind) => ({ kind, items: props.items.filter((i) => i.kind === kind) })).filter(
    (lane) => lane.items.length > 0,
  );
  return (
    <div class="lanes">
      {lanes.map((lane, i) => {
        const arrow = i > 0 ? edge(lanes[i - 1]!.kind, lane.kind) : null;
        return (
          <div key={lane.kind} class="lane-wrap">
            {i > 0 &&
              (arrow ? (
                <div class="lane-arrow">
                  <span aria-hidden="true">→</span>
                  <span class="muted">{arrow}</span>
                </div>
              ) : (
                <div class="lane-gap" aria-hidden="true" />
              ))}
            <div class="lane">
              {lane.items.map((item) => (
                <ResourceCard key={item.address} item={item} />
              ))}
            </div>
          </div>
        );
      })}
    </div>
  );
}

function Counts(props: { doc: OverviewDoc }) {
  const { counts } = props.doc;
  const line = (record: Record<string, number>) =>
    Object.entries(record)
      .filter(([, n]) => n > 0)
      .map(([word, n]) => `${n} ${word}`)
      .join(' · ');
  return (
    <dl class="counts" data-testid="counts">
      <div>
        <dt>Resources</dt>
        <dd>{counts.total}</dd>
      </div>
      <div>
        <dt>By kind</dt>
        <dd>{line(counts.byKind) || '–'}</dd>
      </div>
      <div>
        <dt>By health</dt>
        <dd>{line(counts.byHealth) || '–'}</dd>
      </div>
      <div>
        <dt>By sync</dt>
        <dd>{line(counts.bySync) || '–'}</dd>
      </div>
    </dl>
  );
}

function ResourceCard(props: { item: OverviewItem }) {
  const { item } = props;
  return (
    <article
      class={`card health-border-${item.health}`}
      data-testid="resource-card"
      data-address={item.address}
      aria-label={item.address}
    >
      <header class="card-head">
        <KindIcon kind={item.kind} />
        <div>
          <div class="kind muted">{item.kind}</div>
          <a class="card-name" href={pageHref(item.kind, item.name)}>
            {item.name}
          </a>
        </div>
      </header>
      <Badges of={item} />
      {item.details && <p class="details">{item.details}</p>}
      {item.children.length > 0 && (
        <ul class="children">
          {item.children.map((child, i) => (
            <li key={`${child.label}-${i}`}>
              <span class="child-label">{child.label}</span> <span class="muted">{child.detail}</span>{' '}
              <HealthBadge health={child.health} small />
            </li>
          ))}
        </ul>
      )}
      {Object.keys(item.labels).length > 0 && (
        <ul class="labels" aria-label="Labels">
          {Object.entries(item.labels).map(([key, value]) => (
            <li key={key}>
              {key}={value}
            </li>
          ))}
        </ul>
      )}
      {item.links.some((l) => l.relation === 'dependsOn') && (
        <p class="depends muted">
          depends on{' '}
          {item.links
            .filter((l) => l.relation === 'dependsOn')
            .map((l, i) => (
              <span key={l.address}>
                {i > 0 && ', '}
                <a href={addressHref(l.address)}>{l.address}</a>
              </span>
            ))}
        </p>
      )}
      {item.lastError && (
        <p class="card-error" role="note">
          <span aria-hidden="true">✕ </span>
          {item.lastError}
          {item.nextRetryAt && (
            <>
              {' · retry '}
              <RelTime at={item.nextRetryAt} />
            </>
          )}
        </p>
      )}
      {item.source && (
        <p class="source muted">
          <code>
            {item.source.file}:{item.source.line}:{item.source.col}
          </code>
        </p>
      )}
    </article>
  );
}

/** Selects apply at once (a history entry each); text fields after a pause (replacing the entry). */
function Filters() {
  const { search } = useLocation();
  const [label, setLabel] = useState(search.get('label') ?? '');
  const [q, setQ] = useState(search.get('q') ?? '');

  // Back/forward: the URL wins over what was typed.
  useEffect(() => setLabel(search.get('label') ?? ''), [search.get('label')]);
  useEffect(() => setQ(search.get('q') ?? ''), [search.get('q')]);

  useEffect(() => {
    if (label === (search.get('label') ?? '') && q === (search.get('q') ?? '')) return;
    const timer = setTimeout(() => navigate(withQuery({ label, q }), { replace: true }), TYPING_MS);
    return () => clearTimeout(timer);
  }, [label, q]);

  const select = (name: 'kind' | 'health' | 'sync', title: string, options: readonly string[]) => (
    <div class="field">
      <label for={`filter-${name}`}>{title}</label>
      <select
        id={`filter-${name}`}
        name={name}
        value={search.get(name) ?? ''}
        onChange={(e) => navigate(withQuery({ [name]: (e.currentTarget as HTMLSelectElement).value }))}
      >
        <option value="">All</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <form class="filters" role="search" aria-label="Filter resources" onSubmit={(e) => e.preventDefault()}>
      {select('kind', 'Kind', KINDS)}
      {select('health', 'Health', HEALTHS)}
      {select('sync', 'Sync', SYNCS)}
      <TextFilter
        name="label"
        title="Label"
        placeholder="key or key=value"
        value={label}
        onInput={setLabel}
      />
      <TextFilter name="q" title="Name" placeholder="part of a name" value={q} onInput={setQ} />
      {['kind', 'health', 'sync', 'label', 'q'].some((k) => search.get(k)) && (
        <a href="/" class="clear">
          Clear filters
        </a>
      )}
    </form>
  );
}

function TextFilter(props: {
  name: string;
  title: string;
  placeholder: string;
  value: string;
  onInput: (value: string) => void;
}) {
  return (
    <div class="field">
      <label for={`filter-${props.name}`}>{props.title}</label>
      <input
        id={`filter-${props.name}`}
        name={props.name}
        type="search"
        placeholder={props.placeholder}
        value={props.value}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
    </div>
  );
}

/** The overview URL with some filters changed; empty values drop out, and so does the page cursor. */
function withQuery(changes: Record<string, string>): string {
  const query = new URLSearchParams(location.search);
  query.delete('cursor');
  for (const [key, value] of Object.entries(changes)) {
    if (value) query.set(key, value);
    else query.delete(key);
  }
  const qs = query.toString();
  return qs ? `/?${qs}` : '/';
}
