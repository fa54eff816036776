// Tiny ONNX stand-ins for SAM's image encoder and prompt decoder, with the
// same input/output names and shapes, built with onnx-proto. Their outputs are
// simple closed forms, so tests can predict every mask by hand.
//   encoder: image [1,3,1024,1024] -> AveragePool 16x16 -> 1x1 conv -> image_embeddings [1,C,64,64]
//   decoder: mask m = gain_m * (radius_m - d), d = Chebyshev distance, in the
//            1024 frame, from the pixel centre to the first prompt point (or to
//            a fixed point); iou_predictions = constants; low_res_masks = zeros.
import * as fs from "node:fs";
import { onnx } from "onnx-proto";

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function floats(name: string, dims: number[], values: number[] | Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(values) };
}

function ints(name: string, values: number[]): onnx.ITensorProto {
  return { name, dims: [values.length], dataType: INT64, int64Data: values };
}

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, input, output, attribute };
}

function save(file: string, graph: onnx.IGraphProto): void {
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], producerName: "samfeat-tests", graph });
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
}

/** Encoder whose embedding at a cell is weight [C,3] times the cell's mean normalised RGB, plus bias [C]. */
export function writeTinyEncoder(file: string, weight: Float32Array, bias: Float32Array): void {
  const c = bias.length;
  save(file, {
    name: "tiny_sam_encoder",
    input: [valueInfo("image", [1, 3, 1024, 1024])],
    output: [valueInfo("image_embeddings", [1, c, 64, 64])],
    initializer: [floats("w", [c, 3, 1, 1], weight), floats("b", [c], bias)],
    node: [
      node("AveragePool", ["image"], ["pooled"], [
        { name: "kernel_shape", type: onnx.AttributeProto.AttributeType.INTS, ints: [16, 16] },
        { name: "strides", type: onnx.AttributeProto.AttributeType.INTS, ints: [16, 16] },
      ]),
      node("Conv", ["pooled", "w", "b"], ["image_embeddings"]),
    ],
  });
}

export interface TinyMask {
  /** Chebyshev radius in the 1024 frame. */
  radius: number;
  /** Logit slope per 1024-frame unit (small = unstable). */
  gain: number;
  iou: number;
}

/**
 * Decoder with one output mask per entry of `masks` (4 = SAM's default export,
 * 1 = --return-single-mask). `centre` (x,y in the 1024 frame) fixes the masks'
 * centre instead of following the first prompt point.
 */
export function writeTinyDecoder(file: string, masks: TinyMask[], opts: { centre?: [number, number]; channels?: number } = {}): void {
  const m = masks.length;
  const c = opts.channels ?? 256;
  const centre = opts.centre
    ? {
        nodes: [node("Identity", ["cx"], ["px"]), node("Identity", ["cy"], ["py"])],
        initializer: [floats("cx", [1, 1, 1], [opts.centre[0]]), floats("cy", [1, 1, 1], [opts.centre[1]])],
      }
    : {
        nodes: [node("Slice", ["point_coords", "s0", "e0", "ax"], ["px"]), node("Slice", ["point_coords", "s1", "e1", "ax"], ["py"])],
        initializer: [ints("s0", [0, 0, 0]), ints("e0", [1, 1, 1]), ints("s1", [0, 0, 1]), ints("e1", [1, 1, 2]), ints("ax", [0, 1, 2])],
      };
  save(file, {
    name: "tiny_sam_decoder",
    input: [
      valueInfo("image_embeddings", [1, c, 64, 64]),
      valueInfo("point_coords", [1, "num_points", 2]),
      valueInfo("point_labels", [1, "num_points"]),
      valueInfo("mask_input", [1, 1, 256, 256]),
      valueInfo("has_mask_input", [1]),
      valueInfo("orig_im_size", [2]),
    ],
    output: [valueInfo("masks", [1, m, "h", "w"]), valueInfo("iou_predictions", [1, m]), valueInfo("low_res_masks", [1, m, 256, 256])],
    initializer: [
      ...centre.initializer,
      { name: "i0", dims: [], dataType: INT64, int64Data: [0] },
      { name: "i1", dims: [], dataType: INT64, int64Data: [1] },
      floats("zero", [], [0]), floats("one", [], [1]), floats("half", [], [0.5]), floats("side", [], [1024]),
      ints("row", [1, 1, -1, 1]), ints("col", [1, 1, 1, -1]),
      floats("radius", [1, m, 1, 1], masks.map((k) => k.radius)),
      floats("gain", [1, m, 1, 1], masks.map((k) => k.gain)),
      floats("iou", [1, m], masks.map((k) => k.iou)),
      ints("low_shape", [1, m, 256, 256]),
    ],
    node: [
      ...centre.nodes,
      node("Gather", ["orig_im_size", "i0"], ["H"]),
      node("Gather", ["orig_im_size", "i1"], ["W"]),
      node("Max", ["H", "W"], ["longest"]),
      node("Div", ["side", "longest"], ["scale"]),
      node("Range", ["zero", "H", "one"], ["ys"]),
      node("Range", ["zero", "W", "one"], ["xs"]),
      node("Add", ["ys", "half"], ["ys_c"]),
      node("Add", ["xs", "half"], ["xs_c"]),
      node("Mul", ["ys_c", "scale"], ["ys_s"]),
      node("Mul", ["xs_c", "scale"], ["xs_s"]),
      node("Reshape", ["ys_s", "row"], ["y4"]),
      node("Reshape", ["xs_s", "col"], ["x4"]),
      node("Sub", ["y4", "py"], ["dy_signed"]),
      node("Sub", ["x4", "px"], ["dx_signed"]),
      node("Abs", ["dy_signed"], ["dy"]),
      node("Abs", ["dx_signed"], ["dx"]),
      node("Max", ["dy", "dx"], ["d"]),
      node("Sub", ["radius", "d"], ["margin"]),
      node("Mul", ["gain", "margin"], ["masks"]),
      node("Identity", ["iou"], ["iou_predictions"]),
      node("ConstantOfShape", ["low_shape"], ["low_res_masks"], [
        { name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: floats("v", [1], [0]) },
      ]),
    ],
  });
}
