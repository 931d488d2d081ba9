/** An `mlform.yaml` for the gcp provider in region europe-central2 (training region as given). */
export const gcpProjectFile = (
  trainingRegion = 'europe-central2',
  region = 'europe-central2',
): string => `stack: demo
provider: gcp
gcp:
  project: demo-proj
  region: ${region}
  trainingRegion: ${trainingRegion}
  bucket: gs://mlform-test/state
  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1
  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1
  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com
`;

/** A small builtin training of the cars data (copy it to `uri` in the fake's Cloud Storage). */
export const cpuTrainingManifest = (uri: string): string => `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: mpg-mlp}
spec:
  trainer:
    builtin:
      task: regression
      data: {uri: ${uri}, target: Miles_per_Gallon, features: [Cylinders, Horsepower, Weight_in_lbs]}
      network: {type: mlp, layers: [8]}
      hyperparameters: {epochs: 2}
  resources: {machineType: n1-standard-4}
`;
