// N-API entry points. Compiled without AVX flags so that loading the addon and checking the CPU is safe
// everywhere; the kernels (built with -mavx2 -mfma) are only called once `init` has found both features.
//
// Every kernel receives the wasm heap (a Uint8Array over the module's memory) and byte offsets into it:
// tensors are read and written where they live, never copied through JavaScript.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dnnl_conv.h"
#include "kernels.h"

namespace {

bool g_ready = false;

struct Heap {
  uint8_t* data;
  size_t bytes;
};

Heap heapOf(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "samfeat_native: heap must be a Uint8Array");
  auto arr = info[0].As<Napi::Uint8Array>();
  return {arr.Data(), arr.ByteLength()};
}

int64_t intArg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

// A float pointer into the heap, checked against the heap's size.
float* at(const Napi::CallbackInfo& info, const Heap& h, size_t i, int64_t floats) {
  const int64_t off = intArg(info, i);
  if (off < 0 || floats < 0 || (off & 3) != 0 || (uint64_t)off + (uint64_t)floats * 4 > h.bytes)
    throw Napi::RangeError::New(info.Env(), "samfeat_native: tensor outside the wasm heap (argument " +
                                                std::to_string(i) + ")");
  return reinterpret_cast<float*>(h.data + off);
}

// Optional pointer: a negative offset means absent.
float* optionalAt(const Napi::CallbackInfo& info, const Heap& h, size_t i, int64_t floats) {
  return intArg(info, i) < 0 ? nullptr : at(info, h, i, floats);
}

std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "samfeat_native: expected an array of integers");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

void requireReady(const Napi::CallbackInfo& info) {
  if (!g_ready) throw Napi::Error::New(info.Env(), "samfeat_native: init() has not succeeded");
}

// [batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft]
samfeat::ConvShape convShape(const Napi::CallbackInfo& info, size_t i) {
  const auto v = ints(info, i);
  if (v.size() != 15) throw Napi::TypeError::New(info.Env(), "samfeat_native: conv shape needs 15 integers");
  for (int k = 0; k < 13; ++k)
    if (v[k] < 0 || v[k] > (1 << 30)) throw Napi::RangeError::New(info.Env(), "samfeat_native: bad conv shape");
  samfeat::ConvShape s;
  s.batch = (int)v[0], s.inH = (int)v[1], s.inW = (int)v[2], s.inC = (int)v[3];
  s.outH = (int)v[4], s.outW = (int)v[5], s.outC = (int)v[6];
  s.kH = (int)v[7], s.kW = (int)v[8], s.strideH = (int)v[9], s.strideW = (int)v[10];
  s.dilH = (int)v[11], s.dilW = (int)v[12], s.padTop = (int)v[13], s.padLeft = (int)v[14];
  return s;
}

int64_t inSize(const samfeat::ConvShape& s) { return (int64_t)s.batch * s.inH * s.inW * s.inC; }
int64_t outSize(const samfeat::ConvShape& s) { return (int64_t)s.batch * s.outH * s.outW * s.outC; }
int64_t filterSize(const samfeat::ConvShape& s) { return (int64_t)s.kH * s.kW * s.inC * s.outC; }

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  __builtin_cpu_init();
  std::string reason;
  if (!__builtin_cpu_supports("avx2")) reason = "CPU lacks AVX2";
  else if (!__builtin_cpu_supports("fma")) reason = "CPU lacks FMA";
  g_ready = reason.empty();
  auto result = Napi::Object::New(env);
  result.Set("ok", g_ready);
  result.Set("reason", reason);
  result.Set("convolutions", samfeat::dnnlAvailable() ? "oneDNN" : "im2col + OpenBLAS");
  return result;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  requireReady(info);
  samfeat::setThreads((int)intArg(info, 0));
  return Napi::Number::New(info.Env(), samfeat::threads());
}

// conv2d(heap, x, w, bias|-1, y, shape, activation)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 5);
  samfeat::conv2d(at(info, h, 1, inSize(s)), at(info, h, 2, filterSize(s)), optionalAt(info, h, 3, s.outC),
                  at(info, h, 4, outSize(s)), s, (samfeat::Activation)intArg(info, 6));
  return info.Env().Undefined();
}

// conv2dBackpropInput(heap, dy, w, dx, shape)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 4);
  samfeat::conv2dBackpropInput(at(info, h, 1, outSize(s)), at(info, h, 2, filterSize(s)), at(info, h, 3, inSize(s)),
                               s);
  return info.Env().Undefined();
}

// conv2dBackpropFilter(heap, x, dy, dw, shape)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 4);
  samfeat::conv2dBackpropFilter(at(info, h, 1, inSize(s)), at(info, h, 2, outSize(s)),
                                at(info, h, 3, filterSize(s)), s);
  return info.Env().Undefined();
}

// batchMatMul(heap, a, b, bias|-1, c, [batch, batchA, batchB, m, n, k, transA, transB, activation])
// batchA / batchB are 1 (broadcast) or batch.
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto v = ints(info, 5);
  if (v.size() != 9) throw Napi::TypeError::New(info.Env(), "samfeat_native: matmul shape needs 9 integers");
  const int64_t batch = v[0], batchA = v[1], batchB = v[2], m = v[3], n = v[4], k = v[5];
  if (batch < 0 || m < 0 || n < 0 || k < 0 || (batchA != 1 && batchA != batch) || (batchB != 1 && batchB != batch))
    throw Napi::RangeError::New(info.Env(), "samfeat_native: bad matmul shape");
  const float* a = at(info, h, 1, batchA * m * k);
  const float* b = at(info, h, 2, batchB * k * n);
  const float* bias = optionalAt(info, h, 3, n);
  float* c = at(info, h, 4, batch * m * n);
  samfeat::batchMatMul(a, b, bias, c, (int)batch, batchA == 1 ? 0 : m * k, batchB == 1 ? 0 : k * n, (int)m, (int)n,
                       (int)k, v[6] != 0, v[7] != 0, (samfeat::Activation)v[8]);
  return info.Env().Undefined();
}

// relu(heap, x, y, n)
Napi::Value Relu(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const int64_t n = intArg(info, 3);
  samfeat::relu(at(info, h, 1, n), at(info, h, 2, n), n);
  return info.Env().Undefined();
}

// binary(heap, a, b, out, op, outShape, aStrides, bStrides); a stride of 0 broadcasts that axis.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto shape = ints(info, 5), sa = ints(info, 6), sb = ints(info, 7);
  if (sa.size() != shape.size() || sb.size() != shape.size())
    throw Napi::TypeError::New(info.Env(), "samfeat_native: binary strides must match the output rank");
  int64_t total = 1, lastA = 0, lastB = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || sa[d] < 0 || sb[d] < 0) throw Napi::RangeError::New(info.Env(), "samfeat_native: bad shape");
    total *= shape[d];
    if (shape[d] > 0) lastA += (shape[d] - 1) * sa[d], lastB += (shape[d] - 1) * sb[d];
  }
  const int64_t op = intArg(info, 4);
  if (op < samfeat::kAdd || op > samfeat::kDiv) throw Napi::RangeError::New(info.Env(), "samfeat_native: unknown binary op");
  float* out = at(info, h, 3, total);
  if (total == 0) return info.Env().Undefined();
  samfeat::binary(at(info, h, 1, lastA + 1), at(info, h, 2, lastB + 1), out, (int)shape.size(), shape.data(),
                  sa.data(), sb.data(), (samfeat::BinaryOp)op);
  return info.Env().Undefined();
}

// sumRows(heap, x, out, outer, inner)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const int64_t outer = intArg(info, 3), inner = intArg(info, 4);
  samfeat::sumRows(at(info, h, 1, outer * inner), at(info, h, 2, inner), outer, inner);
  return info.Env().Undefined();
}

// sumCols(heap, x, out, outer, inner, scale)
Napi::Value SumCols(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const int64_t outer = intArg(info, 3), inner = intArg(info, 4);
  samfeat::sumCols(at(info, h, 1, outer * inner), at(info, h, 2, outer), outer, inner,
                   (float)info[5].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// maxPool(heap, x, y, shape) with shape as for conv2d (outC == inC)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 3);
  samfeat::maxPool(at(info, h, 1, inSize(s)), at(info, h, 2, outSize(s)), s);
  return info.Env().Undefined();
}

// maxPoolGrad(heap, dy, x, dx, shape)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 4);
  samfeat::maxPoolGrad(at(info, h, 1, outSize(s)), at(info, h, 2, inSize(s)), at(info, h, 3, inSize(s)), s);
  return info.Env().Undefined();
}

// avgPoolGrad(heap, dy, dx, shape)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto s = convShape(info, 3);
  samfeat::avgPoolGrad(at(info, h, 1, outSize(s)), at(info, h, 2, inSize(s)), s);
  return info.Env().Undefined();
}

// slice(heap, x, out, shape, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto shape = ints(info, 3), begin = ints(info, 4), size = ints(info, 5);
  if (shape.size() > 6 || begin.size() != shape.size() || size.size() != shape.size())
    throw Napi::TypeError::New(info.Env(), "samfeat_native: slice needs shape, begin and size of one rank <= 6");
  int64_t in = 1, out = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (begin[d] < 0 || size[d] < 0 || begin[d] + size[d] > shape[d])
      throw Napi::RangeError::New(info.Env(), "samfeat_native: slice outside the tensor");
    in *= shape[d];
    out *= size[d];
  }
  samfeat::slice(at(info, h, 1, in), at(info, h, 2, out), (int)shape.size(), shape.data(), begin.data(), size.data());
  return info.Env().Undefined();
}

// step(heap, x, y, n, alpha)
Napi::Value Step(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const int64_t n = intArg(info, 3);
  samfeat::step(at(info, h, 1, n), at(info, h, 2, n), n, (float)info[4].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// transpose(heap, x, out, shape, perm)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto shape = ints(info, 3), perm = ints(info, 4);
  if (shape.size() > 6 || perm.size() != shape.size())
    throw Napi::TypeError::New(info.Env(), "samfeat_native: transpose needs a shape and a permutation of rank <= 6");
  std::vector<bool> seen(shape.size(), false);
  int64_t total = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (perm[d] < 0 || perm[d] >= (int64_t)shape.size() || seen[perm[d]] || shape[d] < 0)
      throw Napi::RangeError::New(info.Env(), "samfeat_native: bad transpose permutation");
    seen[perm[d]] = true;
    total *= shape[d];
  }
  samfeat::transpose(at(info, h, 1, total), at(info, h, 2, total), (int)shape.size(), shape.data(), perm.data());
  return info.Env().Undefined();
}

struct ResizeArgs {
  int batch, inH, inW, c, outH, outW;
  bool alignCorners, halfPixel;
  int64_t inSize() const { return (int64_t)batch * inH * inW * c; }
  int64_t outSize() const { return (int64_t)batch * outH * outW * c; }
};

// [batch, inH, inW, c, outH, outW, alignCorners, halfPixelCenters]
ResizeArgs resizeArgs(const Napi::CallbackInfo& info, size_t i) {
  const auto v = ints(info, i);
  if (v.size() != 8) throw Napi::TypeError::New(info.Env(), "samfeat_native: resize shape needs 8 integers");
  return {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], v[6] != 0, v[7] != 0};
}

// resizeBilinear(heap, x, y, resize args)
Napi::Value ResizeBilinear(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const ResizeArgs r = resizeArgs(info, 3);
  samfeat::resizeBilinear(at(info, h, 1, r.inSize()), at(info, h, 2, r.outSize()), r.batch, r.inH, r.inW, r.c, r.outH,
                          r.outW, r.alignCorners, r.halfPixel);
  return info.Env().Undefined();
}

// resizeBilinearGrad(heap, dy, dx, resize args): dy has the output's size, dx the input's.
Napi::Value ResizeBilinearGrad(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const ResizeArgs r = resizeArgs(info, 3);
  samfeat::resizeBilinearGrad(at(info, h, 1, r.outSize()), at(info, h, 2, r.inSize()), r.batch, r.inH, r.inW, r.c,
                              r.outH, r.outW, r.alignCorners, r.halfPixel);
  return info.Env().Undefined();
}

// concat(heap, [offsets], [inner sizes], out, outer)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  requireReady(info);
  const samfeat::FlushDenormals flush;
  const Heap h = heapOf(info);
  const auto offsets = ints(info, 1), inner = ints(info, 2);
  const int64_t outer = intArg(info, 4);
  if (offsets.size() != inner.size() || outer < 0)
    throw Napi::TypeError::New(info.Env(), "samfeat_native: concat needs one inner size per input");
  int64_t total = 0;
  std::vector<const float*> ptrs(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (inner[i] < 0 || offsets[i] < 0 || (offsets[i] & 3) ||
        (uint64_t)offsets[i] + (uint64_t)(outer * inner[i]) * 4 > h.bytes)
      throw Napi::RangeError::New(info.Env(), "samfeat_native: concat input outside the wasm heap");
    ptrs[i] = reinterpret_cast<const float*>(h.data + offsets[i]);
    total += inner[i];
  }
  samfeat::concat(ptrs.data(), inner.data(), (int)ptrs.size(), at(info, h, 3, outer * total), outer);
  return info.Env().Undefined();
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("relu", Napi::Function::New(env, Relu));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("sumCols", Napi::Function::New(env, SumCols));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("step", Napi::Function::New(env, Step));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("resizeBilinear", Napi::Function::New(env, ResizeBilinear));
  exports.Set("resizeBilinearGrad", Napi::Function::New(env, ResizeBilinearGrad));
  exports.Set("concat", Napi::Function::New(env, Concat));
  return exports;
}

}  // namespace

NODE_API_MODULE(samfeat_native, Module)
