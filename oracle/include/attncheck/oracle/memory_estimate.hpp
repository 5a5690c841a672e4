// What the oracle will hold for a problem, estimated before it runs, so that a command can
// refuse a problem that would exhaust memory (with a message that names the shape, the
// estimate and the way out) instead of dying in std::bad_alloc minutes later.
//
// The estimate counts what forward() keeps and the scratch it needs: the inputs (floats for
// stored values, Reals for exact decimals), every computed row's per-row values, the per-key
// vectors of the rows that keep them, one row's full-length workspace, and what check_kernel()
// makes of the rows to compare one kernel. A Real costs sizeof(Real) plus its MPFR limbs in one
// glibc malloc chunk (80 bytes at the default 128 bits). It does not count the problem file as
// read (formats/), the kernels' own memory or their outputs. It is an upper bound of what the
// oracle allocates (oracle/tests/memory_estimate_test.cpp measures that) and within a small
// factor of it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "attncheck/oracle/oracle.hpp"

namespace attncheck::oracle {

// How the problem's q, k and v reach the oracle.
enum class InputForm {
  stored,          // from_problem_stored(): floats
  reals,           // from_problem(): a Real per element
  exact_decimals,  // from_problem() overwritten with exact decimals, plus q and k as rationals
};

struct MemoryEstimate {
  double input_bytes = 0;         // the OracleProblem
  double row_bytes = 0;           // every computed row's per-row values (output, LSE, ...)
  double intermediate_bytes = 0;  // the per-key vectors of the rows that keep them
  double workspace_bytes = 0;     // one row's full-length scratch, and the row index lists
  double check_bytes = 0;         // check_kernel()'s copies of the compared values, one kernel
  int64_t rows = 0;               // rows computed
  int64_t kept_reals = 0;         // Reals in the OracleResult (per-row values and per-key vectors)
  double total() const { return input_bytes + row_bytes + intermediate_bytes + workspace_bytes + check_bytes; }
};

// Bytes one Real takes at `precision_bits` (the bits asked for; Boost gives a few more).
double real_bytes(unsigned precision_bits);

// The estimate for forward() on a problem of `spec` with `options` (its rows, intermediates and
// precision; on_row is ignored).
MemoryEstimate estimate_memory(const AttentionSpec& spec, const OracleOptions& options, InputForm inputs);

// The default limit of the commands that run the oracle on a user's problem: 2 GiB.
inline constexpr double kDefaultMemoryLimit = 2.0 * 1024 * 1024 * 1024;

// "1.5 GiB", "320 MiB", "12 KiB", "512 B".
std::string format_bytes(double bytes);

// A size as a user writes it: a whole number of bytes, or a number (decimals allowed) followed
// by K, M, G, T, KiB, MiB, GiB or TiB (all binary: K = KiB = 1024), e.g. "4GiB", "512M",
// "1.5G". Case-insensitive suffix; nothing else (no spaces, signs or empty text). Returns
// nullopt when the text is not such a size or is zero.
std::optional<double> parse_byte_size(const std::string& text);

// Thrown by require_within_limit(): the message names the shape, the estimate and the limit.
class MemoryLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws MemoryLimitError when estimate.total() > limit: "the oracle of B=1 H=8 ... would need
// about 5.1 GiB (rows ..., intermediates ...), more than the limit of 2 GiB; <how_to_raise>".
void require_within_limit(const AttentionSpec& spec, const MemoryEstimate& estimate, double limit,
                          const std::string& how_to_raise);

}  // namespace attncheck::oracle
