/**
 * Each command's module, loaded only when its command runs: every module of COMMANDS (index.ts)
 * imports what its handler needs, so loading them all made `mlform plan` load the controller's
 * logging, metrics and tracing too. Same commands in the same order as COMMANDS (a test pins it).
 */
import type { CommandEntry } from '../command.js';

export interface CommandModule {
  /** The top-level command names the module defines. */
  names: readonly string[];
  load(): Promise<readonly CommandEntry[]>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['validate'], load: async () => [(await import('./validate.js')).validateCommand] },
  { names: ['check'], load: async () => [(await import('./check.js')).checkCommand] },
  { names: ['schema'], load: async () => [(await import('./schema.js')).schemaCommand] },
  { names: ['plan'], load: async () => [(await import('./plan.js')).planCommand] },
  {
    names: ['apply', 'destroy'],
    load: async () => {
      const m = await import('./apply.js');
      return [m.applyCommand, m.destroyCommand];
    },
  },
  { names: ['get'], load: async () => [(await import('./get.js')).getCommand] },
  { names: ['describe'], load: async () => [(await import('./describe.js')).describeCommand] },
  { names: ['logs'], load: async () => [(await import('./logs.js')).logsCommand] },
  { names: ['cancel'], load: async () => [(await import('./cancel.js')).cancelCommand] },
  { names: ['trigger'], load: async () => [(await import('./trigger.js')).triggerCommand] },
  { names: ['unlock'], load: async () => [(await import('./unlock.js')).unlockCommand] },
  { names: ['import'], load: async () => [(await import('./import.js')).importCommand] },
  { names: ['train'], load: async () => [(await import('./train.js')).trainCommand] },
  { names: ['serve'], load: async () => [(await import('./serve.js')).serveCommand] },
  { names: ['artifact'], load: async () => [(await import('./artifact.js')).artifactCommands] },
  { names: ['controller'], load: async () => [(await import('./controller.js')).controllerCommand] },
  { names: ['ui'], load: async () => [(await import('./ui.js')).uiCommand] },
];
