/**
 * Schedules: a row per schedule (cron or one-off time, zone, policy, template), its next fires in
 * its own zone, a timeline over the window, and the runs each fire started.
 */
import type { ScheduleItem, SchedulesDoc } from '../../../controller/web/api.js';
import { Badges } from '../components/badges.js';
import { ScheduleTimeline } from '../components/schedule-timeline.js';
import { RelTime } from '../components/time.js';
import { detailAfterState } from '../lib/format.js';
import { useLocation } from '../lib/router.js';
import { pageHref } from '../lib/routes.js';

const FIRES_SHOWN = 5;

export function SchedulesPage(props: { doc: SchedulesDoc }) {
  const { doc } = props;
  const { search } = useLocation();
  const only = search.get('name');
  return (
    <>
      <h1>Schedules{only ? `: ${only}` : ''}</h1>
      <p class="muted">
        {doc.matched} schedule{doc.matched === 1 ? '' : 's'}
        {only && (
          <>
            {' · '}
            <a href="/schedules">all schedules</a>
          </>
        )}
        {doc.nextCursor && (
          <>
            {' · '}
            <a href={`/schedules?${nextQuery(search, doc.nextCursor)}`}>next page</a>
          </>
        )}
      </p>
      <nav class="window-nav" aria-label="Timeline window">
        {search.get('from') && <a href={windowHref(search, null)}>← Now</a>}
        <span class="muted">
          <RelTime at={doc.window.from} /> to <RelTime at={doc.window.to} />
        </span>
        <a href={windowHref(search, doc.window.to)}>Later →</a>
      </nav>
      <ScheduleTimeline doc={doc} />
      <div class="schedule-list">
        {doc.items.map((item) => (
          <ScheduleRow key={item.resource.name} item={item} />
        ))}
      </div>
      {doc.items.length === 0 && <p>No schedule{only ? ` named ${only}` : ''}.</p>}
    </>
  );
}

/** The same schedules over the window starting at `from` (null: from now); paging restarts. */
function windowHref(search: URLSearchParams, from: string | null): string {
  const query = new URLSearchParams(search);
  query.delete('cursor');
  if (from) query.set('from', from);
  else query.delete('from');
  const qs = query.toString();
  return qs ? `/schedules?${qs}` : '/schedules';
}

function nextQuery(search: URLSearchParams, cursor: string): string {
  const query = new URLSearchParams(search);
  query.set('cursor', cursor);
  return query.toString();
}

function ScheduleRow(props: { item: ScheduleItem }) {
  const { item } = props;
  const { resource } = item;
  return (
    <section
      class={`panel schedule${item.suspended ? ' suspended' : ''}`}
      data-testid="schedule-row"
      data-name={resource.name}
      data-suspended={item.suspended ? 'true' : 'false'}
      aria-label={`Schedule ${resource.name}${item.suspended ? ' (suspended)' : ''}`}
    >
      <h2>
        <span aria-hidden="true">◷ </span>
        {resource.name}
        {item.suspended && (
          <span class="flag suspended-mark">
            {' '}
            <span aria-hidden="true">‖ </span>Suspended
          </span>
        )}
      </h2>
      <Badges of={resource} />
      <dl class="facts">
        <dt>{item.cron !== null ? 'Cron' : 'At'}</dt>
        <dd>
          <code>{item.cron ?? item.at ?? '–'}</code>
        </dd>
        <dt>Time zone</dt>
        <dd>{item.timeZone}</dd>
        <dt>Concurrency</dt>
        <dd>{item.concurrencyPolicy}</dd>
        <dt>Template</dt>
        <dd>
          <a href={pageHref('TrainingRun', item.template)}>{item.template}</a>
        </dd>
        <dt>Last fire</dt>
        <dd>
          <RelTime at={item.lastFireTime} />
        </dd>
      </dl>
      <h3>Next fires ({item.timeZone})</h3>
      {item.nextFires.length === 0 ? (
        <p class="muted">None in this window.</p>
      ) : (
        <ol class="fires">
          {item.nextFires.slice(0, FIRES_SHOWN).map((fire) => (
            <Fire key={fire.at} fire={fire} />
          ))}
          {item.nextFires.length > FIRES_SHOWN && (
            <li>
              <details>
                <summary>{item.nextFires.length - FIRES_SHOWN} more in the window</summary>
                <ol class="fires">
                  {item.nextFires.slice(FIRES_SHOWN).map((fire) => (
                    <Fire key={fire.at} fire={fire} />
                  ))}
                </ol>
              </details>
            </li>
          )}
        </ol>
      )}
      <h3>Runs started</h3>
      {item.runs.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ul class="runs">
          {item.runs.map((run) => (
            <li key={run.number} data-testid="schedule-run">
              <a href={`${pageHref('TrainingRun', item.template)}?run=${run.number}`}>
                {item.template} #{run.number}
              </a>{' '}
              <span class={`state state-${run.state}`}>{run.state}</span>{' '}
              <span class="muted">
                {detailAfterState(run) && `${detailAfterState(run)} · `}
                <RelTime at={run.createdAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Fire(props: { fire: ScheduleItem['nextFires'][number] }) {
  return (
    <li>
      <time data-testid="next-fire" dateTime={props.fire.at} title={props.fire.at}>
        {props.fire.local}
      </time>{' '}
      <span class="muted">
        (<RelTime at={props.fire.at} />)
      </span>
    </li>
  );
}
