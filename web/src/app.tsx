/** Placeholder until the views land: the router and pages live in web/src/ (web/README.md). */
import type { OverviewDoc } from '../../controller/web/api.js';

export function App(props: { doc?: OverviewDoc }) {
  return <main data-loaded="false">mlform {props.doc?.stack}</main>;
}
