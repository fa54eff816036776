// The in-memory image types, below both lib/data (which reads and writes them) and
// lib/geometry (which warps and augments them), so neither has to import the other's
// code for a type.

export interface RgbImage {
  width: number;
  height: number;
  /** [H,W,3] row-major RGB, 0..255 */
  data: Uint8Array;
}

export interface GreyImage {
  width: number;
  height: number;
  /** [H,W] row-major, 0..255 */
  data: Uint8Array;
}
