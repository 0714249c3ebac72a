// Public surface of the wire codecs.
export * from './crc32.js';
export * from './gemx-format.js';
export * from './gemx-encode.js';
export * from './gemx-decode.js';
export * from './gemx-rx.js';
export * from './sequence-tracker.js';
export * from './gemroc-format.js';
export * from './gemroc-channel-map.js';
export * from './gemroc-decode.js';
export * from './gemroc-encode.js';
export * from './gemroc-rx.js';
export * from './recording-header.js';
