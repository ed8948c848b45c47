// The fused output loss's elementwise part in C++: per row of logits (bf16 under autocast, or float32)
// one pass for the max and one for the sum of exponentials (forward), one pass writing
// softmax - onehot and accumulating the bias gradient (backward), while the row is in cache.
// Same maths as the Python blocks in textvae/fastcpu/output_loss.py, the fallback and the reference.
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <limits>
#include <type_traits>
#include <vector>

#include "common.h"

namespace {

using textvae::as_float;
using textvae::from_float;
using textvae::with_data;

template <typename T>
void forward_rows(const T* logits, const float* bias, const int64_t* targets, float* nll, float* lse,
                  int64_t rows, int64_t vocab) {
  at::parallel_for(0, rows, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* row = logits + i * vocab;
      float peak = std::numeric_limits<float>::lowest();
      for (int64_t j = 0; j < vocab; ++j) peak = std::fmax(peak, as_float(row[j]) + bias[j]);  // vectorized
      float total = 0.f;                                                                      // under fast-math
      for (int64_t j = 0; j < vocab; ++j) total += textvae::exp(as_float(row[j]) + bias[j] - peak);
      lse[i] = peak + std::log(total);
      const int64_t t = targets[i];
      nll[i] = lse[i] - (as_float(row[t]) + bias[t]);
    }
  });
}

template <typename T>
void backward_rows(const T* logits, const float* bias, const int64_t* targets, const float* lse, const float* grad,
                   T* out, float* bias_grads, int64_t rows, int64_t vocab) {
  at::parallel_for(0, rows, 4, [&](int64_t begin, int64_t end) {
    float* bias_grad = bias_grads + at::get_thread_num() * vocab;
    for (int64_t i = begin; i < end; ++i) {
      const T* row = logits + i * vocab;
      T* out_row = out + i * vocab;
      const float shift = lse[i], g = grad[i];
      const int64_t t = targets[i];
      const float target_p = textvae::exp(as_float(row[t]) + bias[t] - shift);
#pragma omp simd
      for (int64_t j = 0; j < vocab; ++j) {
        const float p = textvae::exp(as_float(row[j]) + bias[j] - shift) * g;
        out_row[j] = from_float<T>(p);
        bias_grad[j] += p;
      }
      out_row[t] = from_float<T>((target_p - 1.f) * g);  // softmax - onehot
      bias_grad[t] -= g;
    }
  });
}

// the bias, or zeros where there is none
at::Tensor bias_or_zeros(const at::Tensor& logits, const c10::optional<at::Tensor>& bias) {
  return bias ? *bias : at::zeros({logits.size(1)}, logits.options().dtype(at::kFloat));
}

void check(const at::Tensor& logits, const c10::optional<at::Tensor>& bias, const at::Tensor& targets) {
  TORCH_CHECK(logits.dim() == 2 && logits.is_contiguous() && logits.device().is_cpu() &&
                  (logits.scalar_type() == at::kFloat || logits.scalar_type() == at::kBFloat16),
              "logits must be a contiguous (N, V) float32 or bfloat16 CPU tensor");
  TORCH_CHECK(!bias || (bias->scalar_type() == at::kFloat && bias->is_contiguous() && bias->numel() == logits.size(1)),
              "bias must be a contiguous float32 (V,) tensor");
  TORCH_CHECK(targets.scalar_type() == at::kLong && targets.numel() == logits.size(0) && targets.is_contiguous(),
              "targets must be a contiguous int64 (N,) tensor");
}

// logits (N, V), bias (V,) float32 or None, targets (N,) -> nll (N,), lse (N,) float32
std::vector<at::Tensor> forward(const at::Tensor& logits, const c10::optional<at::Tensor>& bias,
                                const at::Tensor& targets) {
  check(logits, bias, targets);
  TORCH_CHECK(targets.numel() == 0 || (targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < logits.size(1)),
              "targets out of range");  // once: the backward reuses these targets
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  auto nll = at::empty({rows}, logits.options().dtype(at::kFloat));
  auto lse = at::empty({rows}, nll.options());
  const auto b = bias_or_zeros(logits, bias);
  with_data(logits, [&](auto* data) {
    forward_rows(data, b.data_ptr<float>(), targets.data_ptr<int64_t>(), nll.data_ptr<float>(),
                 lse.data_ptr<float>(), rows, vocab);
  });
  return {nll, lse};
}

// -> grad_logits (N, V) in the logits' dtype, = (softmax - onehot) * grad_nll per row, and the bias gradient
std::vector<at::Tensor> backward(const at::Tensor& logits, const c10::optional<at::Tensor>& bias,
                                 const at::Tensor& targets, const at::Tensor& lse, const at::Tensor& grad_nll) {
  check(logits, bias, targets);
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  auto grad = grad_nll.to(at::kFloat).contiguous();
  auto out = at::empty_like(logits);
  auto bias_grads = at::zeros({at::get_num_threads(), vocab}, lse.options());
  const auto b = bias_or_zeros(logits, bias);
  with_data(logits, [&](auto* data) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    backward_rows(data, b.data_ptr<float>(), targets.data_ptr<int64_t>(), lse.data_ptr<float>(),
                  grad.data_ptr<float>(), out.data_ptr<T>(), bias_grads.data_ptr<float>(), rows, vocab);
  });
  return {out, bias ? bias_grads.sum(0) : at::Tensor()};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "fused output loss forward: nll and log-sum-exp per row");
  m.def("backward", &backward, "fused output loss backward: logits and bias gradients");
}
