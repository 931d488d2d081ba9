/** Pieces shared by the resource pages: the spec as YAML, folded. */
export function SpecBlock(props: { yaml: string | null }) {
  if (!props.yaml) return null;
  return (
    <details class="spec">
      <summary>Spec (YAML)</summary>
      <pre tabIndex={0}>{props.yaml}</pre>
    </details>
  );
}
