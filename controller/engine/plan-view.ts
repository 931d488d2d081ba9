/**
 * How a plan is shown. The human view (`controller/ui/plan-text.ts`) and the JSON view
 * (`controller/ui/plan-json.ts`) are two implementations of this one interface; the command picks
 * one, the plan never knows which.
 */
import type { Plan } from './change.js';

export interface PlanView {
  readonly format: 'text' | 'json';
  /** The whole document the command prints for this plan. */
  render(plan: Plan): string;
}
