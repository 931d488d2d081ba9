/**
 * Builders for one `Summary.Value` per TensorBoard plugin. Scalars, histograms and images use the
 * legacy value fields, which TensorBoard migrates itself; text and hparams use the tensor form with
 * `data_class` set, as TensorBoard's own summary ops write them.
 */
import { histogramOf } from './histogram.js';
import { DataClass, TensorDataType } from './protos.js';
import type { SummaryValueMessage, TensorMessage } from './protos.js';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

export const scalarValue = (tag: string, value: number): SummaryValueMessage => ({
  tag,
  simple_value: value,
});

export const histogramValue = (
  tag: string,
  values: ArrayLike<number>,
  bucketCount?: number,
): SummaryValueMessage => ({
  tag,
  histo: histogramOf(values, bucketCount),
});

/** Colorspace codes of Summary.Image: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export type Colorspace = 1 | 2 | 3 | 4;

export const imageValue = (
  tag: string,
  png: Uint8Array,
  width: number,
  height: number,
  colorspace: Colorspace,
): SummaryValueMessage => ({ tag, image: { width, height, colorspace, encoded_image_string: png } });

/** A rank-0 DT_STRING tensor holding the markdown; TextPluginData v0 serializes to no bytes. */
export const textValue = (tag: string, markdown: string): SummaryValueMessage => ({
  tag,
  metadata: { plugin_data: { plugin_name: 'text', content: EMPTY }, data_class: DataClass.TENSOR },
  tensor: { dtype: TensorDataType.DT_STRING, tensor_shape: { dim: [] }, string_val: [utf8.encode(markdown)] },
});

/**
 * hparams summaries carry everything in the plugin content; the tensor is the empty float vector
 * TensorBoard's `hparams` summary ops attach so generic data loaders accept the value.
 */
const NULL_TENSOR: TensorMessage = { dtype: TensorDataType.DT_FLOAT, tensor_shape: { dim: [{ size: 0 }] } };

export const hparamsValue = (tag: string, content: Uint8Array): SummaryValueMessage => ({
  tag,
  metadata: { plugin_data: { plugin_name: 'hparams', content }, data_class: DataClass.TENSOR },
  tensor: NULL_TENSOR,
});
