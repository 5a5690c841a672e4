// --rows: the syntax, the errors (every one names the entry at fault, and nothing that selects
// no row is accepted), and the deterministic sample's contents.
#include "attncheck/oracle/row_selection.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace attncheck::oracle {
namespace {

AttentionShape shape(int64_t batch, int64_t heads, int64_t q_len) { return {batch, heads, heads, q_len, q_len, 4, 4}; }

std::string error_of(const std::string& text, const AttentionShape& s = shape(1, 1, 16)) {
  try {
    select_rows(parse_row_spec(text), s);
  } catch (const RowSpecError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(RowSelection, ListsAndRanges) {
  EXPECT_EQ(select_rows(parse_row_spec("0,5,10-12"), shape(1, 1, 16)), (std::vector<int64_t>{0, 5, 10, 11, 12}));
  // Ascending and distinct, whatever the order and overlap written.
  EXPECT_EQ(select_rows(parse_row_spec("12,3-5,4,3"), shape(1, 1, 16)), (std::vector<int64_t>{3, 4, 5, 12}));
  EXPECT_EQ(select_rows(parse_row_spec("15"), shape(1, 1, 16)), (std::vector<int64_t>{15}));
}

TEST(RowSelection, BadTextIsAnErrorNamingTheEntry) {
  EXPECT_EQ(error_of(""), "empty: give rows (0,5,100-120) or a sample (sample:64)");
  EXPECT_EQ(error_of("1,,2"), "'1,,2' has an empty entry");
  EXPECT_EQ(error_of("1,"), "'1,' has an empty entry");
  EXPECT_EQ(error_of("x"), "'x': 'x' is not a row number (a whole number from 0)");
  EXPECT_EQ(error_of("5-x"), "'5-x': 'x' is not a row number (a whole number from 0)");
  EXPECT_EQ(error_of("-3"), "'-3': '' is not a row number (a whole number from 0)");
  EXPECT_EQ(error_of(" 3"), "' 3': ' 3' is not a row number (a whole number from 0)");
  EXPECT_EQ(error_of("9-2"), "'9-2': the range ends before it starts");
  EXPECT_EQ(error_of("99999999999999999999"),
            "'99999999999999999999': '99999999999999999999' is not a row number (a whole number from 0)");
  EXPECT_EQ(error_of("sample:0"), "'sample:0': a sample of 0 rows checks nothing");
  EXPECT_EQ(error_of("sample:"), "'sample:': '' is not a row count (sample:N or sample:N:SEED)");
  EXPECT_EQ(error_of("sample:x"), "'sample:x': 'x' is not a row count (sample:N or sample:N:SEED)");
  EXPECT_EQ(error_of("sample:4:"), "'sample:4:': '' is not a seed");
}

TEST(RowSelection, ARowPastTheLastIsAnErrorNamingTheCount) {
  EXPECT_EQ(error_of("16", shape(1, 1, 16)),
            "row 16 is past the last row, 15 (B=1 x H=1 x Lq=16; row = (b * H + h) * Lq + i)");
  EXPECT_EQ(error_of("0-40", shape(2, 1, 16)),
            "row 40 is past the last row, 31 (B=2 x H=1 x Lq=16; row = (b * H + h) * Lq + i)");
}

TEST(RowSelection, SampleTakesTheEdgesThenSpreadsDeterministically) {
  const AttentionShape s = shape(1, 8, 4096);
  const std::vector<int64_t> rows = sample_rows(s, 64, 0);
  ASSERT_EQ(rows.size(), 64u);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  EXPECT_EQ(std::adjacent_find(rows.begin(), rows.end()), rows.end());
  const auto has = [&](int64_t r) { return std::binary_search(rows.begin(), rows.end(), r); };
  for (int64_t h = 0; h < 8; ++h) {
    EXPECT_TRUE(has(h * 4096)) << h;         // each head's first query
    EXPECT_TRUE(has(h * 4096 + 4095)) << h;  // and last
    for (int64_t edge : {63, 64, 127, 128}) EXPECT_TRUE(has(h * 4096 + edge)) << h << " " << edge;
  }
  // The rest are spread: some past the tile edges in every half of the problem.
  EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [](int64_t r) { return r % 4096 > 128 && r < 16384; }));
  EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [](int64_t r) { return r % 4096 > 128 && r >= 16384; }));
  EXPECT_EQ(sample_rows(s, 64, 0), rows);  // deterministic
  EXPECT_NE(sample_rows(s, 64, 1), rows);  // and the seed matters
  EXPECT_EQ(select_rows(parse_row_spec("sample:64:1"), s), sample_rows(s, 64, 1));
}

TEST(RowSelection, ASmallSampleKeepsTheMostTellingRowsFirst) {
  EXPECT_EQ(sample_rows(shape(1, 8, 4096), 2, 0), (std::vector<int64_t>{0, 32767}));
  EXPECT_EQ(sample_rows(shape(1, 1, 10), 1, 0), (std::vector<int64_t>{0}));
}

TEST(RowSelection, ASampleOfAtLeastEveryRowIsEveryRow) {
  EXPECT_EQ(sample_rows(shape(1, 2, 3), 6, 0), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(sample_rows(shape(1, 2, 3), 100, 0), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(sample_rows(shape(1, 3, 50), 149, 5).size(), 149u);  // all but one: filled, distinct
}

}  // namespace
}  // namespace attncheck::oracle
