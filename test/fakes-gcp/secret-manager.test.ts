import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeClientOptions, type FakeGcp } from '../fakes/gcp/index.js';
import { errStatus, start } from './helpers.js';

const PROJECT = 'projects/test-project';

describe('Secret Manager', () => {
  let fake: FakeGcp;
  let sm: SecretManagerServiceClient;
  beforeEach(async () => {
    ({ fake } = await start());
    sm = new SecretManagerServiceClient(fakeClientOptions(fake));
  });
  afterEach(async () => {
    await sm.close();
    await fake.close();
  });

  it('creates a secret, adds versions and accesses latest and a pinned version', async () => {
    const [secret] = await sm.createSecret({
      parent: PROJECT,
      secretId: 'hf_token',
      secret: { replication: { automatic: {} } },
    });
    expect(secret.name).toBe(`${PROJECT}/secrets/hf_token`);
    const [v1] = await sm.addSecretVersion({ parent: secret.name, payload: { data: Buffer.from('one') } });
    expect(v1.name).toBe(`${PROJECT}/secrets/hf_token/versions/1`);
    await sm.addSecretVersion({ parent: secret.name, payload: { data: Buffer.from('two') } });

    const [latest] = await sm.accessSecretVersion({ name: `${secret.name}/versions/latest` });
    expect(latest.name).toBe(`${PROJECT}/secrets/hf_token/versions/2`);
    expect(Buffer.from(latest.payload?.data ?? '').toString()).toBe('two');
    const [first] = await sm.accessSecretVersion({ name: `${secret.name}/versions/1` });
    expect(Buffer.from(first.payload?.data ?? '').toString()).toBe('one');
    // What the fake keeps for tests never includes payloads.
    expect(JSON.stringify(fake.secrets())).not.toContain('two');
  });

  it('lists secrets of one project, paged, and logs each call', async () => {
    for (const id of ['a_x', 'b_y', 'c_z']) fake.seed.secret('test-project', id, 'v');
    fake.seed.secret('other-project', 'd_w', 'v');
    const [secrets] = await sm.listSecrets({ parent: PROJECT, pageSize: 2 }, { autoPaginate: true });
    expect(secrets.map((s) => s.name)).toEqual([
      `${PROJECT}/secrets/a_x`,
      `${PROJECT}/secrets/b_y`,
      `${PROJECT}/secrets/c_z`,
    ]);
    expect(fake.count({ api: 'secretmanager', rpc: 'ListSecrets' })).toBe(2);
  });

  it('answers Google-shaped errors', async () => {
    await expect(
      sm.accessSecretVersion({ name: `${PROJECT}/secrets/nope/versions/latest` }),
    ).rejects.toSatisfy((e) => errStatus(e) === 'NOT_FOUND');
    fake.seed.secret('test-project', 'dup', 'v');
    await expect(
      sm.createSecret({ parent: PROJECT, secretId: 'dup', secret: { replication: { automatic: {} } } }),
    ).rejects.toSatisfy((e) => errStatus(e) === 'ALREADY_EXISTS');
    await expect(
      sm.createSecret({ parent: PROJECT, secretId: 'bad/id', secret: { replication: { automatic: {} } } }),
    ).rejects.toSatisfy((e) => errStatus(e) === 'INVALID_ARGUMENT' || errStatus(e) === 'NOT_FOUND');
  });
});
