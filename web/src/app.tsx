/**
 * The dashboard shell: skip link, navigation, the live indicator, and the page for the URL fed by
 * its one live stream (lib/live.ts). A 401 anywhere replaces the page with the login form.
 */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import type {
  ApiDocument,
  ControllerDoc,
  EndpointDoc,
  OverviewDoc,
  PlanDoc,
  RegisteredModelDoc,
  SchedulesDoc,
  TrainingRunDoc,
} from '../../controller/web/api.js';
import { Login } from './components/login.js';
import { ApiErrorBox } from './components/messages.js';
import { signInNeeded } from './lib/api-client.js';
import { useLiveDoc, type Live, type LiveState } from './lib/live.js';
import { startRouter, useLocation } from './lib/router.js';
import { apiPathOf, matchPage, type PageRoute } from './lib/routes.js';
import { useStore } from './lib/store.js';
import { ControllerPage } from './pages/controller.js';
import { EndpointPage } from './pages/endpoint.js';
import { OverviewPage } from './pages/overview.js';
import { PlanPage } from './pages/plan.js';
import { RegisteredModelPage } from './pages/registered-model.js';
import { SchedulesPage } from './pages/schedules.js';
import { TrainingRunPage } from './pages/training-run.js';

const NAV = [
  { href: '/', text: 'Overview', page: 'overview' },
  { href: '/plan', text: 'Plan', page: 'plan' },
  { href: '/schedules', text: 'Schedules', page: 'schedules' },
  { href: '/controller', text: 'Controller', page: 'controller' },
] as const;

const TITLES: Record<PageRoute['page'], string> = {
  overview: 'Overview',
  plan: 'Plan',
  trainingrun: 'TrainingRun',
  registeredmodel: 'RegisteredModel',
  deployedendpoint: 'DeployedEndpoint',
  schedules: 'Schedules',
  controller: 'Controller',
  notfound: 'Not found',
};

export function App() {
  useEffect(() => startRouter(), []);
  const { pathname, search } = useLocation();
  const route = matchPage(pathname);
  const apiPath = apiPathOf(route, search);
  const live = useLiveDoc(apiPath, `${route.page}:${'name' in route ? route.name : ''}`);
  const needLogin = useStore(signInNeeded);

  useEffect(() => {
    const name = 'name' in route ? ` ${route.name}` : '';
    document.title = `${TITLES[route.page]}${name} · ${live.doc?.stack ?? 'mlform'}`;
  }, [route.page, 'name' in route ? route.name : '', live.doc?.stack]);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a href="/" class="brand">
          mlform
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={route.page === item.page ? 'page' : undefined}>
                  {item.text}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="stack-tag muted">{live.doc ? `${live.doc.stack} · ${live.doc.provider}` : ''}</span>
        <LiveIndicator state={route.page === 'notfound' ? 'closed' : live.state} />
      </header>
      <main id="main" tabIndex={-1} data-loaded={live.doc || route.page === 'notfound' ? 'true' : 'false'}>
        {needLogin ? <Login /> : <Page route={route} live={live} />}
      </main>
    </>
  );
}

const LIVE_TEXT: Record<LiveState, string> = {
  open: 'Live',
  connecting: 'Connecting…',
  closed: 'Offline',
  paused: 'Paused (tab hidden)',
};
const LIVE_ICON: Record<LiveState, string> = { open: '●', connecting: '◌', closed: '○', paused: '❚❚' };

function LiveIndicator(props: { state: LiveState }) {
  return (
    <span class={`live live-${props.state}`} data-testid="live" data-state={props.state} role="status">
      <span aria-hidden="true">{LIVE_ICON[props.state]} </span>
      {LIVE_TEXT[props.state]}
    </span>
  );
}

/**
 * Each page with its document. The stream of a page's API path answers that view's document
 * (api.ts DOCUMENT_SCHEMAS), hence the casts.
 */
const PAGES: Record<Exclude<PageRoute['page'], 'notfound'>, (doc: ApiDocument) => JSX.Element> = {
  overview: (doc) => <OverviewPage doc={doc as OverviewDoc} />,
  plan: (doc) => <PlanPage doc={doc as PlanDoc} />,
  trainingrun: (doc) => <TrainingRunPage doc={doc as TrainingRunDoc} />,
  registeredmodel: (doc) => <RegisteredModelPage doc={doc as RegisteredModelDoc} />,
  deployedendpoint: (doc) => <EndpointPage doc={doc as EndpointDoc} />,
  schedules: (doc) => <SchedulesPage doc={doc as SchedulesDoc} />,
  controller: (doc) => <ControllerPage doc={doc as ControllerDoc} />,
};

function Page(props: { route: PageRoute; live: Live }) {
  const { route, live } = props;
  if (route.page === 'notfound') return <NotFound />;
  const { doc, failure } = live;
  const problem = failure && <ApiErrorBox error={failure} testid={doc ? 'problem' : 'api-error'} />;
  if (!doc) return problem || <p class="muted">Loading…</p>;
  const page = PAGES[route.page](doc);
  return (
    <>
      {problem}
      {page}
    </>
  );
}

function NotFound() {
  return (
    <section data-testid="not-found">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{location.pathname}</code>. Go to the <a href="/">overview</a>.
      </p>
    </section>
  );
}
