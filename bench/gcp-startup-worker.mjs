// One `mlform plan` on `provider: gcp` split into its stages, in a fresh process on the compiled
// build, the same steps in the same order as the command: Node itself, the CLI's module graph, the
// gcp provider's modules, loading and validating the manifests, the four listings (their protos
// loaded and their answers decoded on first use), planning and rendering. Prints one JSON line.
// Usage: MLFORM_GCP_API_ENDPOINT=http://127.0.0.1:PORT node bench/gcp-startup-worker.mjs DIR
const stages = { node: performance.now() };
let last = stages.node;
const mark = (stage) => {
  const now = performance.now();
  stages[stage] = now - last;
  last = now;
};
const [dir] = process.argv.slice(2);
// What `mlform plan` loads before its handler runs: the entry and the plan command's modules.
await import('../dist/controller/cli/entry.js');
const { COMMAND_MODULES } = await import('../dist/controller/cli/commands/modules.js');
await COMMAND_MODULES.find((m) => m.names.includes('plan')).load();
mark('cliModules');
const { createGcpProvider } = await import('../dist/providers/gcp/index.js');
mark('gcpModules');
const { loadManifests } = await import('../dist/manifests/load.js');
const { validateResources } = await import('../dist/controller/cli/project.js');
const { observe } = await import('../dist/controller/engine/observe.js');
const { plan } = await import('../dist/controller/engine/plan.js');
const { createPlanTextView } = await import('../dist/controller/ui/plan-text.js');
const { createContext } = await import('../dist/controller/cli/context.js');
const { desired, diagnostics } = await loadManifests([dir]);
const config = desired.project?.config.gcp;
if (!config) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
mark('manifests');
const built = [];
const provider = createGcpProvider({ config, onClientBuilt: (name) => built.push(name) });
const ctx = { stack: desired.project.config.stack, projectDir: dir };
const offline = await provider.validate(ctx, validateResources(desired));
if (offline.some((d) => d.severity === 'error')) throw new Error(JSON.stringify(offline.slice(0, 3)));
mark('validate');
// The listings go over plain HTTPS (providers/gcp/rest-lists.ts): no SDK client is built for
// them (`built` below stays empty unless something else needs one).
const observed = await observe(provider, ctx);
if (observed.diagnostics.length > 0) throw new Error(JSON.stringify(observed.diagnostics.slice(0, 3)));
mark('observe');
const sink = { write: () => true };
const text = createPlanTextView({
  style: createContext({ stdout: sink, stderr: sink, env: { NO_COLOR: '1' } }).style,
}).render(plan(desired, observed.state));
if (!text.includes('No changes')) throw new Error(`not a no-op plan:\n${text.slice(0, 2000)}`);
mark('plan');
await provider.close();
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({ stages, totalMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, built }),
);
