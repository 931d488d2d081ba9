/** Where the controller's manifests come from: a git branch, or a local directory. */
import type { Diagnostic } from '../../resources/diagnostic.js';

export interface SourceUpdate {
  /** The commit (or directory revision) now on disk; undefined until the first successful update. */
  revision: string | undefined;
  /** The tree on disk moved since the previous update. */
  changed: boolean;
  diagnostics: Diagnostic[];
}

export interface ManifestSource {
  /** For logs and `/api/status`: `git <url>#<branch>:<path>` or `dir <path>`. */
  readonly description: string;
  readonly kind: 'git' | 'dir';
  /** Where the manifests are on disk (valid after the first successful update). */
  readonly manifestsPath: string;
  /**
   * The checkout (git: the clone's top level; dir: the watched directory). Every file a manifest
   * names must stay inside it (SECURITY.md).
   */
  readonly treeRoot: string;
  /** Brings the tree on disk up to date (git: fetch and hard reset). Never throws. */
  update(): Promise<SourceUpdate>;
  /** Sources that notice changes themselves (a watched directory) call `onChange`. */
  watch?(onChange: () => void): void;
  close(): Promise<void>;
}
