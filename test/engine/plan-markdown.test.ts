/**
 * The pull-request view (`plan -o markdown`): summary first, one collapsible section per resource
 * with its diff in a fenced block, diagnostics with file:line; byte-stable; untrusted strings
 * cannot break out of the fences, the summary HTML or the prose.
 */
import { describe, expect, it } from 'vitest';
import { plan } from '../../controller/engine/plan.js';
import { renderPlanMarkdown } from '../../controller/ui/plan-markdown.js';
import {
  NOW,
  destroyWithProtectedModel,
  empty,
  loadTrees,
  servingV1,
  specChangeWhileRunning,
} from './helpers.js';

describe('the Markdown view', () => {
  it('a spec change while the run is running', async () => {
    const { desired, observed } = await specChangeWhileRunning();
    const p = plan(desired, observed, { now: NOW });
    const markdown = renderPlanMarkdown(p);
    expect(markdown).toMatchInlineSnapshot(`
      "### mlform plan: stack \`demo\`

      **Plan: 1 to add, 2 to change, 1 to destroy, 1 to register, 1 to promote.**

      <details><summary><code>-/+ TrainingRun/mpg-mlp</code> replace</summary>

      \`\`\`diff
      # spec changed while mpg-mlp#2 is running: mpg-mlp#2 will be CANCELLED and replaced by mpg-mlp#3
        -/+ TrainingRun/mpg-mlp (mpg-mlp#2 -> mpg-mlp#3)
      \`\`\`

      </details>

      <details><summary><code>+ RegisteredModel/mpg</code> register, promote</summary>

      \`\`\`diff
      # after training, if mpg-mlp#3 passes the gate
        + register mpg from mpg-mlp#3, version (known after training)
      # champion follows best val_mae (minimize): known after training
        ~ alias mpg/champion v1 -> (known after training)
      \`\`\`

      </details>

      <details><summary><code>~ DeployedEndpoint/mpg-api</code> update</summary>

      \`\`\`diff
      # traffic known after training
        ~ DeployedEndpoint/mpg-api
      -     traffic: "champion (v1) 100%"
      +     traffic: "champion (known after training) 100%"
      \`\`\`

      </details>

      <details><summary><code>~ Schedule/mpg-weekly</code> update</summary>

      \`\`\`diff
      # its template TrainingRun/mpg-mlp changed; next run 2026-11-23 06:00 Europe/Warsaw
        ~ Schedule/mpg-weekly
      \`\`\`

      </details>
      "
    `);
    // Byte for byte the same for the same plan: CI updates its comment only when this changes.
    expect(renderPlanMarkdown(plan(desired, observed, { now: NOW }))).toBe(markdown);
  });

  it('errors and warnings with file:line, drift, and a plan apply refuses', async () => {
    const { desired, observed } = await destroyWithProtectedModel();
    expect(renderPlanMarkdown(plan(desired, observed, { now: NOW, destroy: true }))).toMatchInlineSnapshot(`
      "### mlform plan: stack \`demo\`

      **Plan: 0 to add, 0 to change, 1 to destroy, 1 to cancel.**

      :x: The plan has 1 error; apply will refuse it.

      <details><summary><code>- DeployedEndpoint/mpg-api</code> delete</summary>

      \`\`\`diff
      # destroy
        - DeployedEndpoint/mpg-api
      -     spec.batching: {"enabled":true,"maxBatchSize":64,"batchTimeoutMicros":10000}
      -     spec.model: "mpg"
      -     spec.preset: "development"
      -     spec.resources: {"memory":"2Gi","cpu":"1"}
      -     spec.scaling: {"minInstances":0,"maxInstances":2}
      -     spec.timeoutSeconds: 300
      -     spec.traffic: [{"version":"champion","percent":100}]
      \`\`\`

      </details>

      <details><summary><code>- TrainingRun/mpg-mlp</code> cancel</summary>

      \`\`\`diff
      # destroy
        - cancel TrainingRun/mpg-mlp#1 (running)
      \`\`\`

      </details>

      #### Errors

      - \`test/engine/fixtures/protected/model.yaml:5:42\` RegisteredModel/mpg has mlform/prevent\\-destroy\\: remove the annotation \\(and apply\\) before deleting it [\`prevent-destroy\`]
      "
    `);
  });

  it('no changes', async () => {
    const { desired, observed } = await servingV1(['core', 'runs']);
    expect(renderPlanMarkdown(plan(desired, observed, { now: NOW }))).toMatchInlineSnapshot(`
      "### mlform plan: stack \`demo\`

      **No changes: the actual state matches the manifests.**
      "
    `);
  });

  it('keeps hostile names and values inside their fences and tags', async () => {
    const desired = await loadTrees('core', 'runs');
    const p = plan(desired, empty(), { now: NOW });
    const hostile = '</code></summary></details>\n```\n@everyone <img src=x onerror=alert(1)> #1';
    p.changes = p.changes.map((c) => ({ ...c, reason: hostile, resource: `${c.resource}${hostile}` }));
    p.diagnostics = [{ severity: 'warning', code: 'x', message: hostile, file: 'a`b.yaml', line: 3, col: 1 }];
    const md = renderPlanMarkdown(p);
    // Fences: each block's closing fence is longer than any backtick run inside it, and the text
    // inside one (where HTML and mentions are inert) stays on its lines.
    const blocks = [...md.matchAll(/^(`{3,})diff\n([\s\S]*?)\n\1$/gm)];
    const shown = p.changes.filter((c) => c.action !== 'noop' || c.notice);
    expect(blocks).toHaveLength(new Set(shown.map((c) => c.resource)).size);
    for (const block of blocks) expect(block[2]).not.toContain(block[1]);
    // Outside the fences, as GitHub renders it: only our own tags, no live HTML or mention.
    const prose = blocks.reduce((text, block) => text.replace(block[0], ''), md);
    expect(prose.match(/<details>/g)?.length).toBe(blocks.length);
    expect(prose.match(/<\/details>/g)?.length).toBe(blocks.length);
    expect(prose).not.toMatch(/(^|[^\\])<img/);
    expect(prose).not.toMatch(/@everyone/);
    expect(prose).toContain('a`b.yaml:3:1');
  });
});
