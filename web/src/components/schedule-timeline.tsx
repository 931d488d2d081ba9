/**
 * The schedules' fire times over the window as an SVG timeline: days across, a row per schedule,
 * a tick per fire; suspended schedules greyed and marked in their row label.
 */
import type { SchedulesDoc } from '../../../controller/web/api.js';

const ROW = 28;
const LABEL = 150;
const WIDTH = 900;
const HEAD = 22;
const DAY_MS = 86_400_000;

export function ScheduleTimeline(props: { doc: SchedulesDoc }) {
  const { window: win, items } = props.doc;
  const from = Date.parse(win.from);
  const to = Date.parse(win.to);
  if (!(to > from)) return null;
  const x = (t: number) => LABEL + ((t - from) / (to - from)) * (WIDTH - LABEL - 10);
  const days: number[] = [];
  // Day lines at UTC midnights: the ticks carry the exact instants in their titles.
  for (let day = Math.ceil(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) days.push(day);
  const height = HEAD + items.length * ROW + 4;
  // A label per day up to ten days; over a month, every third or fourth day.
  const labelEvery = Math.ceil(days.length / 10);
  return (
    <figure class="timeline">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        data-testid="schedule-timeline"
        role="img"
        aria-label={`Fire times from ${win.from} to ${win.to}`}
      >
        {days.map((day, i) => (
          <g key={day} class="day">
            <line x1={x(day)} x2={x(day)} y1={HEAD - 4} y2={height} />
            {i % labelEvery === 0 && x(day) < WIDTH - 60 && (
              <text x={x(day) + 3} y={14}>
                {new Date(day).toLocaleDateString(undefined, {
                  weekday: 'short',
                  day: 'numeric',
                  timeZone: 'UTC',
                })}
              </text>
            )}
          </g>
        ))}
        {items.map((item, row) => {
          const y = HEAD + row * ROW;
          return (
            <g key={item.resource.name} class={item.suspended ? 'timeline-row suspended' : 'timeline-row'}>
              <text x={4} y={y + ROW / 2 + 4} class="row-label">
                {item.suspended ? '‖ ' : ''}
                {item.resource.name.length > 18 ? `${item.resource.name.slice(0, 17)}…` : item.resource.name}
              </text>
              <line x1={LABEL} x2={WIDTH - 10} y1={y + ROW / 2} y2={y + ROW / 2} class="row-line" />
              {item.nextFires.map((fire) => {
                const t = Date.parse(fire.at);
                if (Number.isNaN(t) || t < from || t > to) return null;
                return (
                  <line key={fire.at} class="tick" x1={x(t)} x2={x(t)} y1={y + 6} y2={y + ROW - 6}>
                    <title>
                      {item.resource.name}: {fire.local} ({fire.at}){item.suspended ? ', suspended' : ''}
                    </title>
                  </line>
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption class="muted">
        Next fires from {new Date(from).toLocaleString()} to {new Date(to).toLocaleString()}; suspended
        schedules greyed (‖).
      </figcaption>
    </figure>
  );
}
