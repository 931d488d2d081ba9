/** The fixture documents of the app's browser tests, one JSON file per view (kept valid by fixtures.test.ts). */
import { readFileSync } from 'node:fs';
import type {
  ControllerDoc,
  EndpointDoc,
  OverviewDoc,
  OverviewItem,
  PlanDoc,
  RegisteredModelDoc,
  SchedulesDoc,
  TrainingRunDoc,
} from '../../../controller/web/api.js';

export interface Fixtures {
  overview: OverviewDoc;
  plan: PlanDoc;
  trainingrun: TrainingRunDoc;
  'trainingrun-run1': TrainingRunDoc;
  registeredmodel: RegisteredModelDoc;
  deployedendpoint: EndpointDoc;
  schedules: SchedulesDoc;
  controller: ControllerDoc;
}

export const FIXTURE_NAMES = [
  'overview',
  'plan',
  'trainingrun',
  'trainingrun-run1',
  'registeredmodel',
  'deployedendpoint',
  'schedules',
  'controller',
] as const satisfies readonly (keyof Fixtures)[];

/** The view (DOCUMENT_SCHEMAS key) of each fixture file. */
export const FIXTURE_VIEWS = {
  overview: 'overview',
  plan: 'plan',
  trainingrun: 'trainingrun',
  'trainingrun-run1': 'trainingrun',
  registeredmodel: 'registeredmodel',
  deployedendpoint: 'deployedendpoint',
  schedules: 'schedules',
  controller: 'controller',
} as const satisfies Record<keyof Fixtures, string>;

/** A fresh copy each call, so a test may change it. */
export function fixture<K extends keyof Fixtures>(name: K): Fixtures[K] {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixtures[K];
}

/** An overview of `n` resources: 250 models of four resources each, for the 1,000-card page. */
export function largeOverview(n: number): OverviewDoc {
  const base = fixture('overview');
  const template = base.items.filter((item) => item.group === 'mpg').slice(0, 4);
  const items: OverviewItem[] = [];
  for (let i = 0; items.length < n; i++) {
    for (const t of template) {
      if (items.length === n) break;
      const name = `${t.name}-${String(i).padStart(4, '0')}`;
      items.push({ ...t, name, address: `${t.kind}/${name}`, group: `mpg-${String(i).padStart(4, '0')}` });
    }
  }
  const byKind: Record<string, number> = {};
  const byHealth: Record<string, number> = {};
  const bySync: Record<string, number> = {};
  for (const item of items) {
    byKind[item.kind] = (byKind[item.kind] ?? 0) + 1;
    byHealth[item.health] = (byHealth[item.health] ?? 0) + 1;
    bySync[item.sync] = (bySync[item.sync] ?? 0) + 1;
  }
  return { ...base, items, matched: n, counts: { total: n, byKind, byHealth, bySync }, diagnostics: [] };
}
