/** Diagnostics as documents carry them: files relative to the project folder, text redacted. */
import type { Diagnostic } from '../../../resources/diagnostic.js';
import { toApiDiagnostic } from '../../loop/status-schema.js';
import type { ApiDiagnostic } from '../api.js';
import { cleanText } from './safe-text.js';
import { projectFile } from './stack-index.js';

export function apiDiagnostic(d: Diagnostic, projectDir: string): ApiDiagnostic {
  const out = toApiDiagnostic(d);
  return {
    ...out,
    message: cleanText(out.message),
    ...(out.hint !== undefined && { hint: cleanText(out.hint) }),
    ...(out.file !== undefined && { file: projectFile(projectDir, out.file) }),
  };
}
