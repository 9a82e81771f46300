// `lunadb bench vectors` through the built binary: the recall it reports must be right, since a
// bench that always says 1.0 cannot show a regression. Tiny data, a few seconds in all.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using lunadb::test::run_lunadb;
using lunadb::test::TempDir;

// 3000 records: above the flat threshold (2000), so there is a graph whose recall at small ef is
// below 1 on uniform vectors.
const std::string tiny = "bench vectors --distribution uniform --count 3000 --dim 16 --queries 100 --k 10 --ef-sweep 10,20,40,80,200";

Json bench_json(const TempDir& dir, const std::string& args) {
  const auto result = run_lunadb(dir, args + " --json");
  EXPECT_EQ(result.code, 0) << result.output;
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.front() == '{') return Json::parse(line);
  }
  ADD_FAILURE() << "no JSON line in: " << result.output;
  return Json::object();
}

const Json& row(const Json& result, const std::string& search, int ef = 0) {
  for (const auto& r : result.at("rows")) {
    if (r.at("search") == search && (search != "ef" || r.at("ef") == ef)) return r;
  }
  throw std::runtime_error("no row " + search + " " + std::to_string(ef) + " in " + result.dump());
}

std::vector<std::int32_t> read_ints(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::int32_t> out;
  std::int32_t value = 0;
  while (in.read(reinterpret_cast<char*>(&value), sizeof value)) out.push_back(value);
  return out;
}

void write_ints(const fs::path& file, const std::vector<std::int32_t>& values) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(std::int32_t)));
}

TEST(BenchVectorsCli, RecallRowsAreRightAndTheExportReproducesThem) {
  TempDir dir;
  const auto exported = dir / "export";
  const Json first = bench_json(dir, tiny + " --export '" + exported.string() + "'");
  ASSERT_EQ(first.at("rows").size(), 8u);  // default, filtered, exact, 5 sweep rows
  EXPECT_EQ(first.at("rows")[0].at("search"), "default");
  EXPECT_EQ(first.at("n"), 3000);
  EXPECT_EQ(first.at("k"), 10);
  EXPECT_EQ(row(first, "exact").at("recall").get<double>(), 1.0);
  const double ef10 = row(first, "ef", 10).at("recall").get<double>();
  EXPECT_GT(ef10, 0.5) << first.dump();
  EXPECT_LT(ef10, 0.99) << "uniform vectors at ef 10 should miss neighbours: " << first.dump();
  EXPECT_GE(row(first, "ef", 200).at("recall").get<double>(), 0.98) << first.dump();
  double previous = 0;
  for (int ef : {10, 20, 40, 80, 200}) {
    const auto& r = row(first, "ef", ef);
    const double recall = r.at("recall").get<double>();
    EXPECT_GE(recall, previous - 0.02) << "recall fell from ef to ef: " << first.dump();
    EXPECT_GT(r.at("p50_us").get<double>(), 0);
    EXPECT_LE(r.at("p50_us").get<double>(), r.at("p95_us").get<double>());
    previous = recall;
  }
  EXPECT_GE(first.at("recall_at_10").get<double>(), 0.95) << "the default search must not give up recall: " << first.dump();
  // Within one bucket of 30 records the filtered search is exact: every neighbour in the bucket.
  EXPECT_EQ(row(first, "filtered").at("recall").get<double>(), 1.0) << first.dump();
  EXPECT_EQ(first.at("filtered_recall_at_10"), row(first, "filtered").at("recall"));

  // The exported files: whole rows of the right widths.
  EXPECT_EQ(fs::file_size(exported / "data.fvecs"), 3000u * (4 + 16 * 4));
  EXPECT_EQ(fs::file_size(exported / "queries.fvecs"), 100u * (4 + 16 * 4));
  EXPECT_EQ(fs::file_size(exported / "gt.ivecs"), 100u * (4 + 10 * 4));
  EXPECT_EQ(fs::file_size(exported / "gt_filtered.ivecs"), 100u * (4 + 10 * 4));

  // The same data read back from the files, with the exported ground truth: the exact row agrees.
  const std::string from_files = "bench vectors --data '" + (exported / "data.fvecs").string() + "' --queries '" +
                                 (exported / "queries.fvecs").string() + "' --ef-sweep 10";
  const Json again = bench_json(dir, from_files + " --ground-truth '" + (exported / "gt.ivecs").string() + "'");
  EXPECT_EQ(again.at("n"), 3000);
  EXPECT_EQ(again.at("queries"), 100);
  EXPECT_EQ(row(again, "exact").at("recall").get<double>(), 1.0);

  // A ground truth naming rows that are not the neighbours: recall 0 for the exact search, and
  // next to nothing for the graph (the filtered row's truth is always the brute force's).
  auto ints = read_ints(exported / "gt.ivecs");
  ASSERT_EQ(ints.size(), 100u * 11);
  for (std::size_t q = 0; q < 100; ++q) {
    std::vector<std::int32_t> truth(ints.begin() + long(q * 11 + 1), ints.begin() + long(q * 11 + 11));
    std::int32_t candidate = 0;
    for (std::size_t i = 0; i < 10; ++i) {
      while (std::find(truth.begin(), truth.end(), candidate) != truth.end()) ++candidate;
      ints[q * 11 + 1 + i] = candidate++;
    }
  }
  write_ints(dir / "wrong.ivecs", ints);
  const Json wrong = bench_json(dir, from_files + " --ground-truth '" + (dir / "wrong.ivecs").string() + "'");
  EXPECT_EQ(row(wrong, "exact").at("recall").get<double>(), 0.0) << wrong.dump();
  for (const auto& r : wrong.at("rows")) {
    if (r.at("search") == "filtered") continue;
    EXPECT_LE(r.at("recall").get<double>(), 0.05) << wrong.dump();
  }
}

TEST(BenchVectorsCli, TextOutputPutsRecallBesideLatency) {
  TempDir dir;
  const auto result = run_lunadb(dir, "bench vectors --distribution clustered --count 500 --dim 8 --queries 20 --ef-sweep 10,40");
  ASSERT_EQ(result.code, 0) << result.output;
  for (const std::string expected : {"recall@10", "p50 us", "p95 us", "default", "filtered", "exact", "ef 10", "ef 40", "clustered"}) {
    EXPECT_NE(result.output.find(expected), std::string::npos) << expected << " missing in:\n" << result.output;
  }
}

TEST(BenchVectorsCli, BadInputFilesFailClearly) {
  TempDir dir;
  {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream npy(dir / "doubles.npy", std::ios::binary);
    npy << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(header.size()) << '\0' << header << std::string(32, '\0');
  }
  auto result = run_lunadb(dir, "bench vectors --data doubles.npy --queries 1");
  EXPECT_NE(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("doubles.npy"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("dtype '<f8'"), std::string::npos) << result.output;

  write_ints(dir / "short.fvecs", {4, 0, 0});
  result = run_lunadb(dir, "bench vectors --data short.fvecs");
  EXPECT_NE(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("short.fvecs"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("truncated"), std::string::npos) << result.output;

  result = run_lunadb(dir, "bench vectors --data missing.npy");
  EXPECT_NE(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("missing.npy"), std::string::npos) << result.output;

  // Ground truth naming a row the data do not have.
  result = run_lunadb(dir, "bench vectors --count 50 --dim 4 --queries 1 --k 1 --export ex --ef-sweep ''");
  ASSERT_EQ(result.code, 0) << result.output;
  write_ints(dir / "gt.ivecs", {1, 50});
  result = run_lunadb(dir, "bench vectors --count 50 --dim 4 --queries 1 --k 1 --ground-truth gt.ivecs");
  EXPECT_NE(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("names row 50 but the data have 50 rows"), std::string::npos) << result.output;

  result = run_lunadb(dir, "bench vectors --data ex/data.fvecs --dim 8");
  EXPECT_EQ(result.code, 2) << "--dim beside --data would be ignored: " << result.output;

  result = run_lunadb(dir, "bench vectors --count 50 --dim 4 --ef-sweep 10,x");
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_NE(result.output.find("--ef-sweep"), std::string::npos) << result.output;
}

}  // namespace
