import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RgbImage } from "../../lib/data/image";
import { createClassicalTeacher } from "../../lib/teachers/classical";
import { createSamTeacher } from "../../lib/teachers/sam";
import { SAM_DECODER_FILE, SAM_ENCODER_FILE, SAM_PIXEL_MEAN, SAM_PIXEL_STD, samResizedSize } from "../../lib/teachers/sam-model";
import { TinyMask, writeTinyDecoder, writeTinyEncoder } from "./tiny-sam";

// 64x48 test image: scale 16 to the 1024 frame (1024x768), and with 4x4 prompts
// the points sit at x = 8, 24, 40, 56 and y = 6, 18, 30, 42 (whole pixels), so a
// mask of Chebyshev radius 16r (1024 frame) covers exactly the 2r x 2r pixels
// whose centres lie within r pixels of its point.
const W = 64;
const H = 48;
const CHANNELS = 256;
const XS = [8, 24, 40, 56];
const YS = [6, 18, 30, 42];

function uniformImage(rgb: [number, number, number], width = W, height = H): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(rgb, 3 * p);
  return { width, height, data };
}

function encoderWeights(): { weight: Float32Array; bias: Float32Array } {
  const weight = Float32Array.from({ length: CHANNELS * 3 }, (_, i) => Math.sin(i + 1));
  const bias = Float32Array.from({ length: CHANNELS }, (_, i) => Math.cos(i) / 4);
  return { weight, bias };
}

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-sam-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function modelDir(masks: TinyMask[], opts: { centre?: [number, number] } = {}): string {
  const dir = fs.mkdtempSync(path.join(TMP, "models-"));
  const { weight, bias } = encoderWeights();
  writeTinyEncoder(path.join(dir, SAM_ENCODER_FILE), weight, bias);
  writeTinyDecoder(path.join(dir, SAM_DECODER_FILE), masks, opts);
  return dir;
}

// Mask kinds (radius, gain, predicted IoU), in the 1024 frame.
const BIG_SINGLE: TinyMask = { radius: 400, gain: 1, iou: 0.99 }; // the single-mask slot, unused by automatic generation
const SMALL: TinyMask = { radius: 64, gain: 1, iou: 0.95 }; // 8x8 pixels, logits change by 16 per pixel: stable
const UNSTABLE: TinyMask = { radius: 160, gain: 0.01, iou: 0.99 }; // logits within +-1 over ~12 pixels
const LOW_IOU: TinyMask = { radius: 128, gain: 1, iou: 0.87 };

/** Label map expected when every prompt keeps only its 8x8 square: square (i,j) gets label 4i+j+1. */
function expectedSquares(): Int32Array {
  const labels = new Int32Array(W * H);
  YS.forEach((py, i) =>
    XS.forEach((px, j) => {
      for (let y = py - 4; y < py + 4; y++) for (let x = px - 4; x < px + 4; x++) labels[y * W + x] = 4 * i + j + 1;
    }),
  );
  return labels;
}

test("SAM's resize: longest side 1024, the other rounded half up", () => {
  assert.deepEqual(samResizedSize(321, 481), { height: 683, width: 1024 }); // 321*1024/481 = 683.4
  assert.deepEqual(samResizedSize(48, 64), { height: 768, width: 1024 });
});

test("SAM files missing: the error names both expected paths and how to get them; other teachers still work", async () => {
  const dir = fs.mkdtempSync(path.join(TMP, "empty-"));
  await assert.rejects(createSamTeacher({ modelDir: dir }), (e: Error) => {
    assert.ok(e.message.includes(SAM_ENCODER_FILE) && e.message.includes(SAM_DECODER_FILE), e.message);
    assert.ok(e.message.includes("export_onnx_model.py") && e.message.includes("README.md"), e.message);
    return true;
  });
  const out = await createClassicalTeacher().teach({ image: uniformImage([10, 20, 30]) });
  assert.equal(out.groups.length, W * H);
});

test("tiny SAM end to end: embedding from the encoder, one 8x8 group per prompt, unstable and low-IoU masks rejected", async () => {
  const teacher = await createSamTeacher({ modelDir: modelDir([BIG_SINGLE, SMALL, UNSTABLE, LOW_IOU]), pointsPerSide: 4 });
  try {
    const rgb: [number, number, number] = [100, 150, 200];
    const out = await teacher.teach({ image: uniformImage(rgb) });
    const stats = teacher.lastStats()!;
    // 16 prompts x 3 multimask outputs; LOW_IOU fails 0.88, UNSTABLE fails stability 0.95.
    assert.deepEqual(stats, { prompts: 16, candidates: 48, afterIou: 32, afterStability: 16, afterNms: 16 });
    assert.equal(out.height, H);
    assert.equal(out.width, W);
    assert.deepEqual([...out.groups], [...expectedSquares()]);
    // Edges: both sides of every square border, i.e. the outer ring of each square and the ring just outside it.
    const e = out.edges;
    assert.equal(e[2 * W + 4], 1); // top-left corner of square (0,0)
    assert.equal(e[1 * W + 4], 1); // just above it
    assert.equal(e[6 * W + 8], 0); // the prompt point, inside the square
    assert.equal(e[0], 0);
    let onEdges = 0;
    for (const v of e) onEdges += v;
    // Each 8x8 square: its ring of 28 pixels plus 32 outside; squares (0,*) touch nothing, no two squares touch.
    const outsideRing = (px: number, py: number) => {
      let n = 0;
      for (let y = py - 5; y <= py + 4; y++) {
        for (let x = px - 5; x <= px + 4; x++) {
          const ring = (y === py - 5 || y === py + 4) !== (x === px - 5 || x === px + 4);
          if (ring && x >= 0 && x < W && y >= 0 && y < H) n++;
        }
      }
      return n;
    };
    const expectedEdges = YS.reduce((s, py) => s + XS.reduce((t, px) => t + 28 + outsideRing(px, py), 0), 0);
    assert.equal(onEdges, expectedEdges);
    // Embedding: a uniform image gives weight * normalised colour + bias in every cell of the stride-8 grid.
    assert.deepEqual(out.embeddingShape, [6, 8, CHANNELS]);
    const { weight, bias } = encoderWeights();
    const v = rgb.map((c, k) => (c - SAM_PIXEL_MEAN[k]) / SAM_PIXEL_STD[k]);
    for (let cell = 0; cell < 48; cell++) {
      for (let c = 0; c < CHANNELS; c += 17) {
        const expected = bias[c] + weight[3 * c] * v[0] + weight[3 * c + 1] * v[1] + weight[3 * c + 2] * v[2];
        assert.ok(Math.abs(out.embedding[cell * CHANNELS + c] - expected) < 1e-4, `cell ${cell} channel ${c}`);
      }
    }
  } finally {
    await teacher.dispose();
  }
});

test("tiny SAM: the embedding keeps the image's layout (left and right halves differ)", async () => {
  const teacher = await createSamTeacher({ modelDir: modelDir([SMALL]), pointsPerSide: 2 });
  try {
    const img = uniformImage([0, 0, 0]);
    for (let y = 0; y < H; y++) for (let x = W / 2; x < W; x++) img.data.set([255, 255, 255], 3 * (y * W + x));
    const out = await teacher.teach({ image: img });
    const [h, w, c] = out.embeddingShape;
    const { weight, bias } = encoderWeights();
    const at = (rgb: number[]) => bias[5] + [0, 1, 2].reduce((s, k) => s + weight[15 + k] * (rgb[k] - SAM_PIXEL_MEAN[k]) / SAM_PIXEL_STD[k], 0);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        // Cell j stands for pixel 8j+4: columns 0-3 are black, 4-7 white.
        const expected = j < 4 ? at([0, 0, 0]) : at([255, 255, 255]);
        assert.ok(Math.abs(out.embedding[(i * w + j) * c + 5] - expected) < 1e-3, `cell ${i},${j}`);
      }
    }
  } finally {
    await teacher.dispose();
  }
});

test("tiny SAM: predicted IoU below 0.88 everywhere gives no masks, an empty label map and no edges", async () => {
  const low = { ...SMALL, iou: 0.87 };
  const teacher = await createSamTeacher({ modelDir: modelDir([low, low, low, low]), pointsPerSide: 4 });
  try {
    const out = await teacher.teach({ image: uniformImage([50, 60, 70]) });
    assert.equal(teacher.lastStats()!.afterIou, 0);
    assert.equal(out.groups.length, W * H);
    assert.ok(out.groups.every((l) => l === 0));
    assert.ok(out.edges.every((v) => v === 0));
  } finally {
    await teacher.dispose();
  }
});

test("tiny SAM: identical masks from every prompt collapse to one under box NMS; a single-mask export is used as is", async () => {
  // One output per prompt (--return-single-mask), centred on a fixed point (x 256, y 192 in the 1024 frame = pixel 16, 12).
  const teacher = await createSamTeacher({ modelDir: modelDir([SMALL], { centre: [256, 192] }), pointsPerSide: 4 });
  try {
    const out = await teacher.teach({ image: uniformImage([50, 60, 70]) });
    assert.deepEqual(teacher.lastStats(), { prompts: 16, candidates: 16, afterIou: 16, afterStability: 16, afterNms: 1 });
    const expected = new Int32Array(W * H);
    for (let y = 8; y < 16; y++) for (let x = 12; x < 20; x++) expected[y * W + x] = 1;
    assert.deepEqual([...out.groups], [...expected]);
  } finally {
    await teacher.dispose();
  }
});

test("tiny SAM: nested masks paint the smallest on top", async () => {
  // Per prompt: a 16x16 and an 8x8 square around the same point; the 16x16 ones of vertically neighbouring prompts overlap by 4 rows.
  const mid: TinyMask = { radius: 128, gain: 1, iou: 0.95 };
  const teacher = await createSamTeacher({ modelDir: modelDir([BIG_SINGLE, SMALL, mid, LOW_IOU]), pointsPerSide: 4 });
  try {
    const out = await teacher.teach({ image: uniformImage([50, 60, 70]) });
    // Square (0,0): 16x16 pixels x 0-15, y 0-13 (clipped); the 8x8 core x 4-11, y 2-9 carries a smaller-mask label.
    const core = out.groups[6 * W + 8];
    const ring = out.groups[0 * W + 0];
    assert.ok(core > 0 && ring > 0 && core !== ring);
    // Larger masks are painted first, so their labels are the smaller numbers.
    assert.ok(ring < core);
    for (let y = 2; y < 10; y++) for (let x = 4; x < 12; x++) assert.equal(out.groups[y * W + x], core);
  } finally {
    await teacher.dispose();
  }
});
