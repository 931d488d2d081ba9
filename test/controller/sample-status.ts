/** A controller status with a bad commit and a resource in retry backoff. */
import type { ControllerStatus } from '../../controller/loop/status-schema.js';

export const SAMPLE_STATUS: ControllerStatus = {
  formatVersion: 1,
  controller: {
    version: '0.1.0',
    identity: 'host/1',
    leader: true,
    ready: true,
    stack: 'quickstart',
    source: 'git /repo.git#main:quickstart',
    commit: 'bbb',
    appliedCommit: 'aaa',
    lastSync: {
      startedAt: '2026-11-22T05:00:00.000Z',
      finishedAt: '2026-11-22T05:00:01.000Z',
      result: 'invalid-commit',
    },
    lastError: 'commit bbb does not load',
    badCommit: {
      commit: 'bbb',
      diagnostics: [
        {
          severity: 'error',
          code: 'unknown-field',
          message: 'unknown field keepVersion',
          file: 'model.yaml',
          line: 3,
          col: 5,
          path: ['spec', 'retention'],
        },
      ],
    },
  },
  resources: [
    {
      kind: 'DeployedEndpoint',
      name: 'mpg-api',
      address: 'DeployedEndpoint/mpg-api',
      syncStatus: 'OutOfSync',
      health: 'Degraded',
      details: 'http://127.0.0.1:8501 v1 100%; not answering',
      conditions: [
        { type: 'Synced', status: false, reason: 'ChangesPending', message: 'update: drift', commit: 'aaa' },
        {
          type: 'ApplyFailed',
          status: true,
          reason: 'RetryBackoff',
          message: '1 failed attempt(s): boom',
          commit: 'aaa',
        },
      ],
      lastError: 'boom',
      nextRetryAt: '2026-11-22T05:00:06.000Z',
    },
  ],
};
