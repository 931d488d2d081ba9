/**
 * Model health as the run page shows it, from metrics.json's `health` (trainer/health/
 * assess-health.ts `Health`). The file is attacker-written (any trainer writes it), so the shape
 * is checked with a schema and anything malformed is no health at all rather than half of one.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { RunDetail } from '../api.js';
import { cleanText } from './safe-text.js';

/** JSON has no Infinity or NaN: the trainer writes them as null. */
const Num = Type.Union([Type.Number(), Type.Null()]);
const MAX_LAYERS = 1000;

const HealthFileSchema = Type.Object({
  healthScore: Type.Number(),
  deadNeurons: Type.Object({ layers: Type.Record(Type.String(), Num), max: Num }),
  gradients: Type.Object({
    layers: Type.Record(Type.String(), Type.Object({ last: Num, max: Num })),
    global: Type.Object({ last: Num, max: Num }),
    vanishing: Type.Boolean(),
    exploding: Type.Boolean(),
  }),
  lossStability: Type.Object({ cv: Num }),
  generalization: Type.Object({ gap: Num, overfitting: Type.Boolean() }),
});
type HealthFile = Static<typeof HealthFileSchema>;

const num = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

export function healthOf(metricsFile: unknown): RunDetail['health'] {
  if (typeof metricsFile !== 'object' || metricsFile === null || !('health' in metricsFile)) return null;
  const health: unknown = metricsFile.health;
  if (!Value.Check(HealthFileSchema, health)) return null;
  const h: HealthFile = health;
  const names = [...new Set([...Object.keys(h.deadNeurons.layers), ...Object.keys(h.gradients.layers)])];
  if (!Number.isFinite(h.healthScore) || names.length > MAX_LAYERS) return null;
  return {
    score: h.healthScore,
    deadFractionMax: num(h.deadNeurons.max),
    gradNormLast: num(h.gradients.global.last),
    gradNormMax: num(h.gradients.global.max),
    exploding: h.gradients.exploding,
    vanishing: h.gradients.vanishing,
    lossCv: num(h.lossStability.cv),
    gap: num(h.generalization.gap),
    overfitting: h.generalization.overfitting,
    layers: names.map((name) => ({
      name: cleanText(name).slice(0, 128),
      deadFraction: Object.hasOwn(h.deadNeurons.layers, name) ? num(h.deadNeurons.layers[name]) : null,
      gradNorm: Object.hasOwn(h.gradients.layers, name) ? num(h.gradients.layers[name].last) : null,
    })),
  };
}
