/** The gcp provider: `createGcpProvider({config})` with mlform.yaml's `gcp` section. */
export { createGcpProvider, type GcpProvider, type GcpProviderOptions } from './gcp-provider.js';
export { apiCalls, type ApiCallCount, type GcpApi } from './api-calls.js';
export { ENDPOINT_ENV, fixedTokenAuthClient } from './clients.js';
export { validateGcp } from './validate.js';
