/**
 * Google Cloud list prices in USD, as data: what the plan's cost estimates multiply by. Written
 * WITHOUT network access, from the published list prices as known in 2025 (the pages below); they
 * are estimates for a plan, not a bill: check the pages before relying on a figure, and update the
 * table (and `PRICES_AS_OF`) when Google changes them. Free tiers, committed-use and negotiated
 * discounts, taxes and network egress are not modelled.
 *
 * Prices are for us-central1; other regions multiply by `REGION_FACTOR` (Google's regional
 * price ratios, rounded). Cloud Run has its own two tiers instead.
 */
import type { AcceleratorType } from '../../resources/training-run.js';

export const PRICES_AS_OF = '2025-06-01';
export const PRICE_SOURCES = [
  'https://cloud.google.com/vertex-ai/pricing#custom-trained_models',
  'https://cloud.google.com/run/pricing',
  'https://cloud.google.com/scheduler/pricing',
  'https://cloud.google.com/storage/pricing',
] as const;

/** On-demand and Spot price per hour. */
export interface HourlyPrice {
  onDemand: number;
  spot: number;
}

/**
 * Vertex AI custom training, per machine type and hour (the machine only: GPUs are billed apart,
 * including the ones an a2 or g2 machine type comes with).
 */
export const TRAINING_MACHINES: Readonly<Record<string, HourlyPrice>> = {
  'n1-standard-2': { onDemand: 0.1093, spot: 0.022 },
  'n1-standard-4': { onDemand: 0.2185, spot: 0.044 },
  'n1-standard-8': { onDemand: 0.437, spot: 0.088 },
  'n1-standard-16': { onDemand: 0.874, spot: 0.176 },
  'n1-standard-32': { onDemand: 1.748, spot: 0.352 },
  'n1-standard-64': { onDemand: 3.496, spot: 0.704 },
  'n1-standard-96': { onDemand: 5.244, spot: 1.056 },
  'n1-highmem-2': { onDemand: 0.1361, spot: 0.0274 },
  'n1-highmem-4': { onDemand: 0.2722, spot: 0.0548 },
  'n1-highmem-8': { onDemand: 0.5442, spot: 0.1096 },
  'n1-highmem-16': { onDemand: 1.0885, spot: 0.2192 },
  'n1-highmem-32': { onDemand: 2.1769, spot: 0.4384 },
  'n1-highcpu-4': { onDemand: 0.1631, spot: 0.0328 },
  'n1-highcpu-8': { onDemand: 0.3263, spot: 0.0656 },
  'n1-highcpu-16': { onDemand: 0.6525, spot: 0.1312 },
  'n1-highcpu-32': { onDemand: 1.3051, spot: 0.2624 },
  'n2-standard-4': { onDemand: 0.2234, spot: 0.0546 },
  'n2-standard-8': { onDemand: 0.4468, spot: 0.1092 },
  'n2-standard-16': { onDemand: 0.8936, spot: 0.2184 },
  'n2-standard-32': { onDemand: 1.7872, spot: 0.4368 },
  'e2-standard-4': { onDemand: 0.1541, spot: 0.0462 },
  'e2-standard-8': { onDemand: 0.3082, spot: 0.0924 },
  'e2-standard-16': { onDemand: 0.6164, spot: 0.1848 },
  'e2-standard-32': { onDemand: 1.2328, spot: 0.3696 },
  'a2-highgpu-1g': { onDemand: 0.8712, spot: 0.3049 },
  'a2-highgpu-2g': { onDemand: 1.7424, spot: 0.6098 },
  'a2-highgpu-4g': { onDemand: 3.4848, spot: 1.2197 },
  'a2-highgpu-8g': { onDemand: 6.9696, spot: 2.4394 },
  'g2-standard-4': { onDemand: 0.2443, spot: 0.0855 },
  'g2-standard-8': { onDemand: 0.4886, spot: 0.171 },
  'g2-standard-12': { onDemand: 0.7329, spot: 0.2565 },
  'g2-standard-16': { onDemand: 0.9772, spot: 0.342 },
  'g2-standard-24': { onDemand: 1.4658, spot: 0.513 },
  'g2-standard-32': { onDemand: 1.9544, spot: 0.684 },
};

/** Vertex AI custom training, per GPU and hour. */
export const TRAINING_ACCELERATOR_PRICES: Readonly<Record<AcceleratorType, HourlyPrice>> = {
  NVIDIA_TESLA_T4: { onDemand: 0.4025, spot: 0.1288 },
  NVIDIA_TESLA_P4: { onDemand: 0.69, spot: 0.2208 },
  NVIDIA_TESLA_V100: { onDemand: 2.852, spot: 0.9982 },
  NVIDIA_TESLA_P100: { onDemand: 1.679, spot: 0.5877 },
  NVIDIA_L4: { onDemand: 0.644, spot: 0.2254 },
  NVIDIA_TESLA_A100: { onDemand: 3.3741, spot: 1.1809 },
  NVIDIA_A100_80GB: { onDemand: 4.5172, spot: 1.581 },
  NVIDIA_H100_80GB: { onDemand: 11.2666, spot: 3.9433 },
  NVIDIA_H100_MEGA_80GB: { onDemand: 11.8432, spot: 4.1451 },
  NVIDIA_H200_141GB: { onDemand: 12.4212, spot: 4.3474 },
  NVIDIA_B200: { onDemand: 15.6, spot: 5.46 },
};

/** Regional price ratio to us-central1 (Vertex AI training and Cloud Storage). */
export const REGION_FACTOR: Readonly<Record<string, number>> = {
  'us-central1': 1,
  'us-east1': 1,
  'us-east4': 1.127,
  'us-west1': 1,
  'us-west4': 1.127,
  'europe-west1': 1.1,
  'europe-west2': 1.287,
  'europe-west3': 1.287,
  'europe-west4': 1.1,
  'europe-central2': 1.287,
  'asia-east1': 1.157,
  'asia-northeast1': 1.287,
  'asia-southeast1': 1.232,
};

/** Cloud Run (instance-based prices of the request-based model): per vCPU-second, GiB-second, million requests. */
export interface CloudRunPrices {
  vcpuSecond: number;
  gibSecond: number;
  millionRequests: number;
}
export const CLOUD_RUN: Readonly<Record<'tier1' | 'tier2', CloudRunPrices>> = {
  tier1: { vcpuSecond: 0.000024, gibSecond: 0.0000025, millionRequests: 0.4 },
  tier2: { vcpuSecond: 0.0000336, gibSecond: 0.0000035, millionRequests: 0.4 },
};
/** Cloud Run's tier 1 regions among the ones above; the others are tier 2. */
export const CLOUD_RUN_TIER1: readonly string[] = [
  'us-central1',
  'us-east1',
  'us-east4',
  'us-west1',
  'europe-west1',
  'europe-west4',
  'asia-east1',
  'asia-northeast1',
];

/** Cloud Scheduler: per job and month (the first three jobs of a billing account are free). */
export const SCHEDULER_JOB_MONTH = 0.1;
/** Cloud Storage Standard, regional, per GiB-month in us-central1 (times `REGION_FACTOR`). */
export const STORAGE_GIB_MONTH = 0.02;
/** Hours in an average month, as Google's pricing pages count them. */
export const HOURS_PER_MONTH = 730;
