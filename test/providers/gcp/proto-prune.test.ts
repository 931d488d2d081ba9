/** providers/gcp/proto-prune.ts: a service's part of a proto JSON resolves, and holds only what it reaches. */
import { createRequire } from 'node:module';
import type * as Gax from 'google-gax';
import { describe, expect, it } from 'vitest';
import { pruneToService } from '../../../providers/gcp/proto-prune.js';

const load = createRequire(import.meta.url);
const gax = load('google-gax') as typeof Gax;

type Node = { nested?: Record<string, Node> };
const count = (n: Node): number => Object.values(n.nested ?? {}).reduce((a, c) => a + 1 + count(c), 0);

const field = (type: string, id: number) => ({ type, id });

/** A package with a service, a message reaching a nested type and one outside the package. */
const SAMPLE = {
  nested: {
    shared: { nested: { Used: { fields: { v: field('string', 1) } }, Unused: { fields: {} } } },
    pkg: {
      nested: {
        Svc: {
          methods: {
            Get: {
              requestType: 'Req',
              responseType: 'Res',
              options: { '(google.longrunning.operation_info).metadata_type': 'Meta' },
            },
          },
        },
        Other: { methods: { Put: { requestType: 'Lonely', responseType: 'Lonely' } } },
        Req: {
          fields: { inner: field('Inner', 1) },
          nested: { Inner: { fields: { s: field('shared.Used', 1) } } },
        },
        Res: { fields: { kind: field('Kind', 1) } },
        Kind: { values: { A: 0, B: 1 } },
        Meta: { fields: {} },
        Lonely: { fields: { x: field('int32', 1) } },
      },
    },
  },
};

describe('pruneToService', () => {
  it('keeps the service and what its methods reach, relative names resolved outwards', () => {
    const pruned = pruneToService(structuredClone(SAMPLE), 'pkg.Svc');
    const root = gax.protobuf.Root.fromJSON(pruned as Gax.protobuf.INamespace);
    root.resolveAll();
    for (const name of [
      'pkg.Svc',
      'pkg.Req',
      'pkg.Req.Inner',
      'pkg.Res',
      'pkg.Kind',
      'pkg.Meta',
      'shared.Used',
    ])
      expect(root.lookup(name), name).not.toBeNull();
    for (const name of ['pkg.Other', 'pkg.Lonely', 'shared.Unused'])
      expect(root.lookup(name), name).toBeNull();
  });

  it('answers undefined for a file without the service (the caller keeps it whole)', () => {
    expect(pruneToService(structuredClone(SAMPLE), 'pkg.Missing')).toBeUndefined();
  });

  it.each([
    [
      '@google-cloud/aiplatform/build/protos/protos.json',
      'google.cloud.aiplatform.v1.JobService',
      'CreateCustomJob',
    ],
    [
      '@google-cloud/aiplatform/build/protos/protos.json',
      'google.cloud.aiplatform.v1.ModelService',
      'UploadModel',
    ],
    ['@google-cloud/run/build/protos/protos.json', 'google.cloud.run.v2.Services', 'CreateService'],
  ])(
    '%s: %s resolves with its methods and the Operations service, smaller than the file',
    (file, service, method) => {
      const json = structuredClone(load(file) as Node);
      const pruned = pruneToService(json, service) as Node;
      const root = gax.protobuf.Root.fromJSON(pruned as Gax.protobuf.INamespace);
      root.resolveAll();
      const svc = root.lookupService(service);
      expect(svc.methods[method]?.resolvedRequestType).toBeTruthy();
      expect(root.lookupService('google.longrunning.Operations')).toBeTruthy();
      expect(count(pruned)).toBeLessThan(count(json));
    },
  );

  it('a file without long-running operations: the service alone (Cloud Scheduler)', () => {
    const json = structuredClone(load('@google-cloud/scheduler/build/protos/protos.json') as Node);
    const pruned = pruneToService(json, 'google.cloud.scheduler.v1.CloudScheduler') as Node;
    const root = gax.protobuf.Root.fromJSON(pruned as Gax.protobuf.INamespace);
    root.resolveAll();
    expect(root.lookupService('google.cloud.scheduler.v1.CloudScheduler').methods.CreateJob).toBeTruthy();
    expect(count(pruned)).toBeLessThan(count(json));
  });
});
