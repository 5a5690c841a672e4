// The golden JSON layout: deterministic, diff-friendly, and never a binary float.
#include "attncheck/formats/json_writer.hpp"

#include <gtest/gtest.h>

namespace attncheck::formats {
namespace {

TEST(GoldenJsonWriter, KeepsInsertionOrderAndPutsOneMemberOnALine) {
  OrderedJson doc;
  doc["zeta"] = 1;
  doc["alpha"] = "text";
  doc["mid"] = true;
  EXPECT_EQ(json_text(doc), "{\n  \"zeta\": 1,\n  \"alpha\": \"text\",\n  \"mid\": true\n}\n");
}

TEST(GoldenJsonWriter, WritesShortFlatArraysOnOneLineAndLongOnesOnePerLine) {
  OrderedJson doc;
  doc["pairs"] = OrderedJson::array({OrderedJson::array({"1", "1"}), OrderedJson::array({"0.5", "0.5"})});
  OrderedJson long_row = OrderedJson::array();
  for (int n = 0; n < 12; ++n) long_row.push_back(OrderedJson::array({"0.123456789", "0.1234567890000"}));
  doc["long"] = long_row;
  const std::string text = json_text(doc);
  EXPECT_NE(text.find("\"pairs\": [[\"1\", \"1\"], [\"0.5\", \"0.5\"]]"), std::string::npos) << text;
  EXPECT_NE(text.find("\"long\": [\n    [\"0.123456789\", \"0.1234567890000\"],\n"), std::string::npos) << text;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
  }
}

TEST(GoldenJsonWriter, SameDocumentSameBytes) {
  OrderedJson doc;
  doc["a"] = OrderedJson::array({1, 2, 3});
  doc["b"] = OrderedJson{{"c", "d"}};
  EXPECT_EQ(json_text(doc), json_text(OrderedJson(doc)));
}

TEST(GoldenJsonWriter, RefusesBinaryFloats) {
  OrderedJson doc;
  doc["x"] = 0.1;
  EXPECT_THROW(json_text(doc), std::invalid_argument);
}

TEST(GoldenJsonWriter, EscapesStrings) {
  OrderedJson doc;
  doc["s"] = "quote \" backslash \\ newline \n";
  EXPECT_EQ(json_text(doc), "{\n  \"s\": \"quote \\\" backslash \\\\ newline \\n\"\n}\n");
}

}  // namespace
}  // namespace attncheck::formats
