// One `mlform plan` measured in a fresh process, on the compiled build: load the manifests,
// observe the local provider's state (one listing per kind), plan. Prints one JSON line.
import { openProject } from '../dist/controller/cli/project.js';
import { observe } from '../dist/controller/engine/observe.js';
import { plan } from '../dist/controller/engine/plan.js';

const [dir] = process.argv.slice(2);
const t0 = performance.now();
const { project, diagnostics } = await openProject([dir]);
if (!project) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
const t1 = performance.now();
const observed = await observe(project.provider, project.providerCtx);
const t2 = performance.now();
const result = plan(project.desired, observed.state);
const t3 = performance.now();
const changes = result.changes.filter((c) => c.action !== 'noop' && c.action !== 'wait').length;
console.log(
  JSON.stringify({
    loadMs: t1 - t0,
    observeMs: t2 - t1,
    planMs: t3 - t2,
    totalMs: t3 - t0,
    changes,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
