/**
 * The plan's cost estimate as data (`Plan.cost`, optional: plans saved before it have none). Amounts
 * are USD at list prices (`cost-prices.ts`); a range where fallback machines price differently.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Strict } from '../../resources/schema-helpers.js';

export const CostRangeSchema = Type.Object({ low: Type.Number(), high: Type.Number() }, Strict);
export type CostRange = Static<typeof CostRangeSchema>;

export const CostItemSchema = Type.Object(
  {
    /** `Kind/name` of the resource the money goes to. */
    address: Type.String(),
    /** `once`: this apply launches it (a training); `month`: what it costs per month once applied. */
    period: StringEnum(['once', 'month'] as const),
    /** USD; null when it cannot be estimated (no duration, no price): `detail` says why. */
    amount: Type.Union([CostRangeSchema, Type.Null()]),
    /** USD per hour of one run's machines (trainings and schedules), for an unknown duration. */
    hourly: Type.Optional(CostRangeSchema),
    /** Hours of one run, and where the figure comes from. */
    hours: Type.Optional(Type.Number()),
    gpuHours: Type.Optional(Type.Number()),
    /** Local provider: CPU-hours of the training process. */
    cpuHours: Type.Optional(Type.Number()),
    /** How the figure was computed, for people (`1h00m (median of 3 runs) x $3.59/h`). */
    detail: Type.String(),
  },
  Strict,
);
export type CostItem = Static<typeof CostItemSchema>;

export const PlanCostSchema = Type.Object(
  {
    currency: Type.Literal('USD'),
    /** Date of the price table the figures come from. */
    pricesAsOf: Type.String(),
    provider: StringEnum(['local', 'gcp'] as const),
    items: Type.Array(CostItemSchema),
    /** Sums of the items with an amount: the trainings this apply launches, and the monthly run rate. */
    total: Type.Object({ once: CostRangeSchema, monthly: CostRangeSchema }, Strict),
    /** Items left out of the totals because their amount is unknown. */
    unknown: Type.Integer({ minimum: 0 }),
  },
  Strict,
);
export type PlanCost = Static<typeof PlanCostSchema>;
