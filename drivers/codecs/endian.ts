// The fast paths view wire bytes (little-endian) as typed arrays, which is only right on a
// little-endian host (x86, ARM as Node runs it). Big-endian hosts take the DataView paths.
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
