// Scalar helpers shared by the native kernels; written so that GCC vectorizes the loops using them.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace textvae {

inline float as_float(float x) { return x; }
inline float as_float(c10::BFloat16 x) { return static_cast<float>(x); }

// float -> T; to bfloat16 by round-to-nearest-even on the bits (inputs are finite here)
template <typename T>
inline T from_float(float x);
template <>
inline float from_float<float>(float x) { return x; }
template <>
inline c10::BFloat16 from_float<c10::BFloat16>(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return c10::BFloat16(static_cast<uint16_t>(bits >> 16), c10::BFloat16::from_bits());
}

// fn(the tensor's data pointer in its type): float32 or bfloat16, the two dtypes the kernels take
template <typename Fn>
void with_data(const at::Tensor& tensor, Fn fn) {
  if (tensor.scalar_type() == at::kBFloat16) {
    fn(tensor.data_ptr<c10::BFloat16>());
  } else {
    fn(tensor.data_ptr<float>());
  }
}

inline float sigmoid(float x) {
  x = std::fmin(std::fmax(x, -40.f), 40.f);  // exp stays finite; sigmoid(40) == 1 in float
  return 1.f / (1.f + std::exp(-x));
}

inline float tanh_from_sigmoid(float x) { return 2.f * sigmoid(2.f * x) - 1.f; }

}  // namespace textvae
