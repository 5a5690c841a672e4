// Published worked examples (golden/published/*.json): every number a seed states about
// attention or its arithmetic, with the number of decimals it was published at, the seed it
// came from and the expression that computes it; checked against the oracle.
//
// The matching rule: a value published with k decimals matches when
//   |oracle - published| <= 0.5 * 10^-k,
// an exact half counting as a match (either rounding direction was correct). At p bits the
// oracle's value is within a few units of 2^-p of the exact one (relative to the operands),
// so a difference within 2^-(p/2) * max(1, |oracle|) of the boundary is treated as on it: a
// tie, hence a match (docs/golden.md). A check that the
// publication states with its own tolerance (numpy's check_close) uses that tolerance
// instead; a comparison ("H_diffuse > H_sharp") must hold.
//
// Every mismatch is recorded in the file as an erratum (the oracle's value and the likely
// cause). The check fails on a mismatch that is not recorded, on an erratum whose value now
// matches, and on an erratum whose recorded oracle value is not the oracle's.
//
// File format (docs/golden.md has the full description):
//   { "format": "attncheck-golden-published", "version": 1, "title": ..., "source": seed,
//     "inputs": how the oracle reads them (decimal text, never a binary float),
//     "precision_bits": 256,
//     "values": { name: expression or nested array of decimals, ... },
//     "attention": { name: problem (problem-file format, "inputs": "exact_decimal"), ... },
//     "quantities": [ { "id", "where", "expr",
//                       "published", "decimals", ["tolerance" | "relation"], ["erratum"] }
//                     | { "id", "where", "expr", "derived", "note" } ... ],
//     "notes": [ ... ] }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attncheck/golden/expression.hpp"
#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/problem_file.hpp"

namespace attncheck::golden {

struct Erratum {
  std::string oracle;  // the oracle's value as recorded, at the decimals it is written with
  std::string cause;
};

struct PublishedQuantity {
  std::string id;     // what it is, as the seed names it
  std::string where;  // where in the seed
  std::string expr_text;
  std::string field;  // "quantities[12]", for messages
  // A published value, or (derived) the oracle's value of a quantity the seed states only as
  // a formula, pinned at the decimals written.
  std::string published;
  bool derived = false;
  int decimals = 0;                      // of `published` (implied by its text)
  std::optional<std::string> tolerance;  // the publication's own absolute tolerance
  std::optional<std::string> relation;   // ">", ">=", "<", "<=": oracle relation published
  std::optional<Erratum> erratum;
  std::string note;
};

struct PublishedFile {
  std::string path;
  std::string title;
  std::string source;
  std::string inputs;  // how the inputs are read (the file says so, for a reader)
  unsigned precision_bits = 256;
  std::vector<std::pair<std::string, std::string>> values;  // name, expression text
  std::vector<std::pair<std::string, formats::ProblemFile>> attention;
  std::vector<PublishedQuantity> quantities;
  std::vector<std::string> notes;
};

// Strict reader: every malformed, missing or inconsistent field is an InputError naming the
// file and the field (a decimals count that disagrees with the published text included).
PublishedFile read_published(const formats::Json& json, const std::string& path);
PublishedFile read_published_file(const std::string& path);

// The decimals a published text carries: "0.038" -> 3, "1" -> 0, "100e6" -> -6 (units of
// 10^6). std::nullopt for text that is not a finite decimal; "inf" / "-inf" give 0.
std::optional<int> implied_decimals(const std::string& text);

enum class Verdict {
  matches,             // published value agrees with the oracle, no erratum
  recorded_erratum,    // disagrees, and the file records it correctly
  unrecorded_mismatch, // disagrees, no erratum: a failure
  stale_erratum,       // an erratum that now agrees: a failure
  wrong_erratum,       // the erratum's recorded oracle value is not the oracle's: a failure
  wrong_derived,       // a derived value that is not the oracle's: a failure
};
bool is_failure(Verdict verdict);
const char* verdict_name(Verdict verdict);

struct QuantityResult {
  const PublishedQuantity* quantity = nullptr;
  Verdict verdict = Verdict::matches;
  std::string oracle_text;  // the oracle's value, 12 significant digits
};

struct PublishedCheck {
  std::vector<QuantityResult> results;
  int failures() const;
  int errata() const;
};

// Evaluates every quantity. Throws InputError (naming the quantity's field) for an
// expression that cannot be evaluated: an unknown name, a shape mismatch.
PublishedCheck check_published(const PublishedFile& file);

// The environment the quantities see: the file's values, then for each attention problem N
// (one batch, one head) N.Q N.K N.V N.scale and the oracle's N.raw N.scaled N.biased N.shifted
// N.exps N.weights [query][key], N.row_max N.row_sum N.lse [query], N.O [query][column].
// raw and scaled of a key the query cannot see are NaN (never computed). Call inside a
// PrecisionScope of file.precision_bits.
Environment published_environment(const PublishedFile& file);

}  // namespace attncheck::golden
