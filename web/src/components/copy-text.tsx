/** A path or URI shown as selectable text with a copy button (never a link to a file path). */
import { useState } from 'preact/hooks';

export function CopyText(props: { value: string | null; testid: string; label: string }) {
  const [copied, setCopied] = useState(false);
  if (!props.value) return <span data-testid={props.testid}>–</span>;
  const value = props.value;
  const copy = () =>
    void navigator.clipboard?.writeText(value).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <span class="copy-text">
      <code data-testid={props.testid}>{value}</code>{' '}
      <button type="button" class="small" onClick={copy} aria-label={`Copy ${props.label}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}
