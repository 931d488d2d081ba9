/**
 * One live stream per page: `GET /api/v1/stream?path=...` read with fetch as Server-Sent Events.
 * Each `doc` event replaces the page's document, `problem` events are shown beside it, and a
 * dropped stream reconnects with exponential backoff. A 401 raises the login form and waits for
 * a token (authEpoch) instead of retrying.
 *
 * A hidden tab closes its stream and reopens it when shown again (the first event brings the
 * document up to date): a browser opens at most six HTTP/1.1 connections to one host, and each
 * open stream holds one, so a seventh tab of the dashboard would otherwise never load.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ApiDocument, ApiError } from '../../../controller/web/api.js';
import { STREAM_EVENTS } from './contract.js';
import { ApiFailure, authEpoch, authHeaders, failureOf, signInNeeded } from './api-client.js';
import { streamUrl } from './routes.js';
import { SseParser } from './sse.js';
import { useStore } from './store.js';

export type LiveState = 'open' | 'connecting' | 'closed' | 'paused';

export interface Live {
  doc: ApiDocument | null;
  state: LiveState;
  /** Why there is no (fresh) document: the stream's refusal or the last `problem` event. */
  failure: ApiError | null;
}

const FIRST_RETRY_MS = 1000;

/** Whether the page is visible; follows `visibilitychange`. */
function useVisible(): boolean {
  const [visible, setVisible] = useState(document.visibilityState !== 'hidden');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}
const MAX_RETRY_MS = 30_000;

/**
 * `page` keys the document: within one page a new query keeps showing the last document until the
 * new one arrives (no flicker while typing a filter); another page starts empty.
 */
export function useLiveDoc(apiPath: string | null, page: string): Live {
  const epoch = useStore(authEpoch);
  const [held, setHeld] = useState<{ page: string; doc: ApiDocument } | null>(null);
  const [state, setState] = useState<LiveState>('connecting');
  const [failure, setFailure] = useState<ApiError | null>(null);
  const visible = useVisible();

  useEffect(() => {
    if (apiPath === null) {
      setState('closed');
      return;
    }
    if (!visible) {
      setState('paused');
      return;
    }
    const abort = new AbortController();
    let retryMs = FIRST_RETRY_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setFailure(null);

    const connect = async () => {
      setState('connecting');
      try {
        const response = await fetch(streamUrl(apiPath), {
          headers: { ...authHeaders(), accept: 'text/event-stream' },
          signal: abort.signal,
          cache: 'no-store',
        });
        if (response.status === 401) {
          signInNeeded.set(true);
          setFailure((await failureOf(response)).body);
          setState('closed');
          return; // a new token bumps authEpoch, which reconnects
        }
        if (!response.ok || !response.body) throw await failureOf(response);
        setState('open');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const event of parser.feed(value)) {
            if (event.event === STREAM_EVENTS.doc) {
              setHeld({ page, doc: JSON.parse(event.data) as ApiDocument });
              setFailure(null);
              retryMs = FIRST_RETRY_MS;
            } else if (event.event === STREAM_EVENTS.problem) {
              setFailure(JSON.parse(event.data) as ApiError);
            }
          }
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error instanceof ApiFailure) setFailure(error.body);
        // A bad query (400) will not get better by asking again.
        if (error instanceof ApiFailure && error.status === 400) {
          setState('closed');
          return;
        }
      }
      if (abort.signal.aborted) return;
      setState('closed');
      timer = setTimeout(() => void connect(), retryMs * (0.75 + Math.random() / 2));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
    void connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [apiPath, epoch, visible]);

  return { doc: held && held.page === page ? held.doc : null, state, failure };
}
