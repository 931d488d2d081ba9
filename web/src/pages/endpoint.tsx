/**
 * A DeployedEndpoint: URL, model, the live traffic split as a bar, readiness, serving metrics from
 * the model server, and a sample request a person can edit and send through the API's proxy.
 */
import { useEffect, useState } from 'preact/hooks';
import type { EndpointDoc, PredictResult } from '../../../controller/web/api.js';
import { ApiErrorBox } from '../components/messages.js';
import { RowTable } from '../components/table.js';
import { ApiFailure, apiFetch } from '../lib/api-client.js';
import { API_PREFIX } from '../lib/contract.js';
import { num } from '../lib/format.js';
import { pageHref } from '../lib/routes.js';
import { ResourceHeader, SpecBlock } from './resource-header.js';

export function EndpointPage(props: { doc: EndpointDoc }) {
  const { doc } = props;
  const { resource } = doc;
  return (
    <>
      <ResourceHeader resource={resource} />
      <dl class="facts">
        <dt>URL</dt>
        <dd>
          <code data-testid="endpoint-url">{doc.url ?? '–'}</code>
        </dd>
        <dt>Model</dt>
        <dd>
          <a href={pageHref('RegisteredModel', doc.model)}>{doc.model}</a>
        </dd>
        <dt>Readiness</dt>
        <dd data-testid="readiness" data-ready={doc.ready ? 'true' : 'false'}>
          <span class={`flag ${doc.ready ? 'ok' : 'bad'}`}>
            <span aria-hidden="true">{doc.ready ? '✓ ' : '✕ '}</span>
            {doc.ready ? 'Ready' : 'Not ready'}
          </span>
          {doc.healthDetail && <span class="muted"> · {doc.healthDetail}</span>}
        </dd>
      </dl>
      <TrafficBar traffic={doc.traffic} />
      <Serving doc={doc} />
      <SampleRequest doc={doc} />
      <SpecBlock yaml={doc.specYaml} />
    </>
  );
}

function TrafficBar(props: { traffic: EndpointDoc['traffic'] }) {
  return (
    <section aria-labelledby="traffic-h">
      <h2 id="traffic-h">Traffic</h2>
      {props.traffic.length === 0 ? (
        <p class="muted">No traffic split reported.</p>
      ) : (
        <div class="traffic-bar" data-testid="traffic-bar" role="list" aria-label="Traffic split">
          {props.traffic.map((t, i) => (
            <div
              key={t.version}
              role="listitem"
              class={`traffic-segment seg-${i % 4}`}
              style={{ flexGrow: Math.max(t.percent, 0), flexBasis: 0 }}
              data-testid="traffic-segment"
              data-version={t.version}
              data-percent={t.percent}
              title={`v${t.version} ${t.percent}%${t.aliases.length ? ` (${t.aliases.join(', ')})` : ''}`}
            >
              <span class="segment-label">
                v{t.version} {num(t.percent, 3)}%
              </span>
              {t.aliases.length > 0 && <span class="segment-aliases">{t.aliases.join(', ')}</span>}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function Serving(props: { doc: EndpointDoc }) {
  const s = props.doc.serving;
  return (
    <section aria-labelledby="serving-h" class="panel" data-testid="serving-metrics">
      <h2 id="serving-h">Serving</h2>
      {!s ? (
        <p class="muted">{props.doc.servingNote ?? 'No serving metrics.'}</p>
      ) : (
        <>
          <dl class="facts">
            <dt>Request rate</dt>
            <dd>{s.requestRate === null ? 'measuring…' : `${num(s.requestRate, 3)} req/s`}</dd>
            <dt>Latency p50 / p95 / p99</dt>
            <dd>
              {num(s.latencyMs.p50, 3)} / {num(s.latencyMs.p95, 3)} / {num(s.latencyMs.p99, 3)} ms
            </dd>
            <dt>Requests</dt>
            <dd>{s.requestsTotal}</dd>
            <dt>Errors</dt>
            <dd>
              {s.errorsTotal}
              {s.requestsTotal > 0 && (
                <span class="muted"> ({num((s.errorsTotal / s.requestsTotal) * 100, 3)}%)</span>
              )}
            </dd>
          </dl>
          <RowTable
            caption="Per version"
            columns={['Version', 'Requests', 'Ready']}
            rows={s.byVersion.map((v) => ({
              key: v.version,
              head: v.version,
              cells: [v.requests, v.ready ? '✓ ready' : '✕ not ready'],
            }))}
          />
          {props.doc.servingNote && <p class="muted">{props.doc.servingNote}</p>}
        </>
      )}
    </section>
  );
}

type Sent = { result: PredictResult } | { failure: ApiFailure } | null;

function SampleRequest(props: { doc: EndpointDoc }) {
  const { doc } = props;
  const initial = doc.sample?.body ?? '';
  const [body, setBody] = useState(initial);
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState<Sent>(null);
  // A new sample (another endpoint, a new version) replaces the text only if it was not edited.
  const [lastInitial, setLastInitial] = useState(initial);
  useEffect(() => {
    if (initial !== lastInitial) {
      if (body === lastInitial) setBody(initial);
      setLastInitial(initial);
    }
  }, [initial]);

  const send = async (event: Event) => {
    event.preventDefault();
    setSending(true);
    try {
      const response = await apiFetch(
        `${API_PREFIX}/deployedendpoints/${encodeURIComponent(doc.resource.name)}/predict`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        },
      );
      setSent({ result: (await response.json()) as PredictResult });
    } catch (error) {
      setSent({
        failure: error instanceof ApiFailure ? error : new ApiFailure(0, { error: String(error) }),
      });
    } finally {
      setSending(false);
    }
  };

  return (
    <section aria-labelledby="sample-h">
      <h2 id="sample-h">Sample request</h2>
      {doc.sample && (
        <p class="muted">
          Sent to <code>{doc.sample.path}</code> on the endpoint.
        </p>
      )}
      <form onSubmit={send} class="sample-form">
        <label for="sample-request">Request body</label>
        <textarea
          id="sample-request"
          name="sample-request"
          rows={6}
          spellcheck={false}
          value={body}
          onInput={(e) => setBody((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <div>
          <button
            type="submit"
            name="send-request"
            disabled={!doc.canSend || sending}
            aria-describedby={doc.canSend ? undefined : 'send-note'}
          >
            {sending ? 'Sending…' : 'Send'}
          </button>{' '}
          {!doc.canSend && (
            <span id="send-note" class="muted">
              {doc.sendNote ?? 'Sending is not available for this endpoint.'}
            </span>
          )}
        </div>
      </form>
      <div data-testid="sample-response" aria-live="polite">
        {sent && 'result' in sent && (
          <>
            <p>
              <span class={`flag ${sent.result.status < 400 ? 'ok' : 'bad'}`}>
                <span aria-hidden="true">{sent.result.status < 400 ? '✓ ' : '✕ '}</span>
                {sent.result.status}
              </span>{' '}
              <span class="muted">in {num(sent.result.durationMs, 3)} ms</span>
            </p>
            <pre tabIndex={0}>{sent.result.body}</pre>
          </>
        )}
        {sent && 'failure' in sent && (
          <>
            <p>The dashboard answered {sent.failure.status || 'nothing (network error)'}:</p>
            <ApiErrorBox error={sent.failure.body} testid="send-error" />
          </>
        )}
      </div>
    </section>
  );
}
