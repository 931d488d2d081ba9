/**
 * `mlform` from source, for the CLI tests when dist/ is older than the sources (or absent):
 * `node --import tsx test/serving/cli-entry.ts serve ...` behaves as `node bin/mlform.js serve ...`.
 */
import { main } from '../../controller/cli/main.js';

process.exitCode = await main(process.argv);
