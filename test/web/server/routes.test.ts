/** Request targets into ApiRoutes: every bad value is a 400 naming its field, with a hint. */
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../controller/web/cursor.js';
import { parseApiRoute, parsePage, parseStreamPath, predictTarget } from '../../../controller/web/routes.js';

const get = (target: string) => {
  const url = new URL(target, 'http://x');
  return parseApiRoute('GET', url.pathname, url.searchParams);
};

const fieldOf = (target: string) => {
  const parsed = get(target);
  if ('route' in parsed) throw new Error(`${target} parsed`);
  expect(parsed.status).toBe(400);
  expect(parsed.error.hint).toBeTruthy();
  return parsed.error.field;
};

describe('parseApiRoute', () => {
  it('parses every document route with its defaults', () => {
    expect(get('/api/v1/overview')).toEqual({
      route: { view: 'overview', filter: {}, limit: 500, offset: 0 },
    });
    expect(
      get('/api/v1/overview?kind=TrainingRun&health=Degraded&sync=OutOfSync&label=team=ml&q=mpg&limit=10'),
    ).toEqual({
      route: {
        view: 'overview',
        filter: {
          kind: 'TrainingRun',
          health: 'Degraded',
          sync: 'OutOfSync',
          label: { key: 'team', value: 'ml' },
          q: 'mpg',
        },
        limit: 10,
        offset: 0,
      },
    });
    expect(get('/api/v1/overview?label=team')).toMatchObject({
      route: { filter: { label: { key: 'team' } } },
    });
    expect(get('/api/v1/plan')).toEqual({ route: { view: 'plan' } });
    expect(get('/api/v1/controller')).toEqual({ route: { view: 'controller' } });
    expect(get('/api/v1/trainingruns/mpg-mlp?run=3')).toEqual({
      route: { view: 'trainingrun', name: 'mpg-mlp', run: 3, limit: 20 },
    });
    expect(get('/api/v1/registeredmodels/mpg')).toEqual({
      route: { view: 'registeredmodel', name: 'mpg', limit: 50 },
    });
    expect(get('/api/v1/deployedendpoints/mpg-api')).toEqual({
      route: { view: 'deployedendpoint', name: 'mpg-api' },
    });
    expect(
      get(`/api/v1/schedules?name=nightly&from=2026-01-05T00:00:00Z&days=31&cursor=${encodeCursor(100)}`),
    ).toEqual({
      route: {
        view: 'schedules',
        name: 'nightly',
        from: new Date('2026-01-05T00:00:00Z'),
        days: 31,
        limit: 100,
        offset: 100,
      },
    });
  });

  it('answers 400 naming the field for every bad query value', () => {
    const bad: [string, string][] = [
      ['/api/v1/overview?kind=Pod', 'kind'],
      ['/api/v1/overview?health=Fine', 'health'],
      ['/api/v1/overview?sync=Maybe', 'sync'],
      ['/api/v1/overview?label==x', 'label'],
      [`/api/v1/overview?q=${'x'.repeat(201)}`, 'q'],
      ['/api/v1/overview?limit=0', 'limit'],
      ['/api/v1/overview?limit=1001', 'limit'],
      ['/api/v1/overview?limit=ten', 'limit'],
      ['/api/v1/overview?cursor=bogus', 'cursor'],
      ['/api/v1/trainingruns/x?run=0', 'run'],
      ['/api/v1/trainingruns/x?run=-1', 'run'],
      ['/api/v1/trainingruns/x?run=1.5', 'run'],
      ['/api/v1/registeredmodels/x?limit=5000', 'limit'],
      ['/api/v1/schedules?days=32', 'days'],
      ['/api/v1/schedules?days=0', 'days'],
      ['/api/v1/schedules?from=yesterday', 'from'],
      ['/api/v1/schedules?name=Bad_Name', 'name'],
    ];
    expect(bad.map(([target]) => fieldOf(target))).toEqual(bad.map(([, field]) => field));
  });

  it('checks names against the manifest name pattern, URL-decoded', () => {
    expect(get('/api/v1/trainingruns/mpg%2Dmlp')).toMatchObject({ route: { name: 'mpg-mlp' } });
    expect(fieldOf('/api/v1/trainingruns/a%2Fb')).toBe('name');
    expect(fieldOf('/api/v1/trainingruns/a..b')).toBe('name');
    expect(get('/api/v1/trainingruns/..')).toMatchObject({ status: 404 });
    expect(fieldOf(`/api/v1/deployedendpoints/${'a'.repeat(50)}`)).toBe('name');
    expect(fieldOf('/api/v1/registeredmodels/%E0%A4%A')).toBe('name');
  });

  it('answers 404 for unknown API paths and 405 for other methods', () => {
    expect(get('/api/v1/pods')).toMatchObject({ status: 404 });
    expect(get('/api/v1/trainingruns/a/b')).toMatchObject({ status: 404 });
    expect(get('/api/v2/overview')).toMatchObject({ status: 404 });
    expect(parseApiRoute('DELETE', '/api/v1/plan', new URLSearchParams())).toMatchObject({ status: 405 });
  });

  it('parses stream paths as API GET routes, sharing a key per route', () => {
    const a = parseStreamPath(new URLSearchParams({ path: '/api/v1/trainingruns/x?run=2' }));
    const b = parseStreamPath(new URLSearchParams({ path: '/api/v1/trainingruns/x?run=2&limit=20' }));
    expect(a).toMatchObject({ route: { view: 'trainingrun', name: 'x', run: 2 } });
    expect('key' in a && 'key' in b && a.key === b.key).toBe(true);
    for (const path of [
      '',
      'overview',
      '/api/v1/stream?path=/api/v1/plan',
      'http://evil/api/v1/plan',
      '//evil/api/v1/plan',
      '/api/v1/nope',
    ]) {
      expect(parseStreamPath(new URLSearchParams({ path }))).toMatchObject({
        status: 400,
        error: { field: 'path' },
      });
    }
    expect(parseStreamPath(new URLSearchParams({ path: '/api/v1/overview?kind=Pod' }))).toMatchObject({
      status: 400,
      error: { field: 'kind' },
    });
  });

  it('finds the predict target and pages /api/status', () => {
    expect(predictTarget('/api/v1/deployedendpoints/mpg-api/predict')).toEqual({ name: 'mpg-api' });
    expect(predictTarget('/api/v1/deployedendpoints/BAD/predict')).toMatchObject({
      error: { field: 'name' },
    });
    expect(predictTarget('/api/v1/deployedendpoints/mpg-api')).toBeUndefined();
    expect(parsePage(new URLSearchParams(`limit=2&cursor=${encodeCursor(4)}`), 500)).toEqual({
      limit: 2,
      offset: 4,
    });
    expect(parsePage(new URLSearchParams('limit=0'), 500)).toMatchObject({
      status: 400,
      error: { field: 'limit' },
    });
  });
});
