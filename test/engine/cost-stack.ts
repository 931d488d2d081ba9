/**
 * The stack of the cost acceptance tests (unit and CLI): a GPU training with two fallbacks, an
 * endpoint with `minInstances: 2` and a weekly schedule, on gcp in us-central1 (Cloud Run tier 1,
 * regional factor 1), with the figures computed by hand from the price table.
 */
import { gcpProjectFile } from '../providers/gcp/project-file.js';

export const COST_PROJECT = gcpProjectFile('us-central1').replace(
  'region: europe-central2',
  'region: us-central1',
);
/** The line of `budget:` when appended to COST_PROJECT; its limits follow it. */
export const BUDGET_LINE = COST_PROJECT.split('\n').length;

export const costManifests = (expectedDuration: string | null = '2h') => `apiVersion: mlform/v1
kind: TrainingRun
metadata: { name: train }
spec:
  model: mpg
  trainer:
    container: { image: us-docker.pkg.dev/demo-proj/mlform/custom:1 }
  resources:
    machineType: a2-highgpu-1g
    accelerator: { type: NVIDIA_TESLA_A100, count: 1 }
    fallbacks:
      - { machineType: g2-standard-8, accelerator: { type: NVIDIA_L4, count: 1 } }
      - { machineType: n1-standard-8, accelerator: { type: NVIDIA_TESLA_T4, count: 2 } }
${expectedDuration === null ? '' : `    expectedDuration: ${expectedDuration}\n`}---
apiVersion: mlform/v1
kind: RegisteredModel
metadata: { name: mpg }
spec:
  aliases: { champion: { policy: latest } }
---
apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: { name: api }
spec:
  model: mpg
  traffic: [{ version: champion, percent: 100 }]
  scaling: { minInstances: 2, maxInstances: 5 }
  resources: { cpu: "2", memory: 4Gi }
---
apiVersion: mlform/v1
kind: Schedule
metadata: { name: weekly }
spec:
  trainingRun: train
  cron: "0 6 * * 1"
  timeZone: Europe/Warsaw
`;

// By hand, per hour: a2-highgpu-1g 0.8712 + A100 3.3741 = 4.2453; g2-standard-8 0.4886 + L4 0.644 =
// 1.1326; n1-standard-8 0.437 + 2 x T4 0.4025 = 1.242. Two hours: 2.2652 to 8.4906.
export const RUN = { low: 2.2652, high: 8.4906 };
// 2 instances x (2 vCPU x 0.000024 + 4 GiB x 0.0000025) x 3600 s x 730 h.
export const ENDPOINT = 304.848;
// A weekly cron fires 730/168 times a month; plus the $0.10 Scheduler job.
export const WEEKLY = { low: (2.2652 * 730) / 168 + 0.1, high: (8.4906 * 730) / 168 + 0.1 };
/** The totals line of the text view, from the figures above. */
export const TOTAL = 'Total: $2.27-$8.49 once, $314.79-$341.84/month';
