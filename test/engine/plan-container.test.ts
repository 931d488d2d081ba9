/** The plan of an endpoint with a serving container of the user's: field diffs and what mlform cannot check. */
import { describe, expect, it } from 'vitest';
import { plan } from '../../controller/engine/plan.js';
import type { DeployedEndpointSpec, ServingContainer } from '../../resources/deployed-endpoint.js';
import { NOW, servingV1 } from './helpers.js';

const container = (image: string): ServingContainer => ({
  image,
  args: ['--port=$(PORT)'],
  port: 8501,
  healthPath: '/v1/models/mpg',
  predictPath: '/v1/models/mpg:predict',
});

const NOTE =
  'custom container: readiness is checked at /v1/models/mpg; inputs and outputs are not checked by mlform';

async function serving(observedImage: string | undefined) {
  const { desired, observed } = await servingV1(['core', 'runs']);
  const endpoint = desired.resources.find((r) => r.address === 'DeployedEndpoint/mpg-api');
  if (endpoint?.kind !== 'DeployedEndpoint') throw new Error('no mpg-api in the fixtures');
  (endpoint.manifest.spec as DeployedEndpointSpec).container = container('tfs:2');
  endpoint.specHash = 'with-container';
  // The observed spec is the one applied before: with the old image, or without a container.
  const i = observed.endpoints.findIndex((o) => o.name === 'mpg-api');
  const { container: _none, ...withoutContainer } = observed.endpoints[i].spec;
  void _none;
  observed.endpoints[i] = {
    ...observed.endpoints[i],
    specHash: 'before',
    spec:
      observedImage === undefined
        ? withoutContainer
        : { ...withoutContainer, container: container(observedImage) },
  };
  return { desired, observed };
}

describe('an endpoint with its own serving container', () => {
  it('a changed image is an update with the field diff, and the plan says what mlform cannot check', async () => {
    const { desired, observed } = await serving('tfs:1');
    const change = plan(desired, observed, { now: NOW }).changes.find(
      (c) => c.address === 'DeployedEndpoint/mpg-api',
    );
    expect(change).toMatchObject({
      action: 'update',
      reason: `spec changed; ${NOTE}`,
      fields: [{ path: 'container.image', before: 'tfs:1', after: 'tfs:2' }],
    });
  });

  it('adding a container to an endpoint shows the whole container and the note', async () => {
    const { desired, observed } = await serving(undefined);
    const change = plan(desired, observed, { now: NOW }).changes.find(
      (c) => c.address === 'DeployedEndpoint/mpg-api',
    );
    expect(change?.action).toBe('update');
    expect(change?.reason).toBe(`spec changed; ${NOTE}`);
    expect(change?.fields).toContainEqual({
      path: 'container',
      before: null,
      after: container('tfs:2'),
    });
  });
});
