/**
 * Contents of the hparams plugin summaries. TensorBoard's HPARAMS tab lists a run when it holds a
 * `session_start_info` summary; the `experiment` summary names the hparam and metric columns.
 */
import { HParamDataType, SessionStatus, encodeHParamsPluginData } from './protos.js';
import type { HParamInfoMessage, SessionStatusName, StructValueMessage } from './protos.js';

export const EXPERIMENT_TAG = '_hparams_/experiment';
export const SESSION_START_INFO_TAG = '_hparams_/session_start_info';
export const SESSION_END_INFO_TAG = '_hparams_/session_end_info';

// The only plugin data version TensorBoard accepts.
const PLUGIN_DATA_VERSION = 0;

export type HParamValue = number | string | boolean;

const structValue = (value: HParamValue): StructValueMessage => {
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  return { string_value: value };
};

/**
 * No domain for numbers and strings: TensorBoard uses the first experiment summary it finds for all
 * runs, so a domain taken from this run's value would filter other runs out of the table.
 */
const hparamInfo = (name: string, value: HParamValue): HParamInfoMessage => {
  if (typeof value === 'number') return { name, type: HParamDataType.FLOAT64 };
  if (typeof value === 'string') return { name, type: HParamDataType.STRING };
  return {
    name,
    type: HParamDataType.BOOL,
    domain_discrete: { values: [{ bool_value: false }, { bool_value: true }] },
  };
};

/** The single-run form: the columns are this run's own hparams, typed by their values. */
export const hparamInfos = (hparams: Record<string, HParamValue>): HParamInfoMessage[] =>
  Object.entries(hparams).map(([name, value]) => hparamInfo(name, value));

/**
 * A study's column (trainer/tuning/visualise): unlike a single run, a study knows every value a
 * parameter may take, so its experiment carries the domain TensorBoard filters and sorts by.
 */
export type StudyHParam =
  | { name: string; type: 'number'; interval: [number, number] }
  | { name: string; type: 'string'; values: readonly string[] };

export const studyHParamInfo = (param: StudyHParam): HParamInfoMessage =>
  param.type === 'number'
    ? {
        name: param.name,
        type: HParamDataType.FLOAT64,
        domain_interval: { min_value: param.interval[0], max_value: param.interval[1] },
      }
    : {
        name: param.name,
        type: HParamDataType.STRING,
        domain_discrete: { values: param.values.map((value) => ({ string_value: value })) },
      };

export function experimentContent(
  hparamInfos: readonly HParamInfoMessage[],
  metricTags: readonly string[],
  timeCreatedSecs: number,
): Uint8Array {
  return encodeHParamsPluginData({
    version: PLUGIN_DATA_VERSION,
    experiment: {
      time_created_secs: timeCreatedSecs,
      hparam_infos: [...hparamInfos],
      // group '' means the metric's scalars live in the session's own run directory.
      metric_infos: metricTags.map((tag) => ({ name: { group: '', tag }, display_name: tag })),
    },
  });
}

export function sessionStartContent(
  hparams: Record<string, HParamValue>,
  groupName: string,
  startTimeSecs: number,
): Uint8Array {
  const values: Record<string, StructValueMessage> = {};
  for (const [name, value] of Object.entries(hparams)) values[name] = structValue(value);
  return encodeHParamsPluginData({
    version: PLUGIN_DATA_VERSION,
    session_start_info: { hparams: values, group_name: groupName, start_time_secs: startTimeSecs },
  });
}

export function sessionEndContent(status: SessionStatusName, endTimeSecs: number): Uint8Array {
  return encodeHParamsPluginData({
    version: PLUGIN_DATA_VERSION,
    session_end_info: { status: SessionStatus[status], end_time_secs: endTimeSecs },
  });
}
