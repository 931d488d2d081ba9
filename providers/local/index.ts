/** The local provider: `createLocalProvider({stateDir})` with mlform.yaml's `local.stateDir`. */
export { createLocalProvider, localProvider } from './local-provider.js';
export { DEFAULT_STATE_DIR, type LocalProviderOptions } from './settings.js';
export { isWithin, stateDirEscape } from './state-dir-rule.js';
export { pidExists } from './processes.js';
