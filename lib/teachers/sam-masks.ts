// SAM's automatic mask generator (SamAutomaticMaskGenerator with its defaults, one crop: the
// whole image), independent of how the masks are computed: it asks `prompt` for the candidate
// masks of each point of an n x n grid, keeps a mask when its predicted IoU > 0.88 and its
// stability score >= 0.95 (stability = |logits > 0+1| / |logits > 0-1|), binarises it at logit 0,
// removes duplicates by box NMS at IoU 0.7 scored by predicted IoU, and paints the survivors into
// a label map largest first (label 1 = largest), so the smallest covering mask wins.

export interface MaskGeneratorOptions {
  /** Point prompts per image side (grid of n x n). */
  pointsPerSide: number;
  /** Keep masks whose predicted IoU is strictly above this. */
  predIouThresh: number;
  /** Keep masks whose stability score is at least this. */
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  /** Drop a mask whose box overlaps a better-scored kept box by more than this IoU. */
  boxNmsThresh: number;
  /** Logit threshold of the masks. */
  maskThreshold: number;
}

export const MASK_GENERATOR_DEFAULTS: MaskGeneratorOptions = {
  pointsPerSide: 32,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  maskThreshold: 0.0,
};

/** The candidate masks of one prompt: `count` logit maps [H,W] one after another, with their predicted IoUs. */
export interface PromptMasks {
  logits: Float32Array;
  iou: ArrayLike<number>;
  count: number;
}

/** How many masks each stage kept, for reports and tests. */
export interface SamMaskStats {
  prompts: number;
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterNms: number;
}

/** n x n prompt points in image pixels (x,y), cell centres as SAM's build_point_grid. */
export function pointGrid(n: number, height: number, width: number): [number, number][] {
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) points.push([((j + 0.5) / n) * width, ((i + 0.5) / n) * height]);
  }
  return points;
}

/** |logits > t+offset| / |logits > t-offset| over one mask; 0 for an empty union. */
export function stabilityScore(logits: Float32Array, threshold: number, offset: number): number {
  let inter = 0;
  let union = 0;
  const hi = threshold + offset;
  const lo = threshold - offset;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > hi) inter++;
    if (v > lo) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** A binary mask stored inside its inclusive bounding box [x0,y0,x1,y1]. */
export interface CroppedMask {
  box: [number, number, number, number];
  area: number;
  /** [y1-y0+1, x1-x0+1] row-major, 1 = inside; empty for an empty mask. */
  data: Uint8Array;
}

/** Binarise logits [H,W] at `threshold` (strictly above), keeping only the bounding box. An empty mask has box [0,0,0,0], as SAM's. */
export function cropMask(logits: Float32Array, height: number, width: number, threshold: number): CroppedMask {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (logits[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  if (x1 < 0) return { box: [0, 0, 0, 0], area: 0, data: new Uint8Array(0) };
  const w = x1 - x0 + 1;
  const data = new Uint8Array((y1 - y0 + 1) * w);
  let area = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (logits[y * width + x] > threshold) {
        data[(y - y0) * w + x - x0] = 1;
        area++;
      }
    }
  }
  return { box: [x0, y0, x1, y1], area, data };
}

/** IoU of two boxes with areas (x1-x0)*(y1-y0), as torchvision's box_iou. */
export function boxIou(a: number[], b: number[]): number {
  const area = (r: number[]) => (r[2] - r[0]) * (r[3] - r[1]);
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy NMS: indices kept, best score first; a box is dropped when its IoU with a kept one exceeds `thresh`. */
export function boxNms(boxes: number[][], scores: number[], thresh: number): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.every((k) => boxIou(boxes[i], boxes[k]) <= thresh)) kept.push(i);
  }
  return kept;
}

/** Label map [H,W]: masks painted by decreasing area (label 1 = largest), so the smallest covering mask wins. */
export function paintLabelMap(masks: CroppedMask[], height: number, width: number): Int32Array {
  const order = masks.map((_, i) => i).sort((a, b) => masks[b].area - masks[a].area || a - b);
  const labels = new Int32Array(height * width);
  order.forEach((i, rank) => {
    const { box: [x0, y0, x1, y1], data } = masks[i];
    const w = x1 - x0 + 1;
    for (let p = 0; p < data.length; p++) if (data[p]) labels[(y0 + Math.floor(p / w)) * width + x0 + (p % w)] = rank + 1;
  });
  return labels;
}

/**
 * Runs the generator over an image of `height` x `width`: every grid point through `prompt`, the
 * IoU and stability filters, then box NMS. Returns the kept masks (best predicted IoU first) and
 * the counts of each stage.
 */
export async function generateMasks(
  prompt: (x: number, y: number) => Promise<PromptMasks>,
  height: number,
  width: number,
  options: Partial<MaskGeneratorOptions> = {},
): Promise<{ masks: CroppedMask[]; stats: SamMaskStats }> {
  const o = { ...MASK_GENERATOR_DEFAULTS, ...options };
  const stats: SamMaskStats = { prompts: 0, candidates: 0, afterIou: 0, afterStability: 0, afterNms: 0 };
  const masks: CroppedMask[] = [];
  const scores: number[] = [];
  const plane = height * width;
  for (const [x, y] of pointGrid(o.pointsPerSide, height, width)) {
    const { logits, iou, count } = await prompt(x, y);
    if (logits.length !== count * plane) throw new Error(`mask generator: ${logits.length} logits for ${count} masks of ${width}x${height}`);
    stats.prompts++;
    for (let m = 0; m < count; m++) {
      stats.candidates++;
      if (!(iou[m] > o.predIouThresh)) continue;
      stats.afterIou++;
      const mask = logits.subarray(m * plane, (m + 1) * plane);
      if (!(stabilityScore(mask, o.maskThreshold, o.stabilityScoreOffset) >= o.stabilityScoreThresh)) continue;
      stats.afterStability++;
      masks.push(cropMask(mask, height, width, o.maskThreshold));
      scores.push(iou[m]);
    }
  }
  const kept = boxNms(masks.map((m) => m.box), scores, o.boxNmsThresh);
  stats.afterNms = kept.length;
  return { masks: kept.map((i) => masks[i]), stats };
}
