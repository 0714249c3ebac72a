// Which recording stream format a source URL's chunks are: udp datagrams (gemroc-udp) keep their boundaries
// in DATAGRAM frames; a file:// source keeps its own recording's format; every other link is a gemx byte stream.
import { StreamFormat, type StreamFormatCode } from './codecs/recording-header.js';
import { parseFileUrl } from './file/file-transport.js';
import { RecordingReader } from './file/recording-reader.js';

export function streamFormatOfUrl(url: string): StreamFormatCode {
  if (url.startsWith('udp:')) return StreamFormat.GEMROC_UDP;
  if (url.startsWith('file:')) {
    try {
      const r = RecordingReader.open(parseFileUrl(new URL(url)).path);
      r.close();
      return r.header.streamFormat;
    } catch {
      return StreamFormat.GEMX; // the transport will report the real problem when it opens
    }
  }
  return StreamFormat.GEMX;
}
