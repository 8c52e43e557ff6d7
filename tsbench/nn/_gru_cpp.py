"""The per-step loops of :class:`tsbench.nn.gru._TF1GRUSequence` in C++, built on first use; bit-identical to the
Python loops of :mod:`tsbench.nn.gru`, which stay the reference.

Two C++ versions of each loop:

* the *ATen loops* call the same ATen operators, with the same arguments, in the same order as the Python loops
  (same kernels on the same views), without the interpreter between them. Any device and layout.
* the *fast loops* (CPU, float32/float64, the contiguous layouts ``_TF1GRUSequence`` makes) also drop ATen's
  per-call overhead where that provably leaves every bit unchanged: the matrix products are the BLAS ``gemm``
  calls ATen's ``addmm``/``mm`` make for these layouts (same transposes, sizes, leading dimensions, α, β: see
  ``addmm_impl_cpu_`` in ``aten/src/ATen/native/LinearAlgebra.cpp``); ``a·b`` and ``2c − 1`` are single roundings;
  ``lerp`` and ``addcmul`` are computed the way ATen's kernels compute them on this machine (with or without fused
  multiply-add, found by :func:`arithmetic_modes`' calibration against ATen; ATen's kernels if neither matches);
  σ stays ATen's kernel. At the first use the fast loops are compared with the ATen loops on a small problem
  (float32 and float64, ``torch.equal``); on any difference only the ATen loops are used.

The ATen loops run the dispatcher below autograd (``at::AutoDispatchBelowADInplaceOrView``): autograd is off inside
a ``Function``'s forward and backward, and the buffers are saved for backward after the loop.

The extension is compiled by :func:`torch.utils.cpp_extension.load_inline` (needs a C++ compiler and ``ninja``)
into torch's extensions folder (``$TORCH_EXTENSIONS_DIR``, default ``~/.cache/torch_extensions``) the
first time it is needed, and loaded from there afterwards; torch rebuilds it when the source below changes.
Processes that build at the same time wait on torch's lock file in the build folder while one of them compiles.
A process killed during its build leaves that lock behind, and torch would wait on it for ever: a lock older than
:data:`STALE_LOCK_S` (many times a build) is removed before building (:func:`clear_stale_lock`). The operators are
registered as ``torch.ops.tsbench_tf1_gru.*``."""
from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import torch

NAME = "tsbench_tf1_gru"
#: a build lock older than this (seconds) was left by a process killed during its build (many builds long)
STALE_LOCK_S = 600.0

SOURCE = r"""
#include <ATen/ATen.h>
#include <ATen/CPUFunctions.h>
#include <torch/library.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>

// The Fortran BLAS that ATen's cpublas::gemm calls for float and double (MKL in the PyPI wheels), exported by
// libtorch_cpu.
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
}

namespace {

void blas_gemm(char ta, char tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
               int ldb, float beta, float* c, int ldc) {
  sgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
void blas_gemm(char ta, char tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
               int ldb, double beta, double* c, int ldc) {
  dgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

// --- the reference loops: ATen operators, in the order of the Python loops in tsbench/nn/gru.py ---------------
// Used for any device and layout; the fast loops below are used for contiguous CPU float/double tensors.

void forward_steps_aten(const at::Tensor& gates, const at::Tensor& cand, const at::Tensor& w_gh,
                        const at::Tensor& w_ch2, const at::Tensor& r_h, const at::Tensor& out,
                        const at::Tensor& minus_one) {
  const int64_t T = gates.size(0), B = gates.size(1), H = cand.size(2);
  at::Tensor h = at::zeros({B, H}, gates.options());
  for (int64_t t = 0; t < T; ++t) {
    at::Tensor g_t = gates.select(0, t);
    at::Tensor r_t = g_t.narrow(1, 0, H), u_t = g_t.narrow(1, H, H);
    at::Tensor rh_t = r_h.select(0, t), c_t = cand.select(0, t), out_t = out.select(0, t);
    g_t.addmm_(h, w_gh).sigmoid_();
    at::mul_out(rh_t, r_t, h);
    c_t.addmm_(rh_t, w_ch2).sigmoid_();
    at::add_out(c_t, minus_one, c_t, 2);
    h = at::lerp_out(out_t, c_t, h, u_t);
  }
}

void backward_steps_aten(const at::Tensor& grad_out, const at::Tensor& fac_c, const at::Tensor& fac_g,
                         const at::Tensor& gates, const at::Tensor& w_ch_t, const at::Tensor& w_gh_t,
                         const at::Tensor& d_gates, const at::Tensor& d_cand) {
  const int64_t T = grad_out.size(0), H = d_cand.size(2);
  at::Tensor dh = grad_out.select(0, T - 1);
  for (int64_t t = T - 1; t >= 0; --t) {
    at::Tensor fc = fac_c.select(0, t), fg = fac_g.select(0, t), g_t = gates.select(0, t);
    at::Tensor fr = fg.narrow(1, 0, H), fu = fg.narrow(1, H, H);
    at::Tensor r_t = g_t.narrow(1, 0, H), u_t = g_t.narrow(1, H, H);
    at::Tensor dg_t = d_gates.select(0, t), dc_t = d_cand.select(0, t);
    at::Tensor dr_t = dg_t.narrow(1, 0, H), du_t = dg_t.narrow(1, H, H);
    at::mul_out(dc_t, dh, fc);
    at::Tensor drh = at::mm(dc_t, w_ch_t);
    at::mul_out(dr_t, drh, fr);
    at::mul_out(du_t, dh, fu);
    if (t > 0) {
      dh = at::addcmul(grad_out.select(0, t - 1), dh, u_t).addcmul_(drh, r_t).addmm_(dg_t, w_gh_t);
    }
  }
}

// --- the fast loops ----------------------------------------------------------------------------------------
// The same computation with the per-step operators' overhead removed, bit for bit equal to the ATen loops:
// * matrix products: the BLAS gemm call that ATen's addmm/mm makes for these layouts (same transposes, sizes,
//   leading dimensions, alpha, beta; see addmm_impl_cpu_ in aten/src/ATen/native/LinearAlgebra.cpp);
// * products a·b and 2c − 1: one rounding each in IEEE 754 arithmetic, so any loop gives ATen's result;
// * lerp and addcmul: computed as ATen's kernels compute them here (see calibrate_for below);
// * σ: ATen's CPU kernel (at::cpu::sigmoid_, its vectorised exp is not replicated), on the same views.
// The layouts are checked by the callers; the Python side only asks for them with the float32 matmul precision at
// "highest" (otherwise ATen may route float products to oneDNN).

template <typename scalar_t>
inline void mul_rows(scalar_t* __restrict out, int64_t so, const scalar_t* __restrict a, int64_t sa,
                     const scalar_t* __restrict b, int64_t sb, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    scalar_t* o = out + i * so;
    const scalar_t* x = a + i * sa;
    const scalar_t* y = b + i * sb;
    for (int64_t j = 0; j < cols; ++j) o[j] = x[j] * y[j];
  }
}


// --- lerp and addcmul (value 1) without ATen's per-call overhead ------------------------------------------------
// ATen computes them in one of two ways depending on how its CPU kernels were compiled: with the products fused
// into the following addition (one rounding; x86 kernels built for AVX2/AVX-512 with FMA) or not (two roundings).
// calibrate() finds out which one matches ATen on this machine, bit for bit on a test layout that exercises both
// the vectorised and the scalar tail of ATen's loops; if neither matches, ATen's kernels are called.
enum class Arith { kAten = 0, kPlain = 1, kFused = 2 };

template <typename scalar_t>
inline void lerp_rows_plain(scalar_t* __restrict out, int64_t so, const scalar_t* __restrict s, int64_t ss,
                            const scalar_t* __restrict e, int64_t se, const scalar_t* __restrict w, int64_t sw,
                            int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const scalar_t a = s[i * ss + j], b = e[i * se + j], t = w[i * sw + j];
      out[i * so + j] = std::abs(t) < scalar_t(0.5) ? a + t * (b - a) : b - (b - a) * (scalar_t(1) - t);
    }
  }
}

template <typename scalar_t>
__attribute__((target("avx2,fma"))) void lerp_rows_fused(scalar_t* __restrict out, int64_t so,
    const scalar_t* __restrict s, int64_t ss, const scalar_t* __restrict e, int64_t se, const scalar_t* __restrict w,
    int64_t sw, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const scalar_t a = s[i * ss + j], b = e[i * se + j], t = w[i * sw + j];
      out[i * so + j] = std::abs(t) < scalar_t(0.5) ? std::fma(t, b - a, a) : std::fma(-(b - a), scalar_t(1) - t, b);
    }
  }
}

template <typename scalar_t>
inline void addcmul_rows_plain(scalar_t* out, int64_t so, const scalar_t* s, int64_t ss,  // out may be s
                               const scalar_t* __restrict x, int64_t sx, const scalar_t* __restrict y, int64_t sy,
                               int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) out[i * so + j] = s[i * ss + j] + x[i * sx + j] * y[i * sy + j];
  }
}

template <typename scalar_t>
__attribute__((target("avx2,fma"))) void addcmul_rows_fused(scalar_t* out, int64_t so,  // out may be s
    const scalar_t* s, int64_t ss, const scalar_t* __restrict x, int64_t sx, const scalar_t* __restrict y,
    int64_t sy, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) out[i * so + j] = std::fma(x[i * sx + j], y[i * sy + j], s[i * ss + j]);
  }
}

template <typename scalar_t>
void lerp_rows(Arith mode, scalar_t* out, int64_t so, const scalar_t* s, int64_t ss, const scalar_t* e, int64_t se,
               const scalar_t* w, int64_t sw, int64_t rows, int64_t cols) {
  if (mode == Arith::kFused) lerp_rows_fused(out, so, s, ss, e, se, w, sw, rows, cols);
  else lerp_rows_plain(out, so, s, ss, e, se, w, sw, rows, cols);
}

template <typename scalar_t>
void addcmul_rows(Arith mode, scalar_t* out, int64_t so, const scalar_t* s, int64_t ss, const scalar_t* x, int64_t sx,
                  const scalar_t* y, int64_t sy, int64_t rows, int64_t cols) {
  if (mode == Arith::kFused) addcmul_rows_fused(out, so, s, ss, x, sx, y, sy, rows, cols);
  else addcmul_rows_plain(out, so, s, ss, x, sx, y, sy, rows, cols);
}

// which of the two ways matches ATen's lerp_out / addcmul on this machine (fixed pseudo-random test data from a
// local generator: torch's global RNG is not touched)
template <typename scalar_t>
std::pair<Arith, Arith> calibrate_for() {
  const int64_t rows = 9, cols = 40;  // 40 = 32 (vectorised in ATen) + 8 (its scalar tail) for 8- and 16-lane vectors
  auto options = at::TensorOptions().dtype(c10::CppTypeToScalarType<scalar_t>::value);
  at::Tensor s = at::empty({rows, cols}, options), e = at::empty({rows, cols}, options);
  at::Tensor wide = at::empty({rows, 2 * cols}, options);
  std::mt19937_64 gen(20240901);
  std::uniform_real_distribution<double> value(-3.0, 3.0), unit(0.0, 1.0);
  for (int64_t i = 0; i < rows * cols; ++i) {
    s.data_ptr<scalar_t>()[i] = scalar_t(value(gen));
    e.data_ptr<scalar_t>()[i] = scalar_t(value(gen));
  }
  for (int64_t i = 0; i < rows * 2 * cols; ++i) wide.data_ptr<scalar_t>()[i] = scalar_t(unit(gen));
  at::Tensor w = wide.narrow(1, cols, cols);  // strided like u_t
  const bool fma_ok = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
  auto pick = [&](const at::Tensor& want, auto&& run) {
    at::Tensor got = at::empty({rows, cols}, options);
    for (Arith mode : {Arith::kPlain, Arith::kFused}) {
      if (mode == Arith::kFused && !fma_ok) continue;
      run(mode, got.data_ptr<scalar_t>());
      if (std::memcmp(got.data_ptr<scalar_t>(), want.data_ptr<scalar_t>(), sizeof(scalar_t) * rows * cols) == 0) {
        return mode;
      }
    }
    return Arith::kAten;
  };
  at::Tensor want_lerp = at::empty({rows, cols}, options);
  at::cpu::lerp_out(want_lerp, s, e, w);
  const Arith lerp_mode = pick(want_lerp, [&](Arith mode, scalar_t* out) {
    lerp_rows(mode, out, cols, s.data_ptr<scalar_t>(), cols, e.data_ptr<scalar_t>(), cols,
              w.data_ptr<scalar_t>(), 2 * cols, rows, cols);
  });
  const at::Tensor want_addcmul = at::cpu::addcmul(s, e, w);
  const Arith addcmul_mode = pick(want_addcmul, [&](Arith mode, scalar_t* out) {
    addcmul_rows(mode, out, cols, s.data_ptr<scalar_t>(), cols, e.data_ptr<scalar_t>(), cols,
                 w.data_ptr<scalar_t>(), 2 * cols, rows, cols);
  });
  return {lerp_mode, addcmul_mode};
}

template <typename scalar_t>
std::pair<Arith, Arith> arith_modes() {
  static const std::pair<Arith, Arith> modes = calibrate_for<scalar_t>();  // thread-safe, once per dtype
  return modes;
}

template <typename scalar_t>
void forward_steps_fast(const at::Tensor& gates, const at::Tensor& cand, const at::Tensor& w_gh,
                        const at::Tensor& w_ch2, const at::Tensor& r_h, const at::Tensor& out) {
  const int64_t T = gates.size(0), B = gates.size(1), H = cand.size(2);
  const int iB = B, iH = H, i2H = 2 * H;
  scalar_t* g = gates.data_ptr<scalar_t>();
  scalar_t* c = cand.data_ptr<scalar_t>();
  scalar_t* rh = r_h.data_ptr<scalar_t>();
  scalar_t* o = out.data_ptr<scalar_t>();
  const scalar_t* wg = w_gh.data_ptr<scalar_t>();
  const scalar_t* wc = w_ch2.data_ptr<scalar_t>();
  at::Tensor zeros = at::zeros({B, H}, gates.options());
  at::Tensor h = zeros;
  const scalar_t* hp = zeros.data_ptr<scalar_t>();
  const Arith lerp_mode = arith_modes<scalar_t>().first;
  for (int64_t t = 0; t < T; ++t) {
    scalar_t* g_t = g + t * B * 2 * H;
    scalar_t* c_t = c + t * B * H;
    scalar_t* rh_t = rh + t * B * H;
    // g_t.addmm_(h, w_gh): result (B, 2H) row-major → transposed C; m = 2H, n = B, k = H
    blas_gemm('N', 'N', i2H, iB, iH, scalar_t(1), wg, i2H, hp, iH, scalar_t(1), g_t, i2H);
    at::Tensor gv = gates.select(0, t);
    at::cpu::sigmoid_(gv);  // σ: ATen's vectorised exp, not replicated
    mul_rows(rh_t, H, g_t, 2 * H, hp, H, B, H);  // r·h
    blas_gemm('N', 'N', iH, iB, iH, scalar_t(1), wc, iH, rh_t, iH, scalar_t(1), c_t, iH);
    at::Tensor cv = cand.select(0, t);
    at::cpu::sigmoid_(cv);
    const int64_t n = B * H;
    for (int64_t i = 0; i < n; ++i) c_t[i] = scalar_t(2) * c_t[i] - scalar_t(1);  // 2c exact: one rounding
    scalar_t* o_t = o + t * B * H;
    if (lerp_mode != Arith::kAten) {
      lerp_rows(lerp_mode, o_t, H, c_t, H, hp, H, g_t + H, 2 * H, B, H);
    } else {
      at::Tensor out_t = out.select(0, t);
      at::cpu::lerp_out(out_t, cv, h, gv.narrow(1, H, H));
      h = out_t;
    }
    hp = o_t;
  }
}

template <typename scalar_t>
void backward_steps_fast(const at::Tensor& grad_out, const at::Tensor& fac_c, const at::Tensor& fac_g,
                         const at::Tensor& gates, const at::Tensor& w_ch_t, const at::Tensor& w_gh_t,
                         const at::Tensor& d_gates, const at::Tensor& d_cand) {
  const int64_t T = grad_out.size(0), B = grad_out.size(1), H = d_cand.size(2);
  const int iB = B, iH = H, i2H = 2 * H;
  const scalar_t* fc = fac_c.data_ptr<scalar_t>();
  const scalar_t* fg = fac_g.data_ptr<scalar_t>();
  scalar_t* dg = d_gates.data_ptr<scalar_t>();
  scalar_t* dc = d_cand.data_ptr<scalar_t>();
  const scalar_t* wc = w_ch_t.data_ptr<scalar_t>();  // cand_kernel[I:] (H, H), row-major, used transposed
  const scalar_t* wg = w_gh_t.data_ptr<scalar_t>();  // gate_kernel[I:] (H, 2H), row-major, used transposed
  at::Tensor drh = at::empty({B, H}, grad_out.options());
  scalar_t* drh_p = drh.data_ptr<scalar_t>();
  const scalar_t* go = grad_out.data_ptr<scalar_t>();
  const scalar_t* gp = gates.data_ptr<scalar_t>();
  const Arith addcmul_mode = arith_modes<scalar_t>().second;
  at::Tensor dh = grad_out.select(0, T - 1);
  for (int64_t t = T - 1; t >= 0; --t) {
    const scalar_t* dh_p = dh.data_ptr<scalar_t>();
    const scalar_t* fc_t = fc + t * B * H;
    const scalar_t* fg_t = fg + t * B * 2 * H;
    scalar_t* dg_t = dg + t * B * 2 * H;
    scalar_t* dc_t = dc + t * B * H;
    mul_rows(dc_t, H, dh_p, H, fc_t, H, B, H);  // dh·fc
    // drh = mm(dc_t, w_ch_t): m = H, n = B, k = H; a = w_ch_t transposed (lda H), beta 0
    blas_gemm('T', 'N', iH, iB, iH, scalar_t(1), wc, iH, dc_t, iH, scalar_t(0), drh_p, iH);
    mul_rows(dg_t, 2 * H, drh_p, H, fg_t, 2 * H, B, H);          // drh·fr
    mul_rows(dg_t + H, 2 * H, dh_p, H, fg_t + H, 2 * H, B, H);   // dh·fu
    if (t > 0) {
      at::Tensor next;
      if (addcmul_mode != Arith::kAten) {
        next = at::empty({B, H}, grad_out.options());
        scalar_t* n_p = next.data_ptr<scalar_t>();
        const scalar_t* gt = gp + t * B * 2 * H;
        addcmul_rows(addcmul_mode, n_p, H, go + (t - 1) * B * H, H, dh_p, H, gt + H, 2 * H, B, H);  // + dh·u
        addcmul_rows(addcmul_mode, n_p, H, n_p, H, drh_p, H, gt, 2 * H, B, H);                     // + drh·r
      } else {
        at::Tensor g_t = gates.select(0, t);
        next = at::cpu::addcmul(grad_out.select(0, t - 1), dh, g_t.narrow(1, H, H));
        at::cpu::addcmul_(next, drh, g_t.narrow(1, 0, H));
      }
      // next.addmm_(dg_t, w_gh_t): m = H, n = B, k = 2H; a = w_gh_t transposed (lda 2H)
      blas_gemm('T', 'N', iH, iB, i2H, scalar_t(1), wg, i2H, dg_t, i2H, scalar_t(1), next.data_ptr<scalar_t>(), iH);
      dh = next;
    }
  }
}

// the layouts the fast loops' gemm calls are written for (those the Python caller makes), on the CPU
bool fast_layout(std::initializer_list<at::Tensor> tensors, int64_t B, int64_t H) {
  const auto dtype = tensors.begin()->scalar_type();
  if (dtype != at::kFloat && dtype != at::kDouble) return false;
  if (B < 2 || H < 2) return false;  // BLAS leading-dimension normalisation for vectors: not replicated
  for (const auto& t : tensors) {
    if (!t.device().is_cpu() || t.scalar_type() != dtype || t.is_conj() || t.is_neg()) return false;
  }
  return true;
}

}  // namespace

// which way lerp / addcmul are computed by the fast loops (0 ATen's kernels, 1 plain, 2 fused), for float and double
std::vector<int64_t> arithmetic_modes() {
  return {int64_t(arith_modes<float>().first), int64_t(arith_modes<float>().second),
          int64_t(arith_modes<double>().first), int64_t(arith_modes<double>().second)};
}

// gates (T, B, 2H) and cand (T, B, H) hold the input parts of the pre-activations (cand scaled by 2) and are
// completed in place into the σ outputs [r, u] and the tanh outputs; r_h (T, B, H) ← r·h_prev; out (T, B, H) ← h.
void forward_steps(const at::Tensor& gates, const at::Tensor& cand, const at::Tensor& w_gh,
                   const at::Tensor& w_ch2, const at::Tensor& r_h, const at::Tensor& out,
                   const at::Tensor& minus_one, bool fast) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t B = gates.size(1), H = cand.size(2);
  if (fast && fast_layout({gates, cand, w_gh, w_ch2, r_h, out}, B, H) && gates.is_contiguous() &&
      cand.is_contiguous() && r_h.is_contiguous() && out.is_contiguous() && w_gh.is_contiguous() &&
      w_ch2.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "forward_steps",
                               [&] { forward_steps_fast<scalar_t>(gates, cand, w_gh, w_ch2, r_h, out); });
  } else {
    forward_steps_aten(gates, cand, w_gh, w_ch2, r_h, out, minus_one);
  }
}

// d_gates (T, B, 2H) and d_cand (T, B, H) ← the gradients of the pre-activations.
void backward_steps(const at::Tensor& grad_out, const at::Tensor& fac_c, const at::Tensor& fac_g,
                    const at::Tensor& gates, const at::Tensor& w_ch_t, const at::Tensor& w_gh_t,
                    const at::Tensor& d_gates, const at::Tensor& d_cand, bool fast) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t B = grad_out.size(1), H = d_cand.size(2);
  if (fast && fast_layout({grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand}, B, H) &&
      grad_out.is_contiguous() && fac_c.is_contiguous() && fac_g.is_contiguous() && gates.is_contiguous() &&
      d_gates.is_contiguous() && d_cand.is_contiguous() && w_ch_t.t().is_contiguous() &&
      w_gh_t.t().is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(grad_out.scalar_type(), "backward_steps", [&] {
      backward_steps_fast<scalar_t>(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand);
    });
  } else {
    backward_steps_aten(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand);
  }
}

TORCH_LIBRARY(tsbench_tf1_gru, m) {
  m.def("arithmetic_modes() -> int[]", &arithmetic_modes);
  m.def("forward_steps(Tensor(a!) gates, Tensor(b!) cand, Tensor w_gh, Tensor w_ch2, Tensor(c!) r_h, "
        "Tensor(d!) out, Tensor minus_one, bool fast) -> ()", &forward_steps);
  m.def("backward_steps(Tensor grad_out, Tensor fac_c, Tensor fac_g, Tensor gates, Tensor w_ch_t, "
        "Tensor w_gh_t, Tensor(a!) d_gates, Tensor(b!) d_cand, bool fast) -> ()", &backward_steps);
}
"""

_lock = threading.Lock()
_loops: Loops | None = None
_error: Exception | None = None  # why the build failed (not retried in this process)
_warned = False  # load_or_warn's warning is given once per process


class Loops:
    """The loaded loops: ``forward_steps`` / ``backward_steps`` with the arguments of the Python loops in
    :mod:`tsbench.nn.gru`; ``fast`` says whether the fast loops passed their first-use check."""

    def __init__(self, ops, fast: bool):
        self.ops, self.fast = ops, fast

    def forward_steps(self, gates, cand, w_gh, w_ch2, r_h, out, minus_one) -> None:
        self.ops.forward_steps(gates, cand, w_gh, w_ch2, r_h, out, minus_one, self.fast and _blas_is_aten_path())

    def backward_steps(self, grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand) -> None:
        self.ops.backward_steps(grad_out, fac_c, fac_g, gates, w_ch_t, w_gh_t, d_gates, d_cand,
                                self.fast and _blas_is_aten_path())

    def arithmetic_modes(self) -> dict[str, str]:
        """How the fast loops compute lerp and addcmul per dtype: ``fused``/``plain`` (matching ATen here) or
        ``aten`` (ATen's kernel)."""
        names = ("aten", "plain", "fused")
        modes = [names[m] for m in self.ops.arithmetic_modes()]
        return {"float32 lerp": modes[0], "float32 addcmul": modes[1], "float64 lerp": modes[2],
                "float64 addcmul": modes[3]}


def _blas_is_aten_path() -> bool:
    """ATen sends float32 matrix products to BLAS only at the default float32 matmul precision (oneDNN's bf16/tf32
    kernels otherwise), and the fast loops call BLAS."""
    mkldnn_matmul = getattr(torch.backends.mkldnn, "matmul", None)
    return (torch.get_float32_matmul_precision() == "highest"
            and getattr(mkldnn_matmul, "fp32_precision", "none") in ("none", "ieee"))


def _fast_matches_aten(ops) -> bool:
    """Run both C++ loop versions, forward and backward, on a small problem (float32 and float64, inputs from a
    local generator) and compare them bit for bit."""
    generator = torch.Generator().manual_seed(0)
    T, B, H = 4, 5, 7
    for dtype in (torch.float32, torch.float64):
        def rand(*shape):
            return torch.rand(*shape, generator=generator, dtype=torch.float64).to(dtype)

        base = dict(gates=rand(T, B, 2 * H) - 0.5, cand=rand(T, B, H) - 0.5, w_gh=rand(H, 2 * H) - 0.5,
                    w_ch2=rand(H, H) - 0.5)
        kernels = (rand(H + 3, 2 * H) - 0.5, rand(H + 3, H) - 0.5)  # [x rows; h rows], the transposed views below
        grad_out, fac_c, fac_g = rand(T, B, H) - 0.5, rand(T, B, H), rand(T, B, 2 * H)
        results = []
        for fast in (False, True):
            gates, cand = base["gates"].clone(), base["cand"].clone()
            r_h, out, d_gates, d_cand = (torch.empty(T, B, n, dtype=dtype) for n in (H, H, 2 * H, H))
            ops.forward_steps(gates, cand, base["w_gh"], base["w_ch2"], r_h, out, torch.full((), -1.0, dtype=dtype),
                              fast)
            ops.backward_steps(grad_out, fac_c, fac_g, gates, kernels[1][3:].t(), kernels[0][3:].t(), d_gates,
                               d_cand, fast)
            results.append((gates, cand, r_h, out, d_gates, d_cand))
        if not all(torch.equal(a, b) for a, b in zip(*results)):
            return False
    return True


def clear_stale_lock(build_dir: Path, max_age_s: float = STALE_LOCK_S) -> bool:
    """Remove ``build_dir/lock`` when it is older than ``max_age_s`` seconds (left by a killed build; torch's
    waiters would poll it for ever). Returns whether a lock was removed."""
    lock = Path(build_dir) / "lock"
    try:
        if time.time() - lock.stat().st_mtime <= max_age_s:
            return False
        lock.unlink()
    except FileNotFoundError:
        return False
    warnings.warn(f"removed a stale build lock of the C++ GRU loops ({lock}), left by a process killed while "
                  "building", RuntimeWarning, stacklevel=2)
    return True


def _build_dir() -> Path | None:
    try:  # torch's own choice of folder (private helper; skip the stale-lock check if it moves)
        from torch.utils.cpp_extension import _get_build_directory
        return Path(_get_build_directory(NAME, verbose=False))
    except Exception:  # noqa: BLE001
        return None


def load() -> Loops:
    """The C++ loops, compiling the extension if needed (the first call builds it; later processes load
    the cached build). Raises :class:`RuntimeError` (the build's error as its cause) when it cannot be built; a
    failure is remembered for the rest of the process."""
    global _loops, _error
    with _lock:
        if _loops is None and _error is None:
            try:
                from torch.utils.cpp_extension import load_inline

                build_dir = _build_dir()
                if build_dir is not None:
                    clear_stale_lock(build_dir)
                # -ffp-contract=off: the plain lerp/addcmul must not be fused by the compiler (the fused ones use fma)
                load_inline(NAME, cpp_sources=SOURCE, is_python_module=False, verbose=False,
                            extra_cflags=["-O3", "-ffp-contract=off"])
                ops = getattr(torch.ops, NAME)
                fast = _fast_matches_aten(ops)
                if not fast:
                    warnings.warn("the fast C++ GRU loops differ from the ATen ones on this machine; using the "
                                  "ATen loops (same numbers as the Python loops, less speed-up)", RuntimeWarning,
                                  stacklevel=2)
                _loops = Loops(ops, fast)
            except Exception as error:  # no compiler, no ninja, a compile error: the caller decides
                _error = error
        if _loops is None:
            raise RuntimeError(f"the C++ GRU loops ({NAME}) could not be built: {_error}") from _error
        return _loops


def load_or_warn(hint: str) -> Loops | None:
    """:func:`load`, or ``None`` after one :class:`RuntimeWarning` per process (ending with ``hint``) when the
    extension cannot be built."""
    global _warned
    try:
        return load()
    except RuntimeError as error:
        with _lock:
            warn, _warned = not _warned, True
        if warn:
            warnings.warn(f"{error}; using the Python loops (same numbers, slower); {hint}", RuntimeWarning,
                          stacklevel=3)
        return None
