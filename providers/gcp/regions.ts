/**
 * What Vertex AI custom training offers, per region and machine family: a SNAPSHOT of Google's
 * published tables ("Locations: accelerators for custom training" and "Configure compute
 * resources for custom training", cloud.google.com/vertex-ai/docs/general/locations and
 * .../training/configure-compute), as of late 2025. Google adds GPUs to regions over time: a
 * region missing here is only a warning, and `MLFORM_GCP_SKIP_REGION_CHECK=1` turns the
 * per-region accelerator errors into warnings when this table is behind.
 */
import { ACCELERATOR_TYPES, type AcceleratorType } from '../../resources/training-run.js';

/** The schema's list of Vertex AI training GPUs (resources/training-run.ts). */
export type Accelerator = AcceleratorType;

export const TRAINING_ACCELERATORS: Record<string, readonly Accelerator[]> = {
  // us-central1 offers every GPU the schema knows.
  'us-central1': ACCELERATOR_TYPES,
  'us-east1': ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_L4', 'NVIDIA_A100_80GB'],
  'us-east4': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_TESLA_P4',
    'NVIDIA_L4',
    'NVIDIA_A100_80GB',
    'NVIDIA_H100_80GB',
    'NVIDIA_H100_MEGA_80GB',
  ],
  'us-west1': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_TESLA_V100',
    'NVIDIA_TESLA_P100',
    'NVIDIA_L4',
    'NVIDIA_TESLA_A100',
    'NVIDIA_H100_80GB',
  ],
  'us-west4': ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_P4', 'NVIDIA_L4', 'NVIDIA_A100_80GB', 'NVIDIA_H100_80GB'],
  'europe-west1': ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_P100', 'NVIDIA_L4'],
  'europe-west2': ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_P4', 'NVIDIA_L4'],
  'europe-west3': ['NVIDIA_TESLA_T4', 'NVIDIA_L4', 'NVIDIA_H100_80GB'],
  'europe-west4': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_TESLA_V100',
    'NVIDIA_TESLA_P100',
    'NVIDIA_TESLA_P4',
    'NVIDIA_L4',
    'NVIDIA_TESLA_A100',
    'NVIDIA_A100_80GB',
    'NVIDIA_H100_80GB',
    'NVIDIA_H100_MEGA_80GB',
  ],
  'europe-central2': [],
  'asia-east1': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_TESLA_V100',
    'NVIDIA_TESLA_P100',
    'NVIDIA_L4',
    'NVIDIA_TESLA_A100',
  ],
  'asia-northeast1': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_L4',
    'NVIDIA_TESLA_A100',
    'NVIDIA_A100_80GB',
    'NVIDIA_H100_80GB',
  ],
  'asia-southeast1': [
    'NVIDIA_TESLA_T4',
    'NVIDIA_TESLA_P4',
    'NVIDIA_L4',
    'NVIDIA_TESLA_A100',
    'NVIDIA_A100_80GB',
    'NVIDIA_H100_80GB',
  ],
};

export function regionsOffering(accelerator: string): string[] {
  return Object.entries(TRAINING_ACCELERATORS)
    .filter(([, list]) => (list as readonly string[]).includes(accelerator))
    .map(([region]) => region);
}

/** A machine family: its machine types, and the GPUs (type, count per machine type) it takes. */
interface Family {
  pattern: RegExp;
  /** Accelerator types the family runs with; none: CPU only. */
  accelerators: readonly Accelerator[];
  /** The GPUs are part of the machine type (a2, a3, g2): the count is fixed by it. */
  attached?: (machineType: string) => number;
}

const gpus = (m: string) => Number(/-(\d+)g$/.exec(m)?.[1] ?? '0');
const G2_GPUS: Record<string, number> = { 4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8 };

export const MACHINE_FAMILIES: Record<string, Family> = {
  n1: {
    pattern: /^n1-(standard-(1|2|4|8|16|32|64|96)|highmem-(2|4|8|16|32|64|96)|highcpu-(4|8|16|32|64|96))$/,
    accelerators: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_TESLA_P4'],
  },
  n2: { pattern: /^n2-(standard|highmem|highcpu)-(2|4|8|16|32|48|64|80|96|128)$/, accelerators: [] },
  e2: { pattern: /^e2-(standard|highmem|highcpu)-(2|4|8|16|32)$/, accelerators: [] },
  a2: {
    pattern: /^a2-(highgpu-(1|2|4|8)g|megagpu-16g)$/,
    accelerators: ['NVIDIA_TESLA_A100'],
    attached: gpus,
  },
  'a2-ultra': { pattern: /^a2-ultragpu-(1|2|4|8)g$/, accelerators: ['NVIDIA_A100_80GB'], attached: gpus },
  a3: { pattern: /^a3-highgpu-(1|2|4|8)g$/, accelerators: ['NVIDIA_H100_80GB'], attached: gpus },
  'a3-mega': { pattern: /^a3-megagpu-8g$/, accelerators: ['NVIDIA_H100_MEGA_80GB'], attached: gpus },
  'a3-ultra': { pattern: /^a3-ultragpu-8g$/, accelerators: ['NVIDIA_H200_141GB'], attached: gpus },
  a4: { pattern: /^a4-highgpu-8g$/, accelerators: ['NVIDIA_B200'], attached: gpus },
  g2: {
    pattern: /^g2-standard-(4|8|12|16|24|32|48|96)$/,
    accelerators: ['NVIDIA_L4'],
    attached: (m) => G2_GPUS[m.split('-').pop() ?? ''] ?? 0,
  },
};

export function familyOf(machineType: string): { name: string; family: Family } | undefined {
  for (const [name, family] of Object.entries(MACHINE_FAMILIES)) {
    if (family.pattern.test(machineType)) return { name, family };
  }
  return undefined;
}

/** Which machine families take this accelerator (for the hint). */
export function familiesFor(accelerator: string): string[] {
  return Object.entries(MACHINE_FAMILIES)
    .filter(([, f]) => (f.accelerators as readonly string[]).includes(accelerator))
    .map(([name]) => name.replace(/-ultra|-mega/, ''))
    .filter((n, i, all) => all.indexOf(n) === i);
}
