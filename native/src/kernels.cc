// Compiled with -mavx2 -mfma; only entered after the binding has checked the CPU.
#include "kernels.h"

#include "dnnl_conv.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace samfeat {
namespace {

// Flush denormals to zero (FTZ) and treat denormal inputs as zero (DAZ): a few denormals in a GEMM operand
// slow it down tenfold (seen on this network's attention branch). TensorFlow's CPU ops do the same.
constexpr unsigned kFlushDenormals = 0x8040;

thread_local bool t_inJob = false;  // nested parallel loops run serially

// A fixed set of workers; the calling thread runs part 0 of every job.
class ThreadPool {
 public:
  using Fn = std::function<void(int, int64_t, int64_t)>;  // (part, begin, end)

  void resize(int total) {
    total = std::max(1, total);
    if (total == total_) return;
    shutdown();
    total_ = total;
    stop_ = false;
    for (int i = 1; i < total_; ++i) workers_.emplace_back([this, i] { loop(i); });
  }
  int size() const { return total_; }

  // Splits [0, n) into at most size() contiguous parts of at least `grain` items; returns the part count.
  int parallelParts(int64_t n, int64_t grain, const Fn& fn) {
    if (n <= 0) return 0;
    int parts = t_inJob ? 1 : (int)std::min<int64_t>(total_, std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
    if (parts <= 1) {
      fn(0, 0, n);
      return 1;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      parts_ = parts;
      remaining_ = parts - 1;
      ++generation_;
    }
    cv_.notify_all();
    t_inJob = true;
    fn(0, 0, n / parts);
    t_inJob = false;
    std::unique_lock<std::mutex> lock(mu_);
    doneCv_.wait(lock, [this] { return remaining_ == 0; });
    fn_ = nullptr;
    return parts;
  }

 private:
  void loop(int index) {
    _mm_setcsr(_mm_getcsr() | kFlushDenormals);
    t_inJob = true;
    uint64_t seen = 0;
    for (;;) {
      const Fn* fn;
      int64_t n;
      int parts;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= parts_) continue;
        fn = fn_;
        n = n_;
        parts = parts_;
      }
      (*fn)(index, n * index / parts, n * (index + 1) / parts);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --remaining_;
      }
      doneCv_.notify_one();
    }
  }
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int total_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, doneCv_;
  const Fn* fn_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// Never destroyed: workers may still be parked when the process exits.
ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();
  return *p;
}

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().parallelParts(n, grain, [&](int, int64_t b, int64_t e) { fn(b, e); });
}

// Reused scratch buffer (patch matrices): grows, never shrinks, one per calling thread.
float* scratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if ((int64_t)buf.size() < floats) {
    buf.clear();
    buf.shrink_to_fit();
    buf.resize(floats);
  }
  return buf.data();
}

// Rows of patch matrix per GEMM: about 1 MB of patches, so im2col's output is still in L2 when the GEMM
// reads it (measured 10-20% faster than 16 MB chunks on 3x3 convolutions with 64 channels).
int64_t chunkRows(int64_t rows, int64_t k) {
  const int64_t budget = int64_t(1) << 18;  // floats
  return std::min(rows, std::max<int64_t>(128, budget / std::max<int64_t>(1, k)));
}

bool isPointwise(const ConvShape& s) {
  return s.kH == 1 && s.kW == 1 && s.strideH == 1 && s.strideW == 1 && s.padTop == 0 && s.padLeft == 0 &&
         s.outH == s.inH && s.outW == s.inW;
}

// Patch rows [m0, m1) of the implicit [B*outH*outW, kH*kW*inC] matrix.
void im2col(const float* x, float* col, const ConvShape& s, int64_t m0, int64_t m1) {
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int64_t plane = (int64_t)s.outH * s.outW;
  const int C = s.inC;
  {
    for (int64_t r = 0; r < m1 - m0; ++r) {
      const int64_t m = m0 + r;
      const int64_t b = m / plane;
      const int rem = (int)(m - b * plane);
      const int oy = rem / s.outW, ox = rem - oy * s.outW;
      float* dst = col + r * K;
      const int ix0 = ox * s.strideW - s.padLeft;
      const bool rowInside = s.dilW == 1 && ix0 >= 0 && ix0 + s.kW <= s.inW;
      for (int ky = 0; ky < s.kH; ++ky) {
        const int iy = oy * s.strideH - s.padTop + ky * s.dilH;
        if (iy < 0 || iy >= s.inH) {
          std::memset(dst, 0, sizeof(float) * s.kW * C);
          dst += (int64_t)s.kW * C;
          continue;
        }
        const float* src = x + ((b * s.inH + iy) * (int64_t)s.inW) * C;
        if (rowInside) {
          std::memcpy(dst, src + (int64_t)ix0 * C, sizeof(float) * s.kW * C);
          dst += (int64_t)s.kW * C;
          continue;
        }
        for (int kx = 0; kx < s.kW; ++kx) {
          const int ix = ix0 + kx * s.dilW;
          if (ix < 0 || ix >= s.inW)
            std::memset(dst, 0, sizeof(float) * C);
          else
            std::memcpy(dst, src + (int64_t)ix * C, sizeof(float) * C);
          dst += C;
        }
      }
    }
  }
}

// Scatter-adds patch rows [m0, m1) back into x (the adjoint of im2col); sequential, rows overlap.
void col2im(const float* col, float* x, const ConvShape& s, int64_t m0, int64_t m1) {
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int64_t plane = (int64_t)s.outH * s.outW;
  const int C = s.inC;
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t b = m / plane;
    const int rem = (int)(m - b * plane);
    const int oy = rem / s.outW, ox = rem - oy * s.outW;
    const float* src = col + (m - m0) * K;
    for (int ky = 0; ky < s.kH; ++ky) {
      const int iy = oy * s.strideH - s.padTop + ky * s.dilH;
      for (int kx = 0; kx < s.kW; ++kx, src += C) {
        const int ix = ox * s.strideW - s.padLeft + kx * s.dilW;
        if (iy < 0 || iy >= s.inH || ix < 0 || ix >= s.inW) continue;
        float* dst = x + ((b * s.inH + iy) * (int64_t)s.inW + ix) * C;
        for (int c = 0; c < C; ++c) dst[c] += src[c];
      }
    }
  }
}

void biasActivation(float* y, const float* bias, int64_t rows, int n, Activation act) {
  if (!bias && act == kLinear) return;
  parallelFor(rows, std::max<int64_t>(1, 16384 / std::max(1, n)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = y + r * n;
      if (bias)
        for (int j = 0; j < n; ++j) row[j] += bias[j];
      if (act == kRelu)
        for (int j = 0; j < n; ++j) row[j] = std::max(row[j], 0.0f);
    }
  });
}

inline float dot(const float* a, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  acc0 = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float r = _mm_cvtss_f32(s);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

// Calls visit(tap, pixel) for each tap of output pixel (b, oy, ox) whose input pixel lies inside the
// image (padding contributes nothing): tap = ky * kW + kx, pixel = its index among the B*inH*inW.
template <class Visit>
inline void forEachTap(const ConvShape& s, int64_t b, int oy, int ox, Visit&& visit) {
  for (int ky = 0; ky < s.kH; ++ky) {
    const int iy = oy * s.strideH - s.padTop + ky * s.dilH;
    if (iy < 0 || iy >= s.inH) continue;
    for (int kx = 0; kx < s.kW; ++kx) {
      const int ix = ox * s.strideW - s.padLeft + kx * s.dilW;
      if (ix < 0 || ix >= s.inW) continue;
      visit(ky * s.kW + kx, (b * s.inH + iy) * (int64_t)s.inW + ix);
    }
  }
}

// Few output channels (detector heads): a GEMM with N <= 4 would spend its time writing and reading the
// patch matrix, so these convolutions run directly on the input.
constexpr int kDirectMaxOut = 4;

bool useDirect(const ConvShape& s) { return s.outC <= kDirectMaxOut && !isPointwise(s); }

// Filter [kH, kW, inC, outC] -> [outC, kH, kW, inC], so each output channel's taps are contiguous.
std::vector<float> filterByOutput(const float* w, const ConvShape& s) {
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  std::vector<float> t((size_t)K * s.outC);
  for (int64_t k = 0; k < K; ++k)
    for (int co = 0; co < s.outC; ++co) t[(size_t)co * K + k] = w[k * s.outC + co];
  return t;
}

void conv2dDirect(const float* x, const float* w, const float* bias, float* y, const ConvShape& s, Activation act) {
  const auto wt = filterByOutput(w, s);
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int C = s.inC, N = s.outC;
  parallelFor((int64_t)s.batch * s.outH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / s.outH;
      const int oy = (int)(r - b * s.outH);
      for (int ox = 0; ox < s.outW; ++ox) {
        float* out = y + (r * s.outW + ox) * N;
        for (int co = 0; co < N; ++co) out[co] = bias ? bias[co] : 0.0f;
        forEachTap(s, b, oy, ox, [&](int tap, int64_t pixel) {
          const float* src = x + pixel * C;
          for (int co = 0; co < N; ++co) out[co] += dot(src, wt.data() + co * K + (int64_t)tap * C, C);
        });
        if (act == kRelu)
          for (int co = 0; co < N; ++co) out[co] = std::max(out[co], 0.0f);
      }
    }
  });
}

// dw[tap, ci, co] = sum over output pixels of x[pixel + tap, ci] * dy[pixel, co], accumulated per thread.
void conv2dBackpropFilterDirect(const float* x, const float* dy, float* dw, const ConvShape& s) {
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int C = s.inC, N = s.outC;
  std::vector<float> partial((size_t)threads() * K * N, 0.0f);  // [part][co][tap][ci]
  const int parts = pool().parallelParts((int64_t)s.batch * s.outH, 1, [&](int part, int64_t r0, int64_t r1) {
    float* acc = partial.data() + (size_t)part * K * N;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / s.outH;
      const int oy = (int)(r - b * s.outH);
      for (int ox = 0; ox < s.outW; ++ox) {
        const float* g = dy + (r * s.outW + ox) * N;
        forEachTap(s, b, oy, ox, [&](int tap, int64_t pixel) {
          const float* __restrict src = x + pixel * C;
          for (int co = 0; co < N; ++co) {
            float* __restrict d = acc + co * K + (int64_t)tap * C;
            const float gv = g[co];
            for (int ci = 0; ci < C; ++ci) d[ci] += src[ci] * gv;
          }
        });
      }
    }
  });
  for (int64_t k = 0; k < K; ++k)
    for (int co = 0; co < N; ++co) {
      float sum = 0.0f;
      for (int p = 0; p < parts; ++p) sum += partial[((size_t)p * N + co) * K + k];
      dw[k * N + co] = sum;
    }
}

}  // namespace

void setThreads(int t) {
  t = std::max(1, t);
  // GEMMs are split between the pool's threads, each calling single-threaded OpenBLAS (whose own threads
  // would neither flush denormals nor share the cores politely with the pool).
  openblas_set_num_threads(1);
  pool().resize(t);
  dnnlSetThreads(t);
}

int threads() { return pool().size(); }

FlushDenormals::FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushDenormals); }
FlushDenormals::~FlushDenormals() { _mm_setcsr(saved_); }

void conv2d(const float* x, const float* w, const float* bias, float* y, const ConvShape& s, Activation act) {
  const int64_t M = (int64_t)s.batch * s.outH * s.outW;
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int N = s.outC;
  if (M == 0 || N == 0) return;
  if (useDirect(s)) return conv2dDirect(x, w, bias, y, s, act);
  const bool pointwise = isPointwise(s);
  if (!pointwise && dnnlConv2d(x, w, bias, y, s, act == kRelu)) return;
  // Output rows are independent: each thread runs its own patch matrices and single-threaded GEMMs.
  parallelFor(M, 256, [&](int64_t r0, int64_t r1) {
    if (pointwise) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), N, (int)K, 1.0f, x + r0 * K, (int)K, w,
                  N, 0.0f, y + r0 * N, N);
      biasActivation(y + r0 * N, bias, r1 - r0, N, act);
      return;
    }
    const int64_t rows = chunkRows(r1 - r0, K);
    float* col = scratch(rows * K);
    for (int64_t m0 = r0; m0 < r1; m0 += rows) {
      const int64_t m1 = std::min(r1, m0 + rows);
      im2col(x, col, s, m0, m1);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(m1 - m0), N, (int)K, 1.0f, col, (int)K, w, N,
                  0.0f, y + m0 * N, N);
      biasActivation(y + m0 * N, bias, m1 - m0, N, act);
    }
  });
}

void conv2dBackpropInput(const float* dy, const float* w, float* dx, const ConvShape& s) {
  const int64_t M = (int64_t)s.batch * s.outH * s.outW;
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int N = s.outC;
  const int64_t xSize = (int64_t)s.batch * s.inH * s.inW * s.inC;
  if (xSize == 0) return;
  if (M == 0 || N == 0) {
    std::memset(dx, 0, sizeof(float) * xSize);
    return;
  }
  if (isPointwise(s)) {
    parallelFor(M, 256, [&](int64_t r0, int64_t r1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), s.inC, N, 1.0f, dy + r0 * N, N, w, N, 0.0f,
                  dx + r0 * s.inC, s.inC);
    });
    return;
  }
  // oneDNN, except for a few input channels (the RGB input), where its kernels are slow and the patch
  // scatter below is cheap.
  if (s.inC > kDirectMaxOut && dnnlConv2dBackpropInput(dy, w, dx, s)) return;
  if (s.strideH == 1 && s.strideW == 1 && s.inC * 4 > N) {
    // Stride 1: the input gradient is a forward convolution of dy with the flipped, in/out-swapped filter
    // (unless x has far fewer channels than dy, e.g. the RGB input: scattering patch gradients is cheaper).
    std::vector<float> flipped((size_t)K * N);
    for (int ky = 0; ky < s.kH; ++ky)
      for (int kx = 0; kx < s.kW; ++kx)
        for (int co = 0; co < N; ++co)
          for (int ci = 0; ci < s.inC; ++ci)
            flipped[(((int64_t)ky * s.kW + kx) * N + co) * s.inC + ci] =
                w[(((int64_t)(s.kH - 1 - ky) * s.kW + (s.kW - 1 - kx)) * s.inC + ci) * N + co];
    ConvShape t = s;
    t.inH = s.outH;
    t.inW = s.outW;
    t.inC = N;
    t.outH = s.inH;
    t.outW = s.inW;
    t.outC = s.inC;
    t.padTop = s.dilH * (s.kH - 1) - s.padTop;
    t.padLeft = s.dilW * (s.kW - 1) - s.padLeft;
    conv2d(dy, flipped.data(), nullptr, dx, t, kLinear);
    return;
  }
  std::memset(dx, 0, sizeof(float) * xSize);
  const int64_t rows = chunkRows(M, K);
  float* col = scratch(rows * K);
  for (int64_t m0 = 0; m0 < M; m0 += rows) {
    const int64_t m1 = std::min(M, m0 + rows);
    parallelFor(m1 - m0, 256, [&](int64_t r0, int64_t r1) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)K, N, 1.0f, dy + (m0 + r0) * N, N, w,
                  N, 0.0f, col + r0 * K, (int)K);
    });
    col2im(col, dx, s, m0, m1);
  }
}

void conv2dBackpropFilter(const float* x, const float* dy, float* dw, const ConvShape& s) {
  const int64_t M = (int64_t)s.batch * s.outH * s.outW;
  const int64_t K = (int64_t)s.kH * s.kW * s.inC;
  const int N = s.outC;
  if (K == 0 || N == 0) return;
  if (M == 0) {
    std::memset(dw, 0, sizeof(float) * K * N);
    return;
  }
  if (useDirect(s)) return conv2dBackpropFilterDirect(x, dy, dw, s);
  const bool pointwise = isPointwise(s);
  if (!pointwise && dnnlConv2dBackpropFilter(x, dy, dw, s)) return;
  // The sum over output rows is split between threads: part 0 accumulates into dw, the others into partials.
  const int T = threads();
  std::vector<float> partials((size_t)std::max(0, T - 1) * K * N);
  const int parts = pool().parallelParts(M, 1024, [&](int part, int64_t r0, int64_t r1) {
    float* out = part == 0 ? dw : partials.data() + (size_t)(part - 1) * K * N;
    if (pointwise) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, N, (int)(r1 - r0), 1.0f, x + r0 * K, (int)K,
                  dy + r0 * N, N, 0.0f, out, N);
      return;
    }
    const int64_t rows = chunkRows(r1 - r0, K);
    float* col = scratch(rows * K);
    for (int64_t m0 = r0; m0 < r1; m0 += rows) {
      const int64_t m1 = std::min(r1, m0 + rows);
      im2col(x, col, s, m0, m1);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, N, (int)(m1 - m0), 1.0f, col, (int)K,
                  dy + m0 * N, N, m0 == r0 ? 0.0f : 1.0f, out, N);
    }
  });
  for (int p = 1; p < parts; ++p) {
    const float* part = partials.data() + (size_t)(p - 1) * K * N;
    for (int64_t i = 0; i < K * N; ++i) dw[i] += part[i];
  }
}

void batchMatMul(const float* a, const float* b, const float* bias, float* c, int batch, int64_t strideA,
                 int64_t strideB, int m, int n, int k, bool transA, bool transB, Activation act) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    std::memset(c, 0, sizeof(float) * batch * (int64_t)m * n);
    biasActivation(c, bias, (int64_t)batch * m, n, act);
    return;
  }
  const int lda = transA ? m : k, ldb = transB ? k : n;
  // Rows [r0, r1) of batch item i; with A transposed those rows are columns of the stored A.
  auto rows = [&](int64_t i, int64_t r0, int64_t r1) {
    const float* pa = a + i * strideA + (transA ? r0 : r0 * k);
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)(r1 - r0),
                n, k, 1.0f, pa, lda, b + i * strideB, ldb, 0.0f, c + (i * (int64_t)m + r0) * n, n);
  };
  if (batch >= threads()) {
    parallelFor(batch, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) rows(i, 0, m);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) parallelFor(m, 64, [&](int64_t r0, int64_t r1) { rows(i, r0, r1); });
  }
  biasActivation(c, bias, (int64_t)batch * m, n, act);
}

void relu(const float* x, float* y, int64_t n) {
  parallelFor(n, 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = std::max(x[i], 0.0f);
  });
}

namespace {
template <BinaryOp OP>
inline float apply(float a, float b) {
  if (OP == kAdd) return a + b;
  if (OP == kSub) return a - b;
  if (OP == kDiv) return a / b;
  return a * b;
}

template <BinaryOp OP>
void binaryImpl(const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa,
                const int64_t* sb) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= shape[d];
  if (total == 0) return;
  const int64_t inner = rank > 0 ? shape[rank - 1] : 1;
  const int64_t ia = rank > 0 ? sa[rank - 1] : 0, ib = rank > 0 ? sb[rank - 1] : 0;
  const int64_t rows = total / inner;
  parallelFor(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t offA = 0, offB = 0, rem = r;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        offA += idx * sa[d];
        offB += idx * sb[d];
      }
      const float* pa = a + offA;
      const float* pb = b + offB;
      float* po = out + r * inner;
      // Broadcast scalars are read once: po may alias them, which would otherwise stop vectorisation.
      if (ia == 1 && ib == 1) {
        for (int64_t j = 0; j < inner; ++j) po[j] = apply<OP>(pa[j], pb[j]);
      } else if (ia == 1 && ib == 0) {
        const float bv = pb[0];
        for (int64_t j = 0; j < inner; ++j) po[j] = apply<OP>(pa[j], bv);
      } else if (ia == 0 && ib == 1) {
        const float av = pa[0];
        for (int64_t j = 0; j < inner; ++j) po[j] = apply<OP>(av, pb[j]);
      } else {
        for (int64_t j = 0; j < inner; ++j) po[j] = apply<OP>(pa[j * ia], pb[j * ib]);
      }
    }
  });
}
}  // namespace

void binary(const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa,
            const int64_t* sb, BinaryOp op) {
  if (op == kAdd) binaryImpl<kAdd>(a, b, out, rank, shape, sa, sb);
  else if (op == kSub) binaryImpl<kSub>(a, b, out, rank, shape, sa, sb);
  else if (op == kDiv) binaryImpl<kDiv>(a, b, out, rank, shape, sa, sb);
  else binaryImpl<kMul>(a, b, out, rank, shape, sa, sb);
}

void sumRows(const float* x, float* out, int64_t outer, int64_t inner) {
  // Column blocks per thread keep the accumulation order fixed whatever the thread count.
  parallelFor(inner, 16, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) out[j] = 0.0f;
    for (int64_t r = 0; r < outer; ++r) {
      const float* row = x + r * inner;
      for (int64_t j = j0; j < j1; ++j) out[j] += row[j];
    }
  });
}

void sumCols(const float* x, float* out, int64_t outer, int64_t inner, float scale) {
  parallelFor(outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      // 32 float partial sums, then double: as accurate as a double loop here, at vector speed.
      const float* row = x + r * inner;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      int64_t j = 0;
      for (; j + 32 <= inner; j += 32) {
        acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(row + j));
        acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(row + j + 8));
        acc2 = _mm256_add_ps(acc2, _mm256_loadu_ps(row + j + 16));
        acc3 = _mm256_add_ps(acc3, _mm256_loadu_ps(row + j + 24));
      }
      alignas(32) float lanes[32];
      _mm256_store_ps(lanes, acc0);
      _mm256_store_ps(lanes + 8, acc1);
      _mm256_store_ps(lanes + 16, acc2);
      _mm256_store_ps(lanes + 24, acc3);
      double acc = 0.0;
      for (float v : lanes) acc += v;
      for (; j < inner; ++j) acc += row[j];
      out[r] = (float)(acc * scale);
    }
  });
}

void maxPool(const float* x, float* y, const ConvShape& s) {
  const int C = s.inC;
  parallelFor((int64_t)s.batch * s.outH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / s.outH;
      const int oy = (int)(r - b * s.outH);
      for (int ox = 0; ox < s.outW; ++ox) {
        float* dst = y + ((r * s.outW) + ox) * C;
        for (int c = 0; c < C; ++c) dst[c] = -INFINITY;
        forEachTap(s, b, oy, ox, [&](int, int64_t pixel) {
          const float* src = x + pixel * C;
          for (int c = 0; c < C; ++c) dst[c] = std::max(dst[c], src[c]);
        });
      }
    }
  });
}

namespace {
// 2x2 windows at stride 2 without padding tile the input: each input pixel is in exactly one window,
// so dx is written once, with no zeroing pass and no scatter (the network's every pooling).
void maxPoolGrad2x2(const float* dy, const float* x, float* dx, const ConvShape& s) {
  const int C = s.inC;
  parallelFor((int64_t)s.batch * s.outH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / s.outH;
      const int oy = (int)(r - b * s.outH);
      if (oy == s.outH - 1)  // odd height: the last row is in no window
        for (int iy = 2 * s.outH; iy < s.inH; ++iy)
          std::memset(dx + ((b * s.inH + iy) * (int64_t)s.inW) * C, 0, sizeof(float) * s.inW * C);
      const int64_t row0 = ((b * s.inH + 2 * oy) * (int64_t)s.inW) * C, row1 = row0 + (int64_t)s.inW * C;
      for (int ox = 0; ox < s.outW; ++ox) {
        const float* g = dy + (r * s.outW + ox) * C;
        const int64_t p00 = row0 + (int64_t)2 * ox * C, p01 = p00 + C, p10 = row1 + (int64_t)2 * ox * C, p11 = p10 + C;
        int c = 0;
        for (; c + 8 <= C; c += 8) {
          // The first maximum in window order takes the gradient (as tfjs's cpu backend); a window
          // whose maximum compares unequal to all four (NaN) gives it to the first.
          const __m256 a = _mm256_loadu_ps(x + p00 + c), b2 = _mm256_loadu_ps(x + p01 + c),
                       c2 = _mm256_loadu_ps(x + p10 + c), d = _mm256_loadu_ps(x + p11 + c);
          const __m256 m = _mm256_max_ps(_mm256_max_ps(a, b2), _mm256_max_ps(c2, d));
          __m256 ea = _mm256_cmp_ps(a, m, _CMP_EQ_OQ);
          const __m256 eb = _mm256_andnot_ps(ea, _mm256_cmp_ps(b2, m, _CMP_EQ_OQ));
          const __m256 taken = _mm256_or_ps(ea, eb);
          const __m256 ec = _mm256_andnot_ps(taken, _mm256_cmp_ps(c2, m, _CMP_EQ_OQ));
          const __m256 ed = _mm256_andnot_ps(_mm256_or_ps(taken, ec), _mm256_cmp_ps(d, m, _CMP_EQ_OQ));
          ea = _mm256_or_ps(ea, _mm256_andnot_ps(_mm256_or_ps(_mm256_or_ps(taken, ec), ed), _mm256_castsi256_ps(_mm256_set1_epi32(-1))));
          const __m256 gv = _mm256_loadu_ps(g + c);
          _mm256_storeu_ps(dx + p00 + c, _mm256_and_ps(ea, gv));
          _mm256_storeu_ps(dx + p01 + c, _mm256_and_ps(eb, gv));
          _mm256_storeu_ps(dx + p10 + c, _mm256_and_ps(ec, gv));
          _mm256_storeu_ps(dx + p11 + c, _mm256_and_ps(ed, gv));
        }
        for (; c < C; ++c) {
          const float a = x[p00 + c], b2 = x[p01 + c], c2 = x[p10 + c], d = x[p11 + c];
          const float m = std::max(std::max(a, b2), std::max(c2, d));
          const int first = a == m ? 0 : b2 == m ? 1 : c2 == m ? 2 : d == m ? 3 : 0;
          dx[p00 + c] = first == 0 ? g[c] : 0.0f;
          dx[p01 + c] = first == 1 ? g[c] : 0.0f;
          dx[p10 + c] = first == 2 ? g[c] : 0.0f;
          dx[p11 + c] = first == 3 ? g[c] : 0.0f;
        }
      }
      if (s.inW > 2 * s.outW)  // odd width: the last column of both rows is in no window
        for (int64_t row : {row0, row1})
          std::memset(dx + row + (int64_t)2 * s.outW * C, 0, sizeof(float) * (s.inW - 2 * s.outW) * C);
    }
  });
}
}  // namespace

void maxPoolGrad(const float* dy, const float* x, float* dx, const ConvShape& s) {
  const int C = s.inC;
  const int64_t xSize = (int64_t)s.batch * s.inH * s.inW * C;
  if (s.kH == 2 && s.kW == 2 && s.strideH == 2 && s.strideW == 2 && s.dilH == 1 && s.dilW == 1 && s.padTop == 0 &&
      s.padLeft == 0 && s.outH == s.inH / 2 && s.outW == s.inW / 2)
    return maxPoolGrad2x2(dy, x, dx, s);
  std::memset(dx, 0, sizeof(float) * xSize);
  // Per image: windows of different images never overlap, so images run in parallel.
  parallelFor(s.batch, 1, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> best(C);
    std::vector<float> value(C);
    for (int64_t b = b0; b < b1; ++b)
      for (int oy = 0; oy < s.outH; ++oy)
        for (int ox = 0; ox < s.outW; ++ox) {
          // The first maximum in window order receives the gradient (as tfjs's cpu backend).
          std::fill(value.begin(), value.end(), -INFINITY);
          std::fill(best.begin(), best.end(), -1);
          forEachTap(s, b, oy, ox, [&](int, int64_t pixel) {
            const int64_t base = pixel * C;
            for (int c = 0; c < C; ++c)
              if (x[base + c] > value[c] || best[c] < 0) {
                value[c] = x[base + c];
                best[c] = base + c;
              }
          });
          const float* g = dy + ((b * s.outH + oy) * (int64_t)s.outW + ox) * C;
          for (int c = 0; c < C; ++c)
            if (best[c] >= 0) dx[best[c]] += g[c];
        }
  });
}

void avgPoolGrad(const float* dy, float* dx, const ConvShape& s) {
  const int C = s.inC;
  const float scale = 1.0f / (float)(s.kH * s.kW);
  std::memset(dx, 0, sizeof(float) * (int64_t)s.batch * s.inH * s.inW * C);
  parallelFor(s.batch, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int oy = 0; oy < s.outH; ++oy)
        for (int ox = 0; ox < s.outW; ++ox) {
          const float* g = dy + ((b * s.outH + oy) * (int64_t)s.outW + ox) * C;
          forEachTap(s, b, oy, ox, [&](int, int64_t pixel) {
            float* d = dx + pixel * C;
            for (int c = 0; c < C; ++c) d[c] += g[c] * scale;
          });
        }
  });
}

void slice(const float* x, float* out, int rank, const int64_t* shape, const int64_t* begin, const int64_t* size) {
  // Axes after the last partial one are copied whole: each output row is one contiguous run.
  int last = -1;
  for (int d = 0; d < rank; ++d)
    if (size[d] != shape[d]) last = d;
  std::vector<int64_t> stride(std::max(rank, 1), 1);  // elements per step along each axis
  for (int d = rank - 2; d >= 0; --d) stride[d] = stride[d + 1] * shape[d + 1];
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= size[d];
  if (total == 0) return;
  if (last < 0) {
    std::memcpy(out, x, sizeof(float) * total);
    return;
  }
  const int64_t run = size[last] * stride[last];
  const int64_t runs = total / run;
  parallelFor(runs, std::max<int64_t>(1, 32768 / run), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = begin[last] * stride[last], rem = r;
      for (int d = last - 1; d >= 0; --d) {
        const int64_t idx = rem % size[d];
        rem /= size[d];
        off += (begin[d] + idx) * stride[d];
      }
      std::memcpy(out + r * run, x + off, sizeof(float) * run);
    }
  });
}

void step(const float* x, float* y, int64_t n, float alpha) {
  parallelFor(n, 65536, [x, y, alpha](int64_t i0, int64_t i1) {
    // Explicit AVX: the compiler keeps the NaN test as branches, which mispredict on signed data.
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), a = _mm256_set1_ps(alpha);
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      __m256 r = _mm256_blendv_ps(a, one, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
      r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      _mm256_storeu_ps(y + i, r);
    }
    for (; i < i1; ++i) y[i] = x[i] != x[i] ? x[i] : (x[i] > 0.0f ? 1.0f : alpha);
  });
}

namespace {
// out[8 x 8 block] = transpose of in[8 x 8 block]; row strides in floats.
inline void transpose8x8(const float* in, int64_t ldIn, float* out, int64_t ldOut) {
  const __m256 r0 = _mm256_loadu_ps(in), r1 = _mm256_loadu_ps(in + ldIn), r2 = _mm256_loadu_ps(in + 2 * ldIn),
               r3 = _mm256_loadu_ps(in + 3 * ldIn), r4 = _mm256_loadu_ps(in + 4 * ldIn),
               r5 = _mm256_loadu_ps(in + 5 * ldIn), r6 = _mm256_loadu_ps(in + 6 * ldIn),
               r7 = _mm256_loadu_ps(in + 7 * ldIn);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(out + ldOut, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(out + 2 * ldOut, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(out + 3 * ldOut, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(out + 4 * ldOut, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(out + 5 * ldOut, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(out + 6 * ldOut, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(out + 7 * ldOut, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// out[b][c][r] = x[b][r][c] for `batch` [rows, cols] matrices, in 8x8 register tiles: the general
// loop below gathers one element per cache line and runs several times slower on these.
void transposeMatrices(const float* x, float* out, int64_t batch, int64_t rows, int64_t cols) {
  // A task is a band of 32 rows of x, so each output row gets 128 contiguous bytes (two cache lines).
  constexpr int64_t kBand = 32;
  const int64_t bands = (rows + kBand - 1) / kBand;
  parallelFor(batch * bands, std::max<int64_t>(1, 1024 / std::max<int64_t>(1, cols)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / bands, r0 = (t - b * bands) * kBand, r1 = std::min(rows, r0 + kBand);
      const float* in = x + b * rows * cols;
      float* o = out + b * rows * cols;
      const int64_t tiledRows = r0 + (r1 - r0) / 8 * 8, tiledCols = cols / 8 * 8;
      for (int64_t c = 0; c < tiledCols; c += 8)
        for (int64_t r = r0; r < tiledRows; r += 8) transpose8x8(in + r * cols + c, cols, o + c * rows + r, rows);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = r < tiledRows ? tiledCols : 0; c < cols; ++c) o[c * rows + r] = in[r * cols + c];
    }
  });
}
}  // namespace

void transpose(const float* x, float* out, int rank, const int64_t* shape, const int64_t* perm) {
  // Drop size-1 axes, then merge input axes that stay adjacent and in order in the output: NHWC -> CNHW
  // becomes a [NHW, C] matrix transpose, and [G, H, W] -> [G, W, H] a batch of them.
  std::vector<int64_t> axes;  // input axes of extent > 1, in output order
  for (int d = 0; d < rank; ++d)
    if (shape[perm[d]] != 1) axes.push_back(perm[d]);
  std::vector<std::vector<int64_t>> groups;  // runs of consecutive input axes, in output order
  for (int64_t a : axes) {
    if (!groups.empty() && a > groups.back().back()) {
      bool adjacent = true;  // size-1 axes between them do not break the run
      for (int64_t m = groups.back().back() + 1; m < a; ++m) adjacent &= shape[m] == 1;
      if (adjacent) {
        groups.back().push_back(a);
        continue;
      }
    }
    groups.push_back({a});
  }
  auto extent = [&](const std::vector<int64_t>& g) {
    int64_t e = 1;
    for (int64_t a : g) e *= shape[a];
    return e;
  };
  // The groups' order in the input is the order of their first axes.
  if (groups.size() == 2 && groups[0][0] > groups[1][0])
    return transposeMatrices(x, out, 1, extent(groups[1]), extent(groups[0]));
  if (groups.size() == 3 && groups[0][0] < groups[2][0] && groups[2][0] < groups[1][0])
    return transposeMatrices(x, out, extent(groups[0]), extent(groups[2]), extent(groups[1]));

  std::vector<int64_t> inStride(rank, 1), outShape(rank), stride(rank);
  for (int d = rank - 2; d >= 0; --d) inStride[d] = inStride[d + 1] * shape[d + 1];
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    outShape[d] = shape[perm[d]];
    stride[d] = inStride[perm[d]];  // input step per step along output axis d
    total *= outShape[d];
  }
  if (total == 0) return;
  const int64_t inner = rank ? outShape[rank - 1] : 1, innerStride = rank ? stride[rank - 1] : 1;
  parallelFor(total / inner, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0, rem = r;
      for (int d = rank - 2; d >= 0; --d) {
        off += (rem % outShape[d]) * stride[d];
        rem /= outShape[d];
      }
      const float* src = x + off;
      float* dst = out + r * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * innerStride];
    }
  });
}

namespace {
struct Lerp {
  int lo, hi;
  float frac;
};

// Source coordinates of each output coordinate, as tfjs's cpu ResizeBilinear computes them.
std::vector<Lerp> lerpTable(int in, int out, bool alignCorners, bool halfPixel) {
  std::vector<Lerp> t(out);
  const float scale = (alignCorners && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
  for (int o = 0; o < out; ++o) {
    float src = halfPixel ? scale * ((float)o + 0.5f) - 0.5f : scale * (float)o;
    if (halfPixel) src = std::max(0.0f, src);
    const int lo = std::max(0, (int)std::floor(src));
    const int hi = std::min(in - 1, (int)std::ceil(src));
    t[o] = {lo, hi, src - (float)lo};
  }
  return t;
}
}  // namespace

void resizeBilinear(const float* x, float* y, int batch, int inH, int inW, int c, int outH, int outW,
                    bool alignCorners, bool halfPixel) {
  const auto ty = lerpTable(inH, outH, alignCorners, halfPixel);
  const auto tx = lerpTable(inW, outW, alignCorners, halfPixel);
  parallelFor((int64_t)batch * outH, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / outH;
      const Lerp& ly = ty[r - b * outH];
      const float* top = x + (b * inH + ly.lo) * (int64_t)inW * c;
      const float* bot = x + (b * inH + ly.hi) * (int64_t)inW * c;
      float* dst = y + r * (int64_t)outW * c;
      for (int ox = 0; ox < outW; ++ox, dst += c) {
        const Lerp& lx = tx[ox];
        const float* tl = top + (int64_t)lx.lo * c;
        const float* tr = top + (int64_t)lx.hi * c;
        const float* bl = bot + (int64_t)lx.lo * c;
        const float* br = bot + (int64_t)lx.hi * c;
        for (int k = 0; k < c; ++k) {
          const float t = tl[k] + (tr[k] - tl[k]) * lx.frac;
          const float u = bl[k] + (br[k] - bl[k]) * lx.frac;
          dst[k] = t + (u - t) * ly.frac;
        }
      }
    }
  });
}

void resizeBilinearGrad(const float* dy, float* dx, int batch, int inH, int inW, int c, int outH, int outW,
                        bool alignCorners, bool halfPixel) {
  const auto ty = lerpTable(inH, outH, alignCorners, halfPixel);
  const auto tx = lerpTable(inW, outW, alignCorners, halfPixel);
  std::memset(dx, 0, sizeof(float) * (int64_t)batch * inH * inW * c);
  parallelFor(batch, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int oy = 0; oy < outH; ++oy) {
        const Lerp& ly = ty[oy];
        float* top = dx + (b * inH + ly.lo) * (int64_t)inW * c;
        float* bot = dx + (b * inH + ly.hi) * (int64_t)inW * c;
        const float* g = dy + (b * outH + oy) * (int64_t)outW * c;
        for (int ox = 0; ox < outW; ++ox, g += c) {
          const Lerp& lx = tx[ox];
          const float wtl = (1 - ly.frac) * (1 - lx.frac), wtr = (1 - ly.frac) * lx.frac;
          const float wbl = ly.frac * (1 - lx.frac), wbr = ly.frac * lx.frac;
          float* tl = top + (int64_t)lx.lo * c;
          float* tr = top + (int64_t)lx.hi * c;
          float* bl = bot + (int64_t)lx.lo * c;
          float* br = bot + (int64_t)lx.hi * c;
          for (int k = 0; k < c; ++k) {
            tl[k] += g[k] * wtl;
            tr[k] += g[k] * wtr;
            bl[k] += g[k] * wbl;
            br[k] += g[k] * wbr;
          }
        }
      }
  });
}

void concat(const float* const* inputs, const int64_t* inner, int count, float* out, int64_t outer) {
  int64_t total = 0;
  for (int i = 0; i < count; ++i) total += inner[i];
  parallelFor(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, total)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* dst = out + r * total;
      for (int i = 0; i < count; ++i) {
        std::memcpy(dst, inputs[i] + r * inner[i], sizeof(float) * inner[i]);
        dst += inner[i];
      }
    }
  });
}

}  // namespace samfeat
