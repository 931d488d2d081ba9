/** The app's pure pieces: the SSE parser, its URLs, and its text formats. */
import { describe, expect, it } from 'vitest';
import { detailAfterState, duration, num, relativeTime, short } from '../../../web/src/lib/format.js';
import { addressHref, apiPathOf, matchPage, pageHref, streamUrl } from '../../../web/src/lib/routes.js';
import { SseParser } from '../../../web/src/lib/sse.js';

describe('SseParser', () => {
  it('reassembles events split anywhere, with CRLF, comments and multi-line data', () => {
    const text =
      ': ping\r\n\r\nevent: doc\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: problem\ndata:{"error":"x"}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events).toEqual([
        { event: 'doc', data: '{"a":\n1}' },
        { event: 'problem', data: '{"error":"x"}' },
      ]);
    }
  });

  it('keeps an unfinished event until its blank line, and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(parser.feed('id: 3\nevent: doc\ndata: 1\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ event: 'doc', data: '1' }]);
    expect(parser.feed('data: 2\n\n')).toEqual([{ event: 'message', data: '2' }]);
  });
});

describe('routes', () => {
  it('matches the pages of UI_PAGES and nothing else', () => {
    expect(matchPage('/')).toEqual({ page: 'overview' });
    expect(matchPage('/plan/')).toEqual({ page: 'plan' });
    expect(matchPage('/trainingruns/mpg%20x')).toEqual({ page: 'trainingrun', name: 'mpg x' });
    expect(matchPage('/registeredmodels/mpg')).toEqual({ page: 'registeredmodel', name: 'mpg' });
    expect(matchPage('/deployedendpoints/api')).toEqual({ page: 'deployedendpoint', name: 'api' });
    expect(matchPage('/trainingruns/a/b')).toEqual({ page: 'notfound' });
    expect(matchPage('/trainingruns/%E0%A4%A')).toEqual({ page: 'notfound' });
    expect(matchPage('/widgets/x')).toEqual({ page: 'notfound' });
  });

  it('builds API paths with only the fields each view takes, names encoded', () => {
    const q = (s: string) => new URLSearchParams(s);
    expect(apiPathOf({ page: 'overview' }, q('kind=Schedule&q=a b&junk=1'))).toBe(
      '/api/v1/overview?kind=Schedule&q=a+b&limit=1000',
    );
    expect(apiPathOf({ page: 'trainingrun', name: 'a/../b' }, q('run=2&name=x'))).toBe(
      '/api/v1/trainingruns/a%2F..%2Fb?run=2',
    );
    expect(apiPathOf({ page: 'schedules' }, q('name=nightly'))).toBe('/api/v1/schedules?name=nightly');
    expect(apiPathOf({ page: 'plan' }, q('x=1'))).toBe('/api/v1/plan');
    expect(apiPathOf({ page: 'notfound' }, q(''))).toBeNull();
    expect(streamUrl('/api/v1/trainingruns/mpg?run=2')).toBe(
      '/api/v1/stream?path=%2Fapi%2Fv1%2Ftrainingruns%2Fmpg%3Frun%3D2',
    );
  });

  it('links resources to their pages', () => {
    expect(pageHref('Schedule', 'n&x')).toBe('/schedules?name=n%26x');
    expect(addressHref('DeployedEndpoint/api')).toBe('/deployedendpoints/api');
    expect(addressHref('TrainingRun/mpg#3')).toBe('/trainingruns/mpg?run=3');
    expect(addressHref('TrainingRun/a#b')).toBe('/trainingruns/a%23b');
  });
});

describe('formats', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');
  it('says times relative to now', () => {
    expect(relativeTime('2026-12-05T11:57:00Z', now)).toBe('3 min ago');
    expect(relativeTime('2026-12-05T14:30:00Z', now)).toBe('in 2 h');
    expect(relativeTime('2026-12-01T12:00:00Z', now)).toBe('4 d ago');
    expect(relativeTime('2026-12-05T12:00:02Z', now)).toBe('just now');
    expect(relativeTime('not a time', now)).toBe('not a time');
  });
  it('formats numbers, hashes and durations', () => {
    expect(num(2.3149999)).toBe('2.315');
    expect(num(null)).toBe('–');
    expect(num(0.00001234)).toBe('1.23e-5');
    expect(short('sha256:0f1e2d3c4b5a6978')).toBe('0f1e2d3');
    expect(duration(84)).toBe('1 min 24 s');
    expect(duration(7322)).toBe('2 h 2 min');
    expect(detailAfterState({ state: 'succeeded', detail: 'succeeded val_mae 2' })).toBe('val_mae 2');
    expect(detailAfterState({ state: 'running', detail: 'epoch 3/10' })).toBe('epoch 3/10');
  });
});
