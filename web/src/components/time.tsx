/** A time shown relative ("3 min ago") with the absolute instant in its title. */
import { absoluteTime, relativeTime } from '../lib/format.js';

export function RelTime(props: { at: string | null | undefined; testid?: string }) {
  if (!props.at) return <span data-testid={props.testid}>–</span>;
  return (
    <time dateTime={props.at} title={absoluteTime(props.at)} data-testid={props.testid}>
      {relativeTime(props.at)}
    </time>
  );
}
