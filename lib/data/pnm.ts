// Netpbm decoder (P2/P3 ascii, P5/P6 binary grey/RGB), because the prebuilt
// libvips inside sharp ships without its ppm loader and HPatches is all .ppm.
// Headers may carry comments; maxval up to 65535 is rescaled to 8 bits.

export interface PnmImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** [H,W,channels] row-major, 0..255 */
  data: Uint8Array;
}

/** True when `buf` starts with a P2/P3/P5/P6 magic number. */
export function isPnm(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x50 && (buf[1] === 0x32 || buf[1] === 0x33 || buf[1] === 0x35 || buf[1] === 0x36);
}

/** Decode a netpbm buffer; throws with `source` and the problem in the message. */
export function decodePnm(buf: Uint8Array, source = "<buffer>"): PnmImage {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid netpbm image: ${why}`);
  };
  if (!isPnm(buf)) fail("missing P2/P3/P5/P6 magic number");
  const kind = buf[1] - 0x30;
  let pos = 2;
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
  const readInt = (what: string): number => {
    for (;;) {
      while (pos < buf.length && isSpace(buf[pos])) pos++;
      if (buf[pos] === 0x23) {
        while (pos < buf.length && buf[pos] !== 0x0a && buf[pos] !== 0x0d) pos++;
      } else break;
    }
    const start = pos;
    let v = 0;
    while (pos < buf.length && buf[pos] >= 0x30 && buf[pos] <= 0x39) v = v * 10 + (buf[pos++] - 0x30);
    if (pos === start) fail(`expected ${what} at byte ${start}`);
    return v;
  };
  const width = readInt("width");
  const height = readInt("height");
  const maxval = readInt("maxval");
  if (width <= 0 || height <= 0) fail(`size ${width}x${height}`);
  if (maxval <= 0 || maxval > 65535) fail(`maxval ${maxval}`);
  const channels: 1 | 3 = kind === 3 || kind === 6 ? 3 : 1;
  const n = width * height * channels;
  const out = new Uint8Array(n);
  const scale = (v: number) => (maxval === 255 ? v : Math.round((v * 255) / maxval));
  if (kind === 5 || kind === 6) {
    pos++; // exactly one whitespace byte separates the header from the raster
    const bytes = maxval < 256 ? 1 : 2;
    if (buf.length - pos < n * bytes) fail(`raster truncated: ${buf.length - pos} bytes, need ${n * bytes}`);
    if (bytes === 1) {
      if (maxval === 255) out.set(buf.subarray(pos, pos + n));
      else for (let i = 0; i < n; i++) out[i] = scale(buf[pos + i]);
    } else {
      for (let i = 0; i < n; i++) out[i] = scale((buf[pos + 2 * i] << 8) | buf[pos + 2 * i + 1]);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = scale(readInt(`sample ${i}`));
  }
  return { width, height, channels, data: out };
}
