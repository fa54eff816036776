// What each SAMFeat component changes inside a trained network, on one image, next to its teacher:
//   PSRD  the stride-8 distillation features should relate cells as the teacher's embedding does
//         (one row of each cosine relation matrix, drawn as a map);
//   WSC   descriptors of pixels in the same teacher group should be closer than across groups;
//   EAG   the edge head should reproduce the teacher's edge map.
import * as tf from "@tensorflow/tfjs";
import { inputSide } from "../eval/samfeat-extractor";
import { normalizeImage, SamFeatNet } from "../models/samfeat";
import { readRgb, rgbToTensor } from "../data/image";
import { TeacherCache, teachCached } from "../teachers/cache";
import type { TeacherOutput } from "../teachers/teacher";
import { createTeacherByName, splitImages } from "../training/sources";
import type { TeacherName } from "../training/config";
import type { RgbImage } from "../util/image-types";
import { projectPath } from "../util/project";
import type { Figure } from "./chromium";
import { axisName } from "./bands";

/** A dense map read back to the CPU: [height,width,channels] row-major. */
export interface DenseMap {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** The maps the three components act on, for one image resized to the network's input grid. */
export interface ComponentMaps {
  /** Network input size (multiples of 16 nearest the image's). */
  width: number;
  height: number;
  /** [H/8,W/8,C] the distillation head PSRD trains. */
  distill: DenseMap;
  /** [H/4,W/4,D] the raw descriptors WSC and des train. */
  descriptors: DenseMap;
  /** [H/4,W/4,1] the edge head EAG trains; absent when the network has no EAG paths. */
  edges?: DenseMap;
}

function readMap(t: tf.Tensor4D): DenseMap {
  const [, height, width, channels] = t.shape;
  return { width, height, channels, data: t.dataSync() as Float32Array };
}

/** Runs the network on one image and reads back the maps the components act on. */
export function componentMaps(net: SamFeatNet, img: RgbImage): ComponentMaps {
  const H = inputSide(img.height), W = inputSide(img.width);
  const out = tf.tidy(() => {
    const rgb = tf.expandDims(rgbToTensor(img), 0) as tf.Tensor4D;
    const resized = H === img.height && W === img.width ? rgb : tf.image.resizeBilinear(rgb, [H, W], false, true);
    const o = net.apply(normalizeImage(resized));
    return [o.distill, o.descriptors, ...(o.edges ? [o.edges] : [])];
  }) as tf.Tensor4D[];
  const [distill, descriptors, edges] = out.map(readMap);
  tf.dispose(out);
  return { width: W, height: H, distill, descriptors, ...(edges ? { edges } : {}) };
}

/** The teacher's embedding [h,w,C] as a DenseMap. */
export function teacherEmbedding(t: TeacherOutput): DenseMap {
  const [height, width, channels] = t.embeddingShape;
  return { width, height, channels, data: t.embedding };
}

/** A map resampled to a w x h grid by nearest cell centres (to compare grids that differ by rounding). */
export function resampleNearest(m: DenseMap, w: number, h: number): DenseMap {
  const C = m.channels;
  const data = new Float32Array(w * h * C);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(m.height - 1, Math.floor(((y + 0.5) / h) * m.height));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(m.width - 1, Math.floor(((x + 0.5) / w) * m.width));
      data.set(m.data.subarray((sy * m.width + sx) * C, (sy * m.width + sx + 1) * C), (y * w + x) * C);
    }
  }
  return { width: w, height: h, channels: C, data };
}

/** Row `anchor` of the cosine relation matrix of a map: cos(f_anchor, f_q) for every cell q, [h*w]. */
export function relationRow(m: DenseMap, anchor: number): Float32Array {
  const { channels: C } = m;
  const n = m.width * m.height;
  if (!(anchor >= 0 && anchor < n)) throw new Error(`relationRow: anchor ${anchor} outside the ${m.height}x${m.width} map`);
  const norm = (q: number) => {
    let s = 0;
    for (let c = 0; c < C; c++) s += m.data[q * C + c] ** 2;
    return Math.sqrt(s);
  };
  const na = norm(anchor);
  const out = new Float32Array(n);
  for (let q = 0; q < n; q++) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += m.data[anchor * C + c] * m.data[q * C + c];
    const d = na * norm(q);
    out[q] = d > 0 ? dot / d : 0;
  }
  return out;
}

export interface GroupSeparation {
  /** Mean cosine between descriptors of two pixels of the same teacher group. */
  within: number;
  /** Mean cosine between descriptors of two pixels of different groups. */
  across: number;
  /** Pixel pairs counted in each. */
  pairs: { within: number; across: number };
}

/**
 * Cosine similarity of descriptors within against across teacher groups, over all pairs of descriptor
 * cells whose centre pixel is covered by a group (label > 0), taking every `stride`-th cell along each
 * axis (pairs grow with the fourth power of the side). WSC should raise `within - across`.
 */
export function groupSeparation(descriptors: DenseMap, groups: Int32Array, imageWidth: number, imageHeight: number, stride = 2): GroupSeparation {
  const { width: w, height: h, channels: D } = descriptors;
  const cells: { label: number; v: Float32Array }[] = [];
  for (let y = 0; y < h; y += stride) {
    for (let x = 0; x < w; x += stride) {
      // The cell's centre in the teacher's image.
      const px = Math.min(imageWidth - 1, Math.floor(((x + 0.5) / w) * imageWidth));
      const py = Math.min(imageHeight - 1, Math.floor(((y + 0.5) / h) * imageHeight));
      const label = groups[py * imageWidth + px];
      if (label <= 0) continue;
      const v = descriptors.data.slice((y * w + x) * D, (y * w + x + 1) * D);
      let s = 0;
      for (const c of v) s += c * c;
      const n = Math.sqrt(s) || 1;
      for (let c = 0; c < D; c++) v[c] /= n;
      cells.push({ label, v });
    }
  }
  let within = 0, across = 0, nw = 0, na = 0;
  for (let i = 0; i < cells.length; i++) {
    for (let j = i + 1; j < cells.length; j++) {
      let dot = 0;
      for (let c = 0; c < D; c++) dot += cells[i].v[c] * cells[j].v[c];
      if (cells[i].label === cells[j].label) {
        within += dot;
        nw++;
      } else {
        across += dot;
        na++;
      }
    }
  }
  return { within: nw ? within / nw : NaN, across: na ? across / na : NaN, pairs: { within: nw, across: na } };
}

export interface HeatmapPanel {
  title: string;
  /** [height,width] row-major. */
  values: Float32Array;
  width: number;
  height: number;
}

/** Plotly's name of the i-th axis: "x", "x2", "x3", ... */

/** Side-by-side heatmaps on one shared colour scale (image orientation: row 0 at the top). */
export function heatmapPanelsFigure(panels: HeatmapPanel[], opts: { title: string; zmin: number; zmax: number; colorbarTitle: string }): Figure {
  const n = panels.length;
  const gap = 0.04;
  const span = (1 - gap * (n - 1)) / n;
  const data = panels.map((p, i) => {
    const z: number[][] = [];
    for (let y = 0; y < p.height; y++) z.push(Array.from(p.values.subarray(y * p.width, (y + 1) * p.width), (v) => Math.round(v * 1000) / 1000));
    return {
      type: "heatmap",
      z,
      zmin: opts.zmin,
      zmax: opts.zmax,
      colorscale: "Viridis",
      showscale: i === n - 1,
      colorbar: { title: { text: opts.colorbarTitle } },
      xaxis: axisName("x", i),
      yaxis: axisName("y", i),
    };
  });
  const layout: Record<string, unknown> = {
    title: { text: opts.title },
    width: 300 * n + 80,
    height: 330,
    margin: { l: 30, r: 30, t: 70, b: 30 },
    annotations: panels.map((p, i) => ({ text: p.title, x: i * (span + gap) + span / 2, y: 1.02, xref: "paper", yref: "paper", showarrow: false, xanchor: "center", yanchor: "bottom" })),
  };
  panels.forEach((_, i) => {
    const axis = { showticklabels: false, showgrid: false, zeroline: false, ticks: "" };
    layout[`xaxis${i === 0 ? "" : i + 1}`] = { ...axis, domain: [i * (span + gap), i * (span + gap) + span] };
    layout[`yaxis${i === 0 ? "" : i + 1}`] = { ...axis, autorange: "reversed", scaleanchor: axisName("x", i) };
  });
  return { data, layout };
}

/** A [H,W] map averaged down to [h,w] cells (box filter), e.g. the teacher's edges onto the edge head's grid. */
export function downsampleMean(values: Float32Array, W: number, H: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const count = new Float32Array(w * h);
  for (let y = 0; y < H; y++) {
    const cy = Math.min(h - 1, Math.floor((y * h) / H));
    for (let x = 0; x < W; x++) {
      const cx = Math.min(w - 1, Math.floor((x * w) / W));
      out[cy * w + cx] += values[y * W + x];
      count[cy * w + cx] += 1;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = count[i] > 0 ? out[i] / count[i] : 0;
  return out;
}

/** Mean |R_a − R_b| over every pair of cells of two maps on the same grid: PSRD's L1 on one image. */
export function relationMatrixGap(a: DenseMap, b: DenseMap): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`relationMatrixGap: grids ${a.height}x${a.width} and ${b.height}x${b.width} differ`);
  const n = a.width * a.height;
  return tf.tidy(() => {
    const relations = (m: DenseMap) => {
      const f = tf.tensor2d(m.data, [n, m.channels]);
      const u = tf.div(f, tf.add(tf.norm(f, 2, 1, true), 1e-7));
      return tf.matMul(u, u, false, true); // [n,n]
    };
    return tf.mean(tf.abs(tf.sub(relations(a), relations(b)))).dataSync()[0];
  });
}

/** The `index`-th held-back (validation) training image and its teacher's output, from the teacher cache. */
export async function heldBackView(teacherName: TeacherName, index = 0, images = "data/bsds500/images"): Promise<{ file: string; image: RgbImage; teacher: TeacherOutput }> {
  const { validation } = splitImages(projectPath(images));
  const file = validation[index];
  if (file === undefined) throw new Error(`heldBackView: ${images} has ${validation.length} held-back images, no index ${index}`);
  const image = await readRgb(file);
  const teacher = await createTeacherByName(teacherName);
  try {
    return { file, image, teacher: (await teachCached(teacher, new TeacherCache(), { image, file })).output };
  } finally {
    await teacher.dispose();
  }
}
