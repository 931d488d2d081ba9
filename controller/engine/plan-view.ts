/**
 * How a plan is shown. The human view (`controller/ui/plan-text.ts`), the JSON view
 * (`controller/ui/plan-json.ts`) and the pull-request view (`controller/ui/plan-markdown.ts`) implement this one interface; the command picks
 * one, the plan never knows which.
 */
import type { Plan } from './change.js';

export interface PlanView {
  readonly format: 'text' | 'json' | 'markdown';
  /** The whole document the command prints for this plan. */
  render(plan: Plan): string;
}
