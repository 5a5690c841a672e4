// Dense reference kernel, bf16 storage and its backward (algorithms and invariants: dense-inl.hpp).
#include "attncheck/registry.hpp"
#include "dense-inl.hpp"

ATTNCHECK_REGISTER_KERNEL(dense_bf16, attncheck::kernels::dense_kernel_info(
                                        "dense_bf16", attncheck::DType::bf16,
                                        &attncheck::kernels::dense_forward<attncheck::bfloat16>,
                                        &attncheck::kernels::dense_backward<attncheck::bfloat16>));
