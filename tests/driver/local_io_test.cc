// Compressed text input and output and whole_text_files in local mode, checked against
// the gzip and zstd tools and against the files' own bytes.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using test::Local;
using test::Range;
using test::Sorted;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string ReadCommand(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> Numbered(int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back("line " + std::to_string(i * 7919 % 1000));
  return out;
}

TEST_CASE("local io: compressed text output, read back and by the gzip and zstd tools",
          "[local][io]") {
  test::TempDir dir;
  const std::vector<std::string> lines = Numbered(5000);
  auto data = Local().parallelize(lines, 3);
  struct Case {
    TextCompression compression;
    const char* extension;
    const char* tool;
  };
  for (const Case& c : {Case{TextCompression::kGzip, ".gz", "gzip -dc"},
                        Case{TextCompression::kZstd, ".zst", "zstd -dcq"}}) {
    INFO(c.extension);
    const std::string out = dir.path() + "/out" + c.extension;
    data.save_as_text_file(out, c.compression);
    for (int p = 0; p < 3; ++p) {
      CHECK(fs::exists(StrCat(out, "/part-0000", p, c.extension)));
      CHECK_FALSE(fs::exists(StrCat(out, "/part-0000", p)));
    }
    CHECK(fs::exists(out + "/_SUCCESS"));
    CHECK_FALSE(fs::exists(out + "/_temporary"));
    // The tools read the parts, in order, as the lines written.
    CHECK(Lines(ReadCommand(StrCat("cat ", out, "/part-*", c.extension, " | ", c.tool))) == lines);
    // Smaller than the text: the output really is compressed.
    uintmax_t packed = 0;
    for (const auto& e : fs::directory_iterator(out)) packed += fs::file_size(e.path());
    CHECK(packed < 5000 * 8 / 2);
    // text_file reads them back: one partition per file.
    auto back = Local().text_file(out);
    CHECK(back.num_partitions() == 3);
    CHECK(back.collect() == lines);
  }
  // The plain form is unchanged.
  data.save_as_text_file(dir.path() + "/plain");
  CHECK(fs::exists(dir.path() + "/plain/part-00000"));
}

TEST_CASE("local io: a compressed input file is one split, however small the splits",
          "[local][io]") {
  test::TempDir dir;
  const std::vector<std::string> lines = Numbered(20000);
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  WriteFile(dir.path() + "/in.txt", text);
  const std::string make =
      StrCat("cd ", dir.path(), " && gzip -c in.txt > big.gz && zstd -qc in.txt > big.zst");
  REQUIRE(std::system(make.c_str()) == 0);
  Context small(ContextOptions{
      .master = "local[2]",
      .conf = {"kiln.ui.showConsoleProgress=false", "kiln.files.maxPartitionBytes=4k"},
      .exit_on_failure = false});
  CHECK(small.text_file(dir.path() + "/in.txt").num_partitions() > 10);
  for (const char* name : {"/big.gz", "/big.zst"}) {
    auto ds = small.text_file(dir.path() + name);
    CHECK(ds.num_partitions() == 1);
    CHECK(ds.collect() == lines);
    CHECK(ds.count() == 20000);
  }
  // Corrupt: the job fails naming the file.
  WriteFile(dir.path() + "/bad.gz", "this is not gzip at all\n");
  CHECK_THROWS_WITH(small.text_file(dir.path() + "/bad.gz").count(), Catch::Contains("bad.gz"));
}

TEST_CASE("local io: whole_text_files gives each file's path and text", "[local][io]") {
  test::TempDir dir;
  const std::string in = dir.path() + "/in";
  fs::create_directory(in);
  std::vector<std::pair<std::string, std::string>> expected;
  for (int i = 0; i < 7; ++i) {
    std::string text;
    for (int j = 0; j < i * 300; ++j) text += "w" + std::to_string(j) + (j % 9 == 8 ? "\n" : " ");
    const std::string path = StrCat(in, "/f", i, ".txt");
    WriteFile(path, text);
    expected.emplace_back(path, text);
  }
  WriteFile(in + "/_SUCCESS", "");  // skipped, as text_file skips it
  WriteFile(in + "/.hidden", "x");  // skipped
  const std::string zipped = "compressed text\nwith two lines\n";
  WriteFile(in + "/z.txt", zipped);
  REQUIRE(std::system(StrCat("gzip ", in, "/z.txt").c_str()) == 0);  // z.txt.gz
  expected.emplace_back(in + "/z.txt.gz", zipped);

  auto files = Local().whole_text_files(in);
  CHECK(files.num_partitions() == 1);  // all within kiln.files.maxPartitionBytes
  CHECK(files.collect() == expected);  // name order; f0.txt is empty
  auto spread = Local().whole_text_files(in, 4);
  CHECK(spread.num_partitions() >= 4);
  CHECK(spread.collect() == expected);
  // Word counts over whole files, as over lines.
  auto words =
      spread.flat_map([](const std::pair<std::string, std::string>& f, Emit<std::string>& out) {
        for (std::string_view w : Words(f.second)) out(std::string(w));
      });
  CHECK(words.count() == Local()
                             .text_file(in)
                             .flat_map([](const std::string& line, Emit<std::string>& out) {
                               for (std::string_view w : Words(line)) out(std::string(w));
                             })
                             .count());
  // One file, and a missing path.
  CHECK(Local().whole_text_files(in + "/f2.txt").collect() ==
        std::vector<std::pair<std::string, std::string>>{expected[2]});
  CHECK_THROWS_WITH(Local().whole_text_files(in + "/none"), Catch::Contains("/none"));
}

TEST_CASE("local io: object files round trip records, split by byte ranges", "[local][io]") {
  test::TempDir dir;
  using Row = std::pair<std::string, std::vector<int64_t>>;
  std::vector<Row> rows;
  for (int64_t i = 0; i < 20000; ++i) {
    rows.emplace_back("key" + std::to_string(i % 97), std::vector<int64_t>(i % 5, i));
  }
  auto data = Local().parallelize(rows, 3);
  const std::string out = dir.path() + "/objects";
  data.save_as_object_file(out);
  for (int p = 0; p < 3; ++p) CHECK(fs::exists(StrCat(out, "/part-0000", p)));
  CHECK(fs::exists(out + "/_SUCCESS"));
  CHECK(Local().object_file<Row>(out).collect() == rows);
  // Small splits: many per file, each block read once.
  Context small(ContextOptions{
      .master = "local[2]",
      .conf = {"kiln.ui.showConsoleProgress=false", "kiln.files.maxPartitionBytes=10k"},
      .exit_on_failure = false});
  auto split = small.object_file<Row>(out);
  CHECK(split.num_partitions() > 10);
  CHECK(split.collect() == rows);
  CHECK(split.count() == 20000);
  // Read as another type: the job fails naming both types.
  CHECK_THROWS_WITH(Local().object_file<int64_t>(out).count(),
                    Catch::Contains("holds records of type"));
  // An existing directory is refused before anything runs; a missing input names itself.
  CHECK_THROWS_WITH(data.save_as_object_file(out), Catch::Contains(out));
  CHECK_THROWS_WITH(Local().object_file<Row>(dir.path() + "/none"),
                    Catch::Contains("object_file") && Catch::Contains("/none"));
  // Empty partitions make files with a header and no block.
  const std::string empty = dir.path() + "/empty";
  Local().parallelize(std::vector<int64_t>{}, 2).save_as_object_file(empty);
  CHECK(Local().object_file<int64_t>(empty).collect().empty());
}

}  // namespace
}  // namespace kiln
