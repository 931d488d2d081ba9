import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import {
  expectedSchemaFiles,
  renderReference,
  REFERENCE_END,
  REFERENCE_START,
} from '../scripts/schema-artifacts.js';

describe('generated artifacts are up to date (run `npm run schemas` to refresh)', () => {
  const expected = expectedSchemaFiles();

  it('schemas/ holds exactly the generated files', () => {
    expect(readdirSync('schemas').sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [name, content] of Object.entries(expected)) {
    it(`schemas/${name}`, () => {
      expect(readFileSync(`schemas/${name}`, 'utf8'), `schemas/${name} is stale: run npm run schemas`).toBe(
        content,
      );
    });
  }

  it('the README manifest reference', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(
      readme.indexOf(REFERENCE_START) + REFERENCE_START.length,
      readme.indexOf(REFERENCE_END),
    );
    expect(section, 'README reference is stale: run npm run schemas').toBe(`\n${renderReference()}`);
  });

  it('the reference documents every default', () => {
    const reference = renderReference();
    expect(reference).toContain('| `spec.trainer.builtin.hyperparameters.epochs` | integer | `100` |');
    expect(reference).toContain(
      '| `spec.preset` | `development` \\| `production` \\| `high-traffic` | `"development"` |',
    );
  });
});
