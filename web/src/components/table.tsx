/** Tables the pages share: a header row of column headers, and a small captioned table of rows. */
import type { ComponentChildren } from 'preact';

/** A table's header row, every cell a column header (scope=col) for screen readers. */
export function TableHead(props: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A captioned table whose rows start with a row header (`head`), then their cells; nothing without rows. */
export function RowTable(props: {
  caption: string;
  columns: string[];
  rows: { key: string; head: ComponentChildren; cells: ComponentChildren[] }[];
}) {
  if (props.rows.length === 0) return null;
  return (
    <table>
      <caption>{props.caption}</caption>
      <TableHead columns={props.columns} />
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.key}>
            <th scope="row">{row.head}</th>
            {row.cells.map((cell, i) => (
              <td key={i}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
