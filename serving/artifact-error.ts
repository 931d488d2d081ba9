/** A version whose artifact cannot be served: the message is the sentence the operator reads. */
export class ArtifactError extends Error {
  override name = 'ArtifactError';
}
