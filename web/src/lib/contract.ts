/**
 * The API constants the browser needs, checked against controller/web/api.ts by type only: a value
 * import would bundle TypeBox and the engine's schemas into the page.
 */
import type { API_PREFIX as ApiPrefix, STREAM_EVENTS as StreamEvents } from '../../../controller/web/api.js';

export const API_PREFIX: typeof ApiPrefix = '/api/v1';
export const STREAM_PATH = `${API_PREFIX}/stream`;
export const STREAM_EVENTS: typeof StreamEvents = { doc: 'doc', problem: 'problem' };
