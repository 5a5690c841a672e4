// Dense reference kernel, f16 storage and its backward (algorithms and invariants: dense-inl.hpp).
#include "attncheck/registry.hpp"
#include "dense-inl.hpp"

ATTNCHECK_REGISTER_KERNEL(dense_f16, attncheck::kernels::dense_kernel_info(
                                        "dense_f16", attncheck::DType::f16,
                                        &attncheck::kernels::dense_forward<attncheck::float16>,
                                        &attncheck::kernels::dense_backward<attncheck::float16>));
