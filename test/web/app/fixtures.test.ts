/** The fixture documents stay true to the contract: each validates against its view's schema. */
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_SCHEMAS } from '../../../controller/web/api.js';
import { FIXTURE_NAMES, FIXTURE_VIEWS, fixture, largeOverview } from './fixtures.js';

describe('dashboard fixtures', () => {
  it.each(FIXTURE_NAMES)('%s matches its document schema', (name) => {
    const schema = DOCUMENT_SCHEMAS[FIXTURE_VIEWS[name]];
    const errors = [...Value.Errors(schema, fixture(name))].map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([]);
  });

  it('the generated 1,000-resource overview matches too', () => {
    const doc = largeOverview(1000);
    expect(doc.items).toHaveLength(1000);
    expect([...Value.Errors(DOCUMENT_SCHEMAS.overview, doc)].map((e) => e.path)).toEqual([]);
  });
});
