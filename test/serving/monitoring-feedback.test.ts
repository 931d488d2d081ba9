import { describe, expect, it } from 'vitest';
import { RecentRequests } from '../../serving/monitoring-feedback.js';

describe('RecentRequests', () => {
  it('keeps the newest requests up to the bound and forgets the oldest first', () => {
    const recent = new RecentRequests(4, 1000);
    for (let i = 0; i < 10; i++) recent.remember(`r${i}`, 1, i * 1000, [i]);
    const kept = Array.from({ length: 10 }, (_, i) => recent.get(`r${i}`) !== undefined);
    expect(kept).toEqual([false, false, false, false, false, false, true, true, true, true]);
    expect(recent.get('r9')).toMatchObject({ version: 1, windowStartMs: 9000, predictions: [9] });
    const entry = recent.get('r8');
    expect(entry?.joined(0)).toBe(false);
    entry?.markJoined(0);
    expect(recent.get('r8')?.joined(0)).toBe(true);
  });

  it('bounds the predictions held too, and keeps the newest request under a reused id', () => {
    const recent = new RecentRequests(1000, 10);
    recent.remember(
      'big',
      1,
      0,
      Array.from({ length: 6 }, () => 1),
    );
    recent.remember('next', 1, 0, [2]); // the first generation is full: it becomes the old one
    recent.remember('last', 1, 0, [3]);
    expect(recent.get('big')).toBeDefined();
    recent.remember(
      'more',
      1,
      0,
      Array.from({ length: 5 }, () => 1),
    );
    recent.remember('after', 1, 0, [4]); // rotated again: "big" is gone
    expect(recent.get('big')).toBeUndefined();
    recent.remember('after', 2, 0, [{ label: 'a', probabilities: {} }]);
    expect(recent.get('after')).toMatchObject({ version: 2, predictions: ['a'] });
  });
});
