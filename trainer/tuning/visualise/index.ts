/** Study visualisations (optimisation history, parallel coordinates, importance). */
import type { TuningFile } from '../tuning-file.js';

/** Contract placeholder until the visualisations land: writes nothing. */
export async function writeStudyVisuals(_outDir: string, _file: TuningFile): Promise<void> {}
