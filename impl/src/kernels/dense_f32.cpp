// Dense reference kernel, f32 storage and its backward (algorithms and invariants: dense-inl.hpp).
#include "attncheck/registry.hpp"
#include "dense-inl.hpp"

ATTNCHECK_REGISTER_KERNEL(dense_f32, attncheck::kernels::dense_kernel_info(
                                        "dense_f32", attncheck::DType::f32,
                                        &attncheck::kernels::dense_forward<float>,
                                        &attncheck::kernels::dense_backward<float>));
