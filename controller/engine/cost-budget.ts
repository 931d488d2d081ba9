/** `budget: {perApply, monthly}` of mlform.yaml against the plan's cost estimate. */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { LoadedProject } from '../../manifests/load.js';
import type { CostItem, PlanCost } from './cost-schema.js';
import { money } from './cost.js';

/** One error per limit the estimate's high end exceeds, at the limit's line, naming what costs what. */
export function checkBudget(project: LoadedProject | undefined, cost: PlanCost): Diagnostic[] {
  const budget = project?.config.budget;
  if (!project || !budget) return [];
  const out: Diagnostic[] = [];
  const limits = [
    {
      key: 'perApply',
      limit: budget.perApply,
      period: 'once',
      total: cost.total.once,
      what: 'the trainings this apply launches',
    },
    {
      key: 'monthly',
      limit: budget.monthly,
      period: 'month',
      total: cost.total.monthly,
      what: 'the stack per month',
    },
  ] as const;
  for (const { key, limit, period, total, what } of limits) {
    if (limit === undefined || total.high <= limit) continue;
    const items = cost.items
      .filter(
        (i): i is CostItem & { amount: NonNullable<CostItem['amount']> } =>
          i.period === period && i.amount !== null && i.amount.high > 0,
      )
      .sort((a, b) => b.amount.high - a.amount.high)
      .map((i) => `${i.address} ${money(i.amount)}`);
    out.push(
      error(
        'over-budget',
        `the estimate for ${what} is ${money(total)}, over budget.${key} ($${limit}): ${items.join(', ')}`,
        {
          file: project.file,
          line: 1,
          path: ['budget', key],
          hint: `raise budget.${key}, or make the largest items cheaper (Spot, smaller machines, fewer minInstances, fewer fires)`,
        },
      ),
    );
  }
  return out;
}
