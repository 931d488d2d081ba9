/**
 * deploy/k8s must stay in step with the controller: every flag the Deployment passes exists, the
 * probes hit routes the status server serves, and the Workload Identity wiring is complete.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../controller/cli/main.js';
import { createContext } from '../../controller/cli/context.js';
import { loadPolicyFile } from '../../controller/cli/policy-file.js';

const K8S = join(import.meta.dirname, '..', '..', 'deploy', 'k8s');

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

async function objects(): Promise<K8sObject[]> {
  const out: K8sObject[] = [];
  for (const file of (await readdir(K8S)).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(await readFile(join(K8S, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      const value = doc.toJS() as K8sObject | null;
      if (value?.kind) out.push(value);
    }
  }
  return out;
}

const sink = { write: () => true };
const controllerOptions = (): string[] => {
  const program = buildProgram(createContext({ stdout: sink, stderr: sink, env: {} }), () => {});
  const command = program.commands.find((c) => c.name() === 'controller');
  if (!command) throw new Error('no controller command');
  return command.options.map((o) => o.long ?? '');
};

interface Container {
  args: string[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  envFrom: { configMapRef: { name: string } }[];
}

describe('deploy/k8s', () => {
  it('runs two replicas of the controller with probes and known flags', async () => {
    const all = await objects();
    const deployment = all.find((o) => o.kind === 'Deployment');
    expect(deployment?.spec?.replicas).toBe(2);
    const pod = (
      deployment?.spec?.template as { spec: { serviceAccountName: string; containers: Container[] } }
    ).spec;
    const [container] = pod.containers;
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');

    // Beyond loopback the controller requires a token: the flag and the Secret key it reads.
    expect(container.args).toContain('--listen=0.0.0.0:8080');
    expect(container.args).toContain('--auth-token-file=/etc/mlform/secret/auth-token');
    const { volumes } = pod as unknown as { volumes: { name: string; secret?: { defaultMode: number } }[] };
    const secretVolume = volumes.find((v) => v.secret);
    // No permission for other users: the controller refuses such a token file. The yaml package
    // reads YAML 1.2, where 0400 is the integer 400; Kubernetes reads it as octal, like this.
    const mode = Number.parseInt(String(secretVolume?.secret?.defaultMode), 8);
    expect(mode & 0o007).toBe(0);
    const known = controllerOptions();
    for (const arg of container.args) {
      const flag = arg.split('=')[0];
      expect(known, `${flag} is not an option of mlform controller`).toContain(flag);
    }

    // $(VAR) in args must come from the ConfigMap the pod reads.
    const config = all.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'mlform-controller',
    ) as K8sObject & {
      data: Record<string, string>;
    };
    expect(container.envFrom[0].configMapRef.name).toBe(config.metadata.name);
    for (const arg of container.args) {
      for (const [, name] of arg.matchAll(/\$\((\w+)\)/g)) expect(Object.keys(config.data)).toContain(name);
    }

    const account = all.find((o) => o.kind === 'ServiceAccount');
    expect(account?.metadata.name).toBe(pod.serviceAccountName);
    expect(account?.metadata.annotations?.['iam.gke.io/gcp-service-account']).toMatch(
      /@.+\.iam\.gserviceaccount\.com$/,
    );
    expect(all.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Kustomization',
        'Namespace',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  it('mounts the operator policy, deploy/policy.example.yaml, where --policy points', async () => {
    const all = await objects();
    const deployment = all.find((o) => o.kind === 'Deployment');
    const pod = (
      deployment?.spec?.template as {
        spec: { containers: Container[]; volumes: { name: string; configMap?: { name: string } }[] };
      }
    ).spec;
    const [container] = pod.containers;
    const flag = container.args.find((a) => a.startsWith('--policy='));
    expect(flag).toBeDefined();
    const path = (flag ?? '').slice('--policy='.length);
    const mount = container.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v) => v.name === mount?.name);
    const policyMap = all.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name,
    ) as (K8sObject & { data: Record<string, string> }) | undefined;
    const key = path.slice((mount?.mountPath.length ?? 0) + 1);
    const example = await readFile(join(K8S, '..', 'policy.example.yaml'), 'utf8');
    expect(policyMap?.data[key]).toBe(example);

    // The shipped policy loads without a diagnostic.
    const dir = await mkdtemp(join(tmpdir(), 'mlform-k8s-policy-'));
    try {
      await writeFile(join(dir, 'policy.yaml'), example);
      const loaded = await loadPolicyFile(join(dir, 'policy.yaml'));
      expect(loaded.diagnostics).toEqual([]);
      expect(loaded.policy?.policy.allowDestroy).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
