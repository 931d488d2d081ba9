/**
 * A time shown relative ("3 min ago") with the absolute instant in its title. One shared clock
 * ticks every 30 s so the words stay true between documents without a timer per element.
 */
import { absoluteTime, relativeTime } from '../lib/format.js';
import { createStore, useStore } from '../lib/store.js';

const TICK_MS = 30_000;
const clock = createStore(Date.now());
let ticking = false;

function useClock(): void {
  if (!ticking) {
    ticking = true;
    setInterval(() => clock.set(Date.now()), TICK_MS);
  }
  useStore(clock);
}

export function RelTime(props: { at: string | null | undefined; testid?: string }) {
  useClock();
  if (!props.at) return <span data-testid={props.testid}>–</span>;
  return (
    <time dateTime={props.at} title={absoluteTime(props.at)} data-testid={props.testid}>
      {relativeTime(props.at)}
    </time>
  );
}
