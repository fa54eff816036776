// SuperPoint-style random homographies, with the parameters SAMFeat/MTLDesc
// train with. The sampler perturbs the corners of a centred patch (perspective,
// scale, translation, rotation, in that order) in normalised [0,1] coordinates,
// then returns the homography that maps the whole image onto that quadrilateral:
// H takes pixels of the source image to pixels of the warped image.
import { fromCorrespondences, Homography } from "./homography";
import { Rng } from "./random";

export interface HomographySamplerOptions {
  /** Side of the centred patch, as a fraction of the image. */
  patchRatio: number;
  /** Corner displacement amplitudes (fractions of the image), uniform in [-a, a]. */
  perspectiveX: number;
  perspectiveY: number;
  /** Scales drawn uniformly in [scaleLow, scaleHigh]; one of `scaleSamples` draws or 1 is picked. */
  scaleSamples: number;
  scaleLow: number;
  scaleHigh: number;
  /** How far (fraction of the image) the patch may translate past the border when artifacts are allowed. */
  translationOverflow: number;
  /** Angles drawn uniformly in [-maxAngle, maxAngle] (radians); one of `rotationSamples` draws is picked. */
  rotationSamples: number;
  maxAngle: number;
  perspective: boolean;
  scaling: boolean;
  translation: boolean;
  rotation: boolean;
  /** Allow the warped image to contain regions outside the source (black, masked out). */
  allowArtifacts: boolean;
}

export const SAMPLER_DEFAULTS: HomographySamplerOptions = {
  patchRatio: 0.8,
  perspectiveX: 0.2,
  perspectiveY: 0.2,
  scaleSamples: 5,
  scaleLow: 0.8,
  scaleHigh: 2.0,
  translationOverflow: 0.05,
  rotationSamples: 25,
  maxAngle: Math.PI / 2,
  perspective: true,
  scaling: true,
  translation: true,
  rotation: true,
  allowArtifacts: true,
};

type Quad = [number, number][]; // 4 corners (x, y), order (0,0) (0,1) (1,1) (1,0)

const centreOf = (q: Quad): [number, number] => [
  (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4,
  (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4,
];

const insideUnit = (q: Quad) => q.every(([x, y]) => x >= 0 && x < 1 && y >= 0 && y < 1);

/** Pick uniformly among candidates; without artifacts, only among those that stay inside the image. */
function pick(rng: Rng, candidates: Quad[], allowArtifacts: boolean, artifactCount: number): Quad {
  const valid = allowArtifacts
    ? candidates.slice(0, artifactCount)
    : candidates.filter(insideUnit);
  return valid[rng.int(valid.length)];
}

/**
 * The sampled patch corners in normalised coordinates [4,2], i.e. where the
 * image corners (0,0) (0,1) (1,1) (1,0) land in the warped image.
 */
export function samplePatch(rng: Rng, opts: Partial<HomographySamplerOptions> = {}): Quad {
  const o = { ...SAMPLER_DEFAULTS, ...opts };
  const margin = (1 - o.patchRatio) / 2;
  const r = o.patchRatio;
  let q: Quad = [
    [margin, margin],
    [margin, margin + r],
    [margin + r, margin + r],
    [margin + r, margin],
  ];

  if (o.perspective) {
    const ax = o.allowArtifacts ? o.perspectiveX : Math.min(o.perspectiveX, margin);
    const ay = o.allowArtifacts ? o.perspectiveY : Math.min(o.perspectiveY, margin);
    const dy = rng.uniform(-ay, ay);
    const dxLeft = rng.uniform(-ax, ax);
    const dxRight = rng.uniform(-ax, ax);
    const d: [number, number][] = [
      [dxLeft, dy],
      [dxLeft, -dy],
      [dxRight, dy],
      [dxRight, -dy],
    ];
    q = q.map(([x, y], i) => [x + d[i][0], y + d[i][1]]);
  }

  if (o.scaling) {
    // The draws, then 1 (never scaled) as a fallback that always fits.
    const scales = Array.from({ length: o.scaleSamples }, () => rng.uniform(o.scaleLow, o.scaleHigh));
    scales.push(1);
    const [cx, cy] = centreOf(q);
    const candidates = scales.map((s) => q.map(([x, y]) => [(x - cx) * s + cx, (y - cy) * s + cy] as [number, number]));
    q = pick(rng, candidates, o.allowArtifacts, candidates.length);
  }

  if (o.translation) {
    // Room to the left/top and to the right/bottom; may be negative for a patch
    // larger than the image, giving a reversed range that keeps it covering the image.
    let tMinX = Math.min(...q.map((p) => p[0])), tMinY = Math.min(...q.map((p) => p[1]));
    let tMaxX = Math.min(...q.map((p) => 1 - p[0])), tMaxY = Math.min(...q.map((p) => 1 - p[1]));
    if (o.allowArtifacts) {
      tMinX += o.translationOverflow;
      tMinY += o.translationOverflow;
      tMaxX += o.translationOverflow;
      tMaxY += o.translationOverflow;
    }
    const tx = rng.uniform(-tMinX, tMaxX);
    const ty = rng.uniform(-tMinY, tMaxY);
    q = q.map(([x, y]) => [x + tx, y + ty]);
  }

  if (o.rotation) {
    // The draws, then 0 as the fallback; with artifacts allowed the fallback is never chosen.
    const angles = Array.from({ length: o.rotationSamples }, () => rng.uniform(-o.maxAngle, o.maxAngle));
    angles.push(0);
    const [cx, cy] = centreOf(q);
    // Row vector times [[cos, -sin], [sin, cos]], as the reference implementation.
    const candidates = angles.map((a) => {
      const c = Math.cos(a), s = Math.sin(a);
      return q.map(([x, y]) => {
        const dx = x - cx, dy = y - cy;
        return [dx * c + dy * s + cx, -dx * s + dy * c + cy] as [number, number];
      });
    });
    q = pick(rng, candidates, o.allowArtifacts, o.rotationSamples);
  }
  return q;
}

/**
 * A random homography for a width x height image: maps source pixels (x, y) to
 * warped-image pixels. Corners are placed on pixel centres (0 .. W-1, 0 .. H-1).
 */
export function sampleHomography(
  width: number,
  height: number,
  rng: Rng,
  opts: Partial<HomographySamplerOptions> = {},
): Homography {
  const q = samplePatch(rng, opts);
  const sx = width - 1, sy = height - 1;
  const src = [0, 0, 0, sy, sx, sy, sx, 0];
  const dst = q.flatMap(([x, y]) => [x * sx, y * sy]);
  return fromCorrespondences(src, dst);
}
