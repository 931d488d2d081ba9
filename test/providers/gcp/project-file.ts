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
