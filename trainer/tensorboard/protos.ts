/**
 * The subset of TensorFlow / TensorBoard protobuf messages an event file needs, declared with the
 * upstream field numbers so TensorBoard decodes them with its own generated classes. Unused fields
 * are left out; proto3 readers skip nothing they do not see.
 *
 * Sources: tensorflow/core/util/event.proto, tensorflow/core/framework/{summary,tensor,
 * tensor_shape,types}.proto, google/protobuf/struct.proto, and
 * tensorboard/plugins/hparams/{api,plugin_data}.proto.
 */
import protobuf from 'protobufjs';

const TENSORFLOW = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}

message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}

enum DataClass {
  DATA_CLASS_UNKNOWN = 0;
  DATA_CLASS_SCALAR = 1;
  DATA_CLASS_TENSOR = 2;
  DATA_CLASS_BLOB_SEQUENCE = 3;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}

message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      Image image = 4;
      HistogramProto histo = 5;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_STRING = 7;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated float float_val = 5 [packed = true];
  repeated bytes string_val = 8;
}
`;

const STRUCT = `
syntax = "proto3";
package google.protobuf;

enum NullValue { NULL_VALUE = 0; }

message Value {
  oneof kind {
    NullValue null_value = 1;
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    ListValue list_value = 6;
  }
}

message ListValue {
  repeated Value values = 1;
}
`;

const HPARAMS = `
syntax = "proto3";
package tensorboard.hparams;

message Experiment {
  string name = 6;
  string description = 1;
  string user = 2;
  double time_created_secs = 3;
  repeated HParamInfo hparam_infos = 4;
  repeated MetricInfo metric_infos = 5;
}

message HParamInfo {
  string name = 1;
  string display_name = 2;
  string description = 3;
  DataType type = 4;
  oneof domain {
    google.protobuf.ListValue domain_discrete = 5;
    Interval domain_interval = 6;
  }
}

enum DataType {
  DATA_TYPE_UNSET = 0;
  DATA_TYPE_STRING = 1;
  DATA_TYPE_BOOL = 2;
  DATA_TYPE_FLOAT64 = 3;
}

message Interval {
  double min_value = 1;
  double max_value = 2;
}

message MetricName {
  string group = 1;
  string tag = 2;
}

message MetricInfo {
  MetricName name = 1;
  string display_name = 3;
  string description = 4;
  DatasetType dataset_type = 5;
}

enum DatasetType {
  DATASET_UNKNOWN = 0;
  DATASET_TRAINING = 1;
  DATASET_VALIDATION = 2;
}

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_SUCCESS = 1;
  STATUS_FAILURE = 2;
  STATUS_RUNNING = 3;
}

message HParamsPluginData {
  int32 version = 1;
  oneof data {
    Experiment experiment = 2;
    SessionStartInfo session_start_info = 3;
    SessionEndInfo session_end_info = 4;
  }
}

message SessionStartInfo {
  map<string, google.protobuf.Value> hparams = 1;
  string model_uri = 2;
  string monitor_url = 3;
  string group_name = 4;
  double start_time_secs = 5;
}

message SessionEndInfo {
  Status status = 1;
  double end_time_secs = 2;
}
`;

// Enum values used by the writer, spelled out so call sites stay typed numbers.
export const DataClass = { SCALAR: 1, TENSOR: 2, BLOB_SEQUENCE: 3 } as const;
export const TensorDataType = { DT_FLOAT: 1, DT_STRING: 7 } as const;
export const HParamDataType = { STRING: 1, BOOL: 2, FLOAT64: 3 } as const;
export const SessionStatus = { unknown: 0, success: 1, failure: 2, running: 3 } as const;

export type SessionStatusName = keyof typeof SessionStatus;

/** Plain-object shapes of the messages above (snake_case, as declared: the root keeps case). */
export type PluginDataMessage = { plugin_name: string; content: Uint8Array };
export type SummaryMetadataMessage = {
  plugin_data?: PluginDataMessage;
  display_name?: string;
  summary_description?: string;
  data_class?: number;
};
export type HistogramMessage = {
  min: number;
  max: number;
  num: number;
  sum: number;
  sum_squares: number;
  bucket_limit: number[];
  bucket: number[];
};
export type ImageMessage = {
  height: number;
  width: number;
  colorspace: number;
  encoded_image_string: Uint8Array;
};
export type TensorMessage = {
  dtype: number;
  tensor_shape: { dim: { size: number }[] };
  float_val?: number[];
  string_val?: Uint8Array[];
};
/** Exactly one of the `value` oneof members is set. */
export type SummaryValueMessage = { tag: string; metadata?: SummaryMetadataMessage } & (
  { simple_value: number } | { image: ImageMessage } | { histo: HistogramMessage } | { tensor: TensorMessage }
);
export type EventMessage = { wall_time: number; step?: number } & (
  { file_version: string } | { summary: { value: SummaryValueMessage[] } }
);

export type StructValueMessage =
  | { number_value: number }
  | { string_value: string }
  | { bool_value: boolean }
  | { list_value: { values: StructValueMessage[] } };
export type HParamInfoMessage = {
  name: string;
  type: number;
  domain_discrete?: { values: StructValueMessage[] };
  domain_interval?: { min_value: number; max_value: number };
};
export type MetricInfoMessage = { name: { group: string; tag: string }; display_name?: string };
export type HParamsPluginDataMessage = { version: number } & (
  | {
      experiment: {
        time_created_secs: number;
        hparam_infos: HParamInfoMessage[];
        metric_infos: MetricInfoMessage[];
      };
    }
  | {
      session_start_info: {
        hparams: Record<string, StructValueMessage>;
        group_name: string;
        start_time_secs: number;
      };
    }
  | { session_end_info: { status: number; end_time_secs: number } }
);

const root = new protobuf.Root();
for (const source of [TENSORFLOW, STRUCT, HPARAMS]) protobuf.parse(source, root, { keepCase: true });
root.resolveAll();

const EventType = root.lookupType('tensorboard.Event');
const HParamsPluginDataType = root.lookupType('tensorboard.hparams.HParamsPluginData');

// protobufjs encodes plain objects directly; `fromObject` would only add a conversion pass.
export const encodeEvent = (event: EventMessage): Uint8Array => EventType.encode(event).finish();

export const encodeHParamsPluginData = (data: HParamsPluginDataMessage): Uint8Array =>
  HParamsPluginDataType.encode(data).finish();
