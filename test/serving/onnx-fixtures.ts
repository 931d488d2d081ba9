/** The ONNX fixtures (test/fixtures/onnx, built by make.py) and how served answers are compared. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Prediction } from '../../artifact/preprocess/index.js';

export const ONNX_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'onnx');
export interface Expected {
  instances: Record<string, unknown>[];
  predictions: Prediction[];
}

export const expectedOf = (fixture: string): Expected =>
  JSON.parse(readFileSync(join(ONNX_FIXTURES, fixture, 'expected.json'), 'utf8')) as Expected;

/** Within 1e-5 of what PyTorch computed (relative to the value's size, at least absolute 1e-5). */
export function expectNear(actual: unknown, expected: Prediction[]): void {
  const near = (a: unknown, b: number): boolean =>
    typeof a === 'number' && Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
  expect((actual as unknown[]).length).toBe(expected.length);
  expected.forEach((e, i) => {
    const a: unknown = (actual as unknown[])[i];
    if (typeof e === 'number') {
      expect(near(a, e), `prediction ${i}: served ${JSON.stringify(a)}, PyTorch ${e}`).toBe(true);
      return;
    }
    const served = a as { label?: unknown; probabilities?: Record<string, unknown> };
    expect(served.label, `prediction ${i}`).toBe(e.label);
    for (const [label, p] of Object.entries(e.probabilities)) {
      const got = served.probabilities?.[label];
      expect(near(got, p), `prediction ${i}: p(${label}) served ${String(got)}, PyTorch ${p}`).toBe(true);
    }
  });
}
