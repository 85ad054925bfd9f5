// Fused CPU kernels for the two-layer ReLU network f(x) = c_a * <a, relu(c_w * x W + b)>:
// one online SGD step on the squared loss, and the network's outputs on a test set.
//
// XLA runs the SGD step as separate kernels: a matmul, the ReLU, the readout, their
// gradients and the updates, each a pass over the batch x width activations. Here one run's
// step is two passes, forward and backward, that keep the activations in the L2 cache and
// a column block of weights or gradients in L1. Their multiply-adds are blocked in
// registers over the short contraction (d = 30 in the reference benchmark), where XLA's
// matmul reached about 70% of an AVX2 core's peak. runtime/native.py compiles this file on the machine that runs it
// (-march=native) and falls back to XLA when it cannot.
//
// Vectors are GCC vector extensions of 8 floats, so the file builds on any architecture.
// The width must be a multiple of 8, which native.py checks before choosing this path.
//
// The passes are kept out of line (noinline). Inlined into the FFI handler, the same
// forward pass ran 1.7x slower under XLA than called directly, with the same inputs.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

typedef float v8 __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;

inline v8 load(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

inline v8 splat(float s) { return v8{s, s, s, s, s, s, s, s}; }

inline v8 relu(v8 z) { return z > 0 ? z : v8{}; }

inline float lane_sum(v8 v) {
  float sum = 0.0f;
  for (int i = 0; i < kLanes; ++i) sum += v[i];
  return sum;
}

// The sizes of one run: batch (or test samples) x inputs, and the hidden width.
struct Sizes {
  int64_t rows, d, width;
};

struct Scales {
  float c_w, c_a;  // forward multipliers of the first layer and of the readout
};

// Preactivations of rows [r0, r0 + R) in columns [j0, j0 + 8 J): an R x J block of vector
// accumulators filled by a loop over the contraction. `packed` holds c_w times W's
// columns of the block, d rows of 8 J floats. Each row's output contribution a_j relu(z)
// is added to its lane-wise partial sum in `partial`; z is kept when `z` is set.
template <int R, int J>
void forward_block(const float* x, const float* packed, const float* b, const float* a, Sizes n, Scales s,
                   int64_t r0, int64_t j0, float* z, v8* partial) {
  v8 acc[R][J] = {};
  for (int64_t k = 0; k < n.d; ++k) {
    v8 wk[J];
    for (int j = 0; j < J; ++j) wk[j] = load(packed + (k * J + j) * kLanes);
    for (int r = 0; r < R; ++r) {
      v8 xk = splat(x[(r0 + r) * n.d + k]);
      for (int j = 0; j < J; ++j) acc[r][j] += xk * wk[j];
    }
  }

  v8 bias[J], readout[J];
  for (int j = 0; j < J; ++j) {
    bias[j] = load(b + j0 + kLanes * j);
    readout[j] = load(a + j0 + kLanes * j);
  }
  for (int r = 0; r < R; ++r) {
    v8 out{};
    for (int j = 0; j < J; ++j) {
      v8 pre = acc[r][j] + bias[j];
      if (z != nullptr) store(z + (r0 + r) * n.width + j0 + kLanes * j, pre);
      out += relu(pre) * readout[j];
    }
    partial[r0 + r] += out;
  }
}

// Rows [r0, r1) in columns [j0, j0 + 8 J). The block's weights are copied out first. The
// rows of W are a power of two apart at the usual widths, so a column block read in place
// maps onto a few L1 sets and misses on every row. The copy (d x 8 J floats) stays in L1.
template <int J>
void forward_columns(const float* x, const float* w, const float* b, const float* a, Sizes n, Scales s,
                     int64_t r0, int64_t r1, int64_t j0, float* z, v8* partial, std::vector<float>& packed) {
  packed.resize(n.d * J * kLanes);
  for (int64_t k = 0; k < n.d; ++k) {
    for (int j = 0; j < J; ++j) {
      store(packed.data() + (k * J + j) * kLanes, load(w + k * n.width + j0 + kLanes * j) * s.c_w);
    }
  }

  constexpr int R = J == 1 ? 8 : 12 / J;  // 12 accumulators, a W vector and a broadcast: 16 registers
  for (; r0 + R <= r1; r0 += R) forward_block<R, J>(x, packed.data(), b, a, n, s, r0, j0, z, partial);
  for (; r0 + 4 <= r1; r0 += 4) forward_block<4, J>(x, packed.data(), b, a, n, s, r0, j0, z, partial);
  for (; r0 < r1; ++r0) forward_block<1, J>(x, packed.data(), b, a, n, s, r0, j0, z, partial);
}

// Outputs f of every row (and the preactivations z when set). Rows go in tiles of about
// 128 KB of inputs, which stay in L2 while every column block passes over them, and each
// block's weights are packed once per tile. Tiles of 16 KB (to stay in L1) packed all of
// W every few rows, and a test set at d = 256 ran 1.4x slower than with XLA.
__attribute__((noinline)) void forward(const float* x, const float* w, const float* b, const float* a,
                                       Sizes n, Scales s, float* z, float* f, std::vector<v8>& partial) {
  constexpr int64_t kTileBytes = 128 * 1024;
  thread_local std::vector<float> packed;
  partial.assign(n.rows, v8{});
  int64_t tile = std::max<int64_t>(8, kTileBytes / static_cast<int64_t>(sizeof(float) * n.d));

  for (int64_t r0 = 0; r0 < n.rows; r0 += tile) {
    int64_t r1 = std::min(n.rows, r0 + tile);
    int64_t j0 = 0;
    for (; j0 + 2 * kLanes <= n.width; j0 += 2 * kLanes) {
      forward_columns<2>(x, w, b, a, n, s, r0, r1, j0, z, partial.data(), packed);
    }
    if (j0 < n.width) forward_columns<1>(x, w, b, a, n, s, r0, r1, j0, z, partial.data(), packed);
  }
  for (int64_t r = 0; r < n.rows; ++r) f[r] = s.c_a * lane_sum(partial[r]);
}

// W[k0 .. k0 + K, j0 .. j0 + 8 J] -= step * sum_r x[r, k] dz[r, j]: the weight gradient
// of a block, accumulated in registers over the batch and applied in place. `packed` holds
// the block's columns of dz, one row of 8 J floats per sample.
template <int K, int J>
void weight_block(const float* x, const float* packed, Sizes n, int64_t k0, int64_t j0, float step, float* w) {
  v8 acc[K][J] = {};
  for (int64_t r = 0; r < n.rows; ++r) {
    v8 dr[J];
    for (int j = 0; j < J; ++j) dr[j] = load(packed + (r * J + j) * kLanes);
    for (int k = 0; k < K; ++k) {
      v8 xk = splat(x[r * n.d + k0 + k]);
      for (int j = 0; j < J; ++j) acc[k][j] += xk * dr[j];
    }
  }

  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < J; ++j) {
      float* wk = w + (k0 + k) * n.width + j0 + kLanes * j;
      store(wk, load(wk) - acc[k][j] * step);
    }
  }
}

// The backward pass of columns [j0, j0 + 8 J). One pass over the batch writes dL/dz into
// a contiguous block, which the weight gradient then reads at unit stride rather than at
// W's power-of-two row stride. It sums the readout and bias gradients on the way.
// g is dL/df per row.
template <int J>
void backward_columns(const float* x, const float* a, const float* g, const float* z, Sizes n, Scales s,
                      int64_t j0, float step, float* w, float* grad_a, float* grad_b, std::vector<float>& dz) {
  dz.resize(n.rows * J * kLanes);
  v8 a_col[J], sum_a[J] = {}, sum_b[J] = {};
  for (int j = 0; j < J; ++j) a_col[j] = load(a + j0 + kLanes * j) * s.c_a;
  for (int64_t r = 0; r < n.rows; ++r) {
    v8 gr = splat(g[r]);
    for (int j = 0; j < J; ++j) {
      v8 pre = load(z + r * n.width + j0 + kLanes * j);
      v8 dz_r = pre > 0 ? a_col[j] * gr : v8{};
      sum_a[j] += relu(pre) * gr;
      sum_b[j] += dz_r;
      store(dz.data() + (r * J + j) * kLanes, dz_r);
    }
  }
  for (int j = 0; j < J; ++j) {
    store(grad_a + j0 + kLanes * j, sum_a[j] * s.c_a);
    store(grad_b + j0 + kLanes * j, sum_b[j]);
  }

  constexpr int K = 12 / J;
  int64_t k0 = 0;
  for (; k0 + K <= n.d; k0 += K) weight_block<K, J>(x, dz.data(), n, k0, j0, step, w);
  for (; k0 < n.d; ++k0) weight_block<1, J>(x, dz.data(), n, k0, j0, step, w);
}

// Update W in place and write the readout and bias gradients, which the caller applies
// after, since dL/dz comes from the old readout.
__attribute__((noinline)) void backward(const float* x, const float* a, const float* g, const float* z, Sizes n,
                                        Scales s, float step, float* w, float* grad_a, float* grad_b) {
  thread_local std::vector<float> dz;
  int64_t j0 = 0;
  for (; j0 + 2 * kLanes <= n.width; j0 += 2 * kLanes) {
    backward_columns<2>(x, a, g, z, n, s, j0, step, w, grad_a, grad_b, dz);
  }
  if (j0 < n.width) backward_columns<1>(x, a, g, z, n, s, j0, step, w, grad_a, grad_b, dz);
}

struct Rates {
  float w, b, a;  // learning rate times each parameter's lr multiplier
};

// Take one SGD step of one run on 0.5 * mean((f - y)^2), updating w, b and a in place.
__attribute__((noinline)) void sgd_step(const float* x, const float* y, Sizes n, Scales s, Rates rate, float* w,
                                        float* b, float* a) {
  thread_local std::vector<float> z, f, g, grad_a, grad_b;
  thread_local std::vector<v8> partial;
  z.resize(n.rows * n.width);
  f.resize(n.rows);
  g.resize(n.rows);
  grad_a.resize(n.width);
  grad_b.resize(n.width);

  forward(x, w, b, a, n, s, z.data(), f.data(), partial);
  for (int64_t r = 0; r < n.rows; ++r) g[r] = (f[r] - y[r]) / static_cast<float>(n.rows);

  // dL/dW = c_w x^T dz.
  backward(x, a, g.data(), z.data(), n, s, rate.w * s.c_w, w, grad_a.data(), grad_b.data());
  for (int64_t j = 0; j < n.width; ++j) {
    a[j] -= rate.a * grad_a[j];
    b[j] -= rate.b * grad_b[j];
  }
}

// The sizes of a call: leading (run) dimensions, then rows x d.
Sizes sizes_of(const ffi::Buffer<ffi::F32>& x, const ffi::Buffer<ffi::F32>& a, int64_t& runs) {
  auto dims = x.dimensions();
  Sizes n{dims[dims.size() - 2], dims[dims.size() - 1], a.dimensions().back()};
  runs = n.rows * n.d == 0 ? 0 : static_cast<int64_t>(x.element_count()) / (n.rows * n.d);
  return n;
}

// native.py checks the width before choosing the kernels; this catches any other caller.
ffi::Error check_width(const Sizes& n) {
  if (n.width % kLanes == 0) return ffi::Error::Success();
  return ffi::Error::InvalidArgument("the width " + std::to_string(n.width) +
                                     " is not a multiple of 8; train with XLA's kernels (WALL_NATIVE=off)");
}

void copy_into(const ffi::Buffer<ffi::F32>& in, ffi::ResultBuffer<ffi::F32>& out) {
  if (in.typed_data() != out->typed_data()) {
    std::memcpy(out->typed_data(), in.typed_data(), in.element_count() * sizeof(float));
  }
}

ffi::Error SgdStep(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> y, ffi::Buffer<ffi::F32> w,
                   ffi::Buffer<ffi::F32> b, ffi::Buffer<ffi::F32> a, ffi::Buffer<ffi::F32> lr,
                   ffi::ResultBuffer<ffi::F32> w_out, ffi::ResultBuffer<ffi::F32> b_out,
                   ffi::ResultBuffer<ffi::F32> a_out, float c_w, float c_a, float lr_w, float lr_b,
                   float lr_a) {
  int64_t runs = 0;
  Sizes n = sizes_of(x, a, runs);
  if (ffi::Error error = check_width(n); error.failure()) return error;
  copy_into(w, w_out);
  copy_into(b, b_out);
  copy_into(a, a_out);

  for (int64_t run = 0; run < runs; ++run) {
    float rate = lr.typed_data()[run];
    sgd_step(x.typed_data() + run * n.rows * n.d, y.typed_data() + run * n.rows, n, Scales{c_w, c_a},
             Rates{rate * lr_w, rate * lr_b, rate * lr_a}, w_out->typed_data() + run * n.d * n.width,
             b_out->typed_data() + run * n.width, a_out->typed_data() + run * n.width);
  }
  return ffi::Error::Success();
}

ffi::Error Predict(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w, ffi::Buffer<ffi::F32> b,
                   ffi::Buffer<ffi::F32> a, ffi::ResultBuffer<ffi::F32> f, float c_w, float c_a) {
  int64_t runs = 0;
  Sizes n = sizes_of(x, a, runs);
  if (ffi::Error error = check_width(n); error.failure()) return error;
  thread_local std::vector<v8> partial;

  for (int64_t run = 0; run < runs; ++run) {
    forward(x.typed_data() + run * n.rows * n.d, w.typed_data() + run * n.d * n.width,
            b.typed_data() + run * n.width, a.typed_data() + run * n.width, n, Scales{c_w, c_a}, nullptr,
            f->typed_data() + run * n.rows, partial);
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(WallMlp2SgdStep, SgdStep,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // x: runs x batch x d
                                  .Arg<ffi::Buffer<ffi::F32>>()  // y: runs x batch
                                  .Arg<ffi::Buffer<ffi::F32>>()  // W: runs x d x width
                                  .Arg<ffi::Buffer<ffi::F32>>()  // b: runs x width
                                  .Arg<ffi::Buffer<ffi::F32>>()  // a: runs x width
                                  .Arg<ffi::Buffer<ffi::F32>>()  // learning rate: runs
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("c_w")
                                  .Attr<float>("c_a")
                                  .Attr<float>("lr_w")
                                  .Attr<float>("lr_b")
                                  .Attr<float>("lr_a"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(WallMlp2Predict, Predict,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // x: runs x samples x d
                                  .Arg<ffi::Buffer<ffi::F32>>()  // W
                                  .Arg<ffi::Buffer<ffi::F32>>()  // b
                                  .Arg<ffi::Buffer<ffi::F32>>()  // a
                                  .Ret<ffi::Buffer<ffi::F32>>()  // f: runs x samples
                                  .Attr<float>("c_w")
                                  .Attr<float>("c_a"));
