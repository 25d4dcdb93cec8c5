// Sequential qcow2: the encoder (a DiskSink over an uploader) and the reader of a remote image's tables.
export { Qcow2StreamSink, type Qcow2StreamOptions, type Qcow2StreamResult } from './sink.js';
export { fileUploader, type VolumeUploader } from './uploader.js';
export { CLUSTER_BYTES, layoutFor, type Qcow2Layout } from './format.js';
