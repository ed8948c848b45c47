// The GRU recurrence's time loops in C++: per step one matmul (ATen, bf16 on AMX under autocast) and
// one fused pass over the gates. Same maths and saved tensors as the Python loops in
// textvae/fastcpu/recurrence.py, which stay the fallback and the reference in the tests.
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <vector>

#include "common.h"

namespace {

using textvae::as_float;
using textvae::sigmoid;
using textvae::tanh_from_sigmoid;
using textvae::with_data;

// One step's gates: gx (B0, 3H) input part, row b reading row b % B0, plus rows (B, 3H) when kRows (a per-row
// input part constant over time: the IW evaluation's z projection); gh (B, 3H) recurrent matmul (without its
// bias), h (B, H).
template <bool kRows, typename GH>
void forward_gates(const float* gx, int64_t gx_rows, const float* rows, const GH* gh, const float* bias,
                   const float* h, float* h_next, float* gates, float* recurrent_n, int64_t batch, int64_t hidden) {
  at::parallel_for(0, batch, 8, [&](int64_t begin, int64_t end) {
  for (int64_t b = begin; b < end; ++b) {
    const float* gxb = gx + (b % gx_rows) * 3 * hidden;
    const float* rb = kRows ? rows + b * 3 * hidden : gxb;  // not read without kRows
    const GH* ghb = gh + b * 3 * hidden;
    float* gb = gates + b * 3 * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      const float xr = gxb[j] + (kRows ? rb[j] : 0.f);
      const float xz = gxb[hidden + j] + (kRows ? rb[hidden + j] : 0.f);
      const float xn = gxb[2 * hidden + j] + (kRows ? rb[2 * hidden + j] : 0.f);
      const float r = sigmoid(xr + as_float(ghb[j]) + bias[j]);
      const float z = sigmoid(xz + as_float(ghb[hidden + j]) + bias[hidden + j]);
      const float rn = as_float(ghb[2 * hidden + j]) + bias[2 * hidden + j];
      const float n = tanh_from_sigmoid(xn + r * rn);
      const float hp = h[b * hidden + j];
      h_next[b * hidden + j] = n + z * (hp - n);
      gb[j] = r;
      gb[hidden + j] = z;
      gb[2 * hidden + j] = n;
      recurrent_n[b * hidden + j] = rn;
    }
  }
  });
}

// One step backward: dh = carried gradient + this step's output gradient + last step's matmul part.
// Writes the pre-activation gradients (input side and recurrent side) and dh * z into carry.
template <typename DW>
void backward_gates(const float* grad_out, const DW* from_matmul, float* carry, const float* h_prev,
                    const float* gates, const float* recurrent_n, float* grad_x, float* grad_h,
                    int64_t batch, int64_t hidden) {
  at::parallel_for(0, batch, 8, [&](int64_t begin, int64_t end) {
  for (int64_t b = begin; b < end; ++b) {
    const float* gb = gates + b * 3 * hidden;
    float* gxb = grad_x + b * 3 * hidden;
    float* ghb = grad_h + b * 3 * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      const int64_t i = b * hidden + j;
      const float dh = carry[i] + grad_out[i] + as_float(from_matmul[i]);
      const float r = gb[j], z = gb[hidden + j], n = gb[2 * hidden + j];
      const float d_pre_n = dh * (1.f - z) * (1.f - n * n);
      const float d_pre_z = dh * (h_prev[i] - n) * z * (1.f - z);
      const float d_pre_r = d_pre_n * recurrent_n[i] * r * (1.f - r);
      gxb[j] = d_pre_r;
      gxb[hidden + j] = d_pre_z;
      gxb[2 * hidden + j] = d_pre_n;
      ghb[j] = d_pre_r;
      ghb[hidden + j] = d_pre_z;
      ghb[2 * hidden + j] = d_pre_n * r;
      carry[i] = dh * z;
    }
  }
  });
}

void check_float(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.is_contiguous() && t.device().is_cpu(), name,
              " must be a contiguous float32 CPU tensor");
}

// gates_x (T, B0, 3H) float32, h0 (B, H) float32, w_hh (3H, H) in the matmul dtype, b_hh (3H) float32,
// row_gates (B, 3H) float32 or None -> states (T + 1, B, H), gates (T, B, 3H) = r, z, n after activation,
// recurrent_n (T, B, H). Row b's input part is gates_x[t, b % B0] (+ row_gates[b]); without row_gates B0 = B.
// keep = false (no backward to follow): gates and recurrent_n hold the last step only.
std::vector<at::Tensor> forward(const at::Tensor& gates_x, const at::Tensor& h0, const at::Tensor& w_hh,
                                const at::Tensor& b_hh, bool keep, const c10::optional<at::Tensor>& row_gates) {
  check_float(gates_x, "gates_x");
  check_float(h0, "h0");
  check_float(b_hh, "b_hh");
  if (row_gates) check_float(*row_gates, "row_gates");
  const int64_t steps = gates_x.size(0), gx_rows = gates_x.size(1), batch = h0.size(0), hidden = h0.size(1);
  TORCH_CHECK(row_gates ? row_gates->size(0) == batch && batch % gx_rows == 0 : gx_rows == batch,
              "h0 must have gates_x's rows, or a multiple of them with one row_gates row each");
  const auto dtype = w_hh.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kBFloat16, "w_hh must be float32 or bfloat16");
  auto states = at::empty({steps + 1, batch, hidden}, gates_x.options());
  const int64_t kept = keep ? steps : 1;
  auto gates = at::empty({kept, batch, 3 * hidden}, gates_x.options());
  auto recurrent_n = at::empty({kept, batch, hidden}, gates_x.options());
  states[0].copy_(h0);
  const auto w_t = w_hh.t();
  auto gh = at::empty({batch, 3 * hidden}, gates_x.options().dtype(dtype));
  float* s = states.data_ptr<float>();
  const float* rows = row_gates ? row_gates->data_ptr<float>() : nullptr;
  for (int64_t t = 0; t < steps; ++t) {
    const auto h = states.select(0, t);
    at::mm_out(gh, dtype == at::kFloat ? h : h.to(dtype), w_t);
    const float* gx = gates_x.data_ptr<float>() + t * gx_rows * 3 * hidden;
    float* g = gates.data_ptr<float>() + (keep ? t : 0) * batch * 3 * hidden;
    float* rn = recurrent_n.data_ptr<float>() + (keep ? t : 0) * batch * hidden;
    const float* hp = s + t * batch * hidden;
    float* hn = s + (t + 1) * batch * hidden;
    with_data(gh, [&](auto* recurrent) {
      if (rows) {
        forward_gates<true>(gx, gx_rows, rows, recurrent, b_hh.data_ptr<float>(), hp, hn, g, rn, batch, hidden);
      } else {
        forward_gates<false>(gx, gx_rows, rows, recurrent, b_hh.data_ptr<float>(), hp, hn, g, rn, batch, hidden);
      }
    });
  }
  return {states, gates, recurrent_n};
}

// grad_states (T, B, H) float32 and forward's saved tensors -> grad_gates_x (T, B, 3H), grad_gates_h (T, B, 3H)
// (the recurrent pre-activation gradients, for the weight gradient) and the gradient of h0 (B, H).
std::vector<at::Tensor> backward(const at::Tensor& grad_states, const at::Tensor& states, const at::Tensor& gates,
                                 const at::Tensor& recurrent_n, const at::Tensor& w_hh) {
  check_float(grad_states, "grad_states");
  const int64_t steps = gates.size(0), batch = gates.size(1), hidden = states.size(2);
  const auto dtype = w_hh.scalar_type();
  auto grad_x = at::empty_like(gates);
  auto grad_h = at::empty_like(gates);
  auto carry = at::zeros({batch, hidden}, states.options());
  auto from_matmul = at::zeros({batch, hidden}, states.options().dtype(dtype));  // none after the last step
  const float* go = grad_states.data_ptr<float>();
  const float* s = states.data_ptr<float>();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t off = t * batch * hidden, off3 = t * batch * 3 * hidden;
    float* gx = grad_x.data_ptr<float>() + off3;
    float* gh = grad_h.data_ptr<float>() + off3;
    with_data(from_matmul, [&](auto* previous) {
      backward_gates(go + off, previous, carry.data_ptr<float>(), s + off, gates.data_ptr<float>() + off3,
                     recurrent_n.data_ptr<float>() + off, gx, gh, batch, hidden);
    });
    const auto step_grad = grad_h.select(0, t);
    at::mm_out(from_matmul, dtype == at::kFloat ? step_grad : step_grad.to(dtype), w_hh);
  }
  auto grad_h0 = carry.add_(from_matmul.to(at::kFloat));
  return {grad_x, grad_h, grad_h0};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "GRU recurrence forward loop", py::arg("gates_x"), py::arg("h0"), py::arg("w_hh"),
        py::arg("b_hh"), py::arg("keep"), py::arg("row_gates") = py::none());
  m.def("backward", &backward, "GRU recurrence backward loop");
}
