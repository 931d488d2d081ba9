/** Every command, in the order `mlform --help` lists them. */
import type { CommandEntry } from '../command.js';
import { applyCommand, destroyCommand } from './apply.js';
import { artifactCommands } from './artifact.js';
import { cancelCommand } from './cancel.js';
import { checkCommand } from './check.js';
import { controllerCommand } from './controller.js';
import { describeCommand } from './describe.js';
import { getCommand } from './get.js';
import { logsCommand } from './logs.js';
import { planCommand } from './plan.js';
import { schemaCommand } from './schema.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { triggerCommand } from './trigger.js';
import { uiCommand } from './ui.js';
import { unlockCommand } from './unlock.js';
import { validateCommand } from './validate.js';

export const COMMANDS: readonly CommandEntry[] = [
  validateCommand,
  checkCommand,
  schemaCommand,
  planCommand,
  applyCommand,
  destroyCommand,
  getCommand,
  describeCommand,
  logsCommand,
  cancelCommand,
  triggerCommand,
  unlockCommand,
  trainCommand,
  serveCommand,
  artifactCommands,
  controllerCommand,
  uiCommand,
];
