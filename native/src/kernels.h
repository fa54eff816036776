// Native CPU kernels operating on raw float buffers (the tfjs wasm heap).
// All tensors are NHWC / row-major; filters are [kh, kw, ci, co] as in tfjs.
#pragma once
#include <cstdint>

namespace samfeat {

struct ConvShape {
  int batch, inH, inW, inC;
  int outH, outW, outC;
  int kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft;
};

enum Activation { kLinear = 0, kRelu = 1 };

// Flushes denormals on the calling thread for its lifetime, then restores the caller's FP mode.
class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();

 private:
  unsigned saved_;
};

// Size of the thread pool that runs every kernel (GEMMs are split between its threads, each calling
// single-threaded OpenBLAS).
void setThreads(int threads);
int threads();

// y = act(conv(x, w) + bias); bias may be null.
void conv2d(const float* x, const float* w, const float* bias, float* y, const ConvShape& s, Activation act);
// dx = gradient of conv(x, w) with respect to x, given dy.
void conv2dBackpropInput(const float* dy, const float* w, float* dx, const ConvShape& s);
// dw = gradient of conv(x, w) with respect to w, given dy.
void conv2dBackpropFilter(const float* x, const float* dy, float* dw, const ConvShape& s);

// c[i] = act(op(a[i]) * op(b[i]) + bias) for every batch index; batch strides of 0 broadcast.
void batchMatMul(const float* a, const float* b, const float* bias, float* c, int batch, int64_t strideA,
                 int64_t strideB, int m, int n, int k, bool transA, bool transB, Activation act);

// Elementwise and data-movement kernels.
void relu(const float* x, float* y, int64_t n);
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
// out = a op b over `outShape`, reading a and b through per-axis strides (0 along broadcast axes).
void binary(const float* a, const float* b, float* out, int rank, const int64_t* outShape, const int64_t* aStrides,
            const int64_t* bStrides, BinaryOp op);
// Sum over the leading `outer` rows of a [outer, inner] matrix: out[inner].
void sumRows(const float* x, float* out, int64_t outer, int64_t inner);
// Sum over the trailing axis of a [outer, inner] matrix: out[outer].
void sumCols(const float* x, float* out, int64_t outer, int64_t inner, float scale);

void maxPool(const float* x, float* y, const ConvShape& s);
void maxPoolGrad(const float* dy, const float* x, float* dx, const ConvShape& s);

// tfjs's AvgPoolGrad: each dy spreads dy / (kH * kW) over its window's in-bounds pixels.
void avgPoolGrad(const float* dy, float* dx, const ConvShape& s);

// out = x[begin : begin + size] for a tensor of rank <= 6.
void slice(const float* x, float* out, int rank, const int64_t* shape, const int64_t* begin, const int64_t* size);

// y = x > 0 ? 1 : alpha (NaN stays NaN), as tfjs's Step.
void step(const float* x, float* y, int64_t n, float alpha);

// out = x with its axes permuted (out axis d is x axis perm[d]); rank <= 6.
void transpose(const float* x, float* out, int rank, const int64_t* shape, const int64_t* perm);

// Bilinear resize of [B, H, W, C] to [B, outH, outW, C] as tfjs ResizeBilinear defines it.
void resizeBilinear(const float* x, float* y, int batch, int inH, int inW, int c, int outH, int outW,
                    bool alignCorners, bool halfPixel);
void resizeBilinearGrad(const float* dy, float* dx, int batch, int inH, int inW, int c, int outH, int outW,
                        bool alignCorners, bool halfPixel);

// Concatenation along an axis with the tensors viewed as [outer, inner_i].
void concat(const float* const* inputs, const int64_t* inner, int count, float* out, int64_t outer);

}  // namespace samfeat
