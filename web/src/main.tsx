/** The dashboard's entry point: mounts the app (web/README.md). */
import { render } from 'preact';
import { App } from './app.js';
import './styles.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
