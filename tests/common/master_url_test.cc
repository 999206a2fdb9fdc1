// Master URLs and host:port strings (common/master_url.h).
#include "common/master_url.h"

#include <string>
#include <thread>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using test::Message;

TEST_CASE("master url: kiln://host:port is one master", "[master_url]") {
  absl::StatusOr<MasterUrl> u = ParseMasterUrl("kiln://h:7077");
  REQUIRE(u.ok());
  CHECK_FALSE(u->local);
  REQUIRE(u->masters.size() == 1);
  CHECK(u->masters[0].host == "h");
  CHECK(u->masters[0].port == 7077);
  CHECK(u->masters[0].ToString() == "h:7077");
  CHECK(u->original == "kiln://h:7077");
}

TEST_CASE("master url: a comma-separated list gives several masters", "[master_url]") {
  absl::StatusOr<MasterUrl> u = ParseMasterUrl("kiln://a.example.com:7077,10.0.0.2:7078");
  REQUIRE(u.ok());
  REQUIRE(u->masters.size() == 2);
  CHECK(u->masters[0].host == "a.example.com");
  CHECK(u->masters[0].port == 7077);
  CHECK(u->masters[1].host == "10.0.0.2");
  CHECK(u->masters[1].port == 7078);
}

TEST_CASE("master url: local forms", "[master_url]") {
  absl::StatusOr<MasterUrl> one = ParseMasterUrl("local");
  REQUIRE(one.ok());
  CHECK(one->local);
  CHECK(one->local_threads == 1);
  CHECK(one->masters.empty());

  absl::StatusOr<MasterUrl> four = ParseMasterUrl("local[4]");
  REQUIRE(four.ok());
  CHECK(four->local);
  CHECK(four->local_threads == 4);
  CHECK(four->local_max_failures == 1);

  absl::StatusOr<MasterUrl> retrying = ParseMasterUrl("local[4,3]");
  REQUIRE(retrying.ok());
  CHECK(retrying->local_threads == 4);
  CHECK(retrying->local_max_failures == 3);
  absl::StatusOr<MasterUrl> all_retrying = ParseMasterUrl("local[*,2]");
  REQUIRE(all_retrying.ok());
  CHECK(all_retrying->local_max_failures == 2);

  absl::StatusOr<MasterUrl> all = ParseMasterUrl("local[*]");
  REQUIRE(all.ok());
  CHECK(all->local);
  CHECK(all->local_threads == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST_CASE("master url: malformed URLs are errors naming the URL", "[master_url]") {
  for (const char* bad : {"foo://x",         "kiln://host",
                          "host:7077",       "local[0]",
                          "local[x]",        "kiln://",
                          "local[-1]",       "local[]",
                          "kiln://host:0",   "kiln://host:70000",
                          "kiln://host:abc", "kiln://:7077",
                          "kiln://a:1,b",    "",
                          "spark://h:7077",  "local[2,0]",
                          "local[2,]",       "local[,2]",
                          "local[2,x]",      "local[2"}) {
    INFO("url: '" << bad << "'");
    absl::StatusOr<MasterUrl> u = ParseMasterUrl(bad);
    REQUIRE_FALSE(u.ok());
    CHECK(u.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(u.status()).find(std::string("'") + bad + "'") != std::string::npos);
    CHECK(Message(u.status()).find("kiln://host:port") != std::string::npos);
  }
}

TEST_CASE("master url: errors say what is wrong", "[master_url]") {
  CHECK(Message(ParseMasterUrl("foo://x").status()).find("scheme") != std::string::npos);
  CHECK(Message(ParseMasterUrl("host:7077").status()).find("kiln://") != std::string::npos);
  CHECK(Message(ParseMasterUrl("kiln://host").status()).find("port") != std::string::npos);
  CHECK(Message(ParseMasterUrl("local[0]").status()).find("thread") != std::string::npos);
  CHECK(Message(ParseMasterUrl("local[2").status()).find("no closing ] after local[") !=
        std::string::npos);
}

TEST_CASE("master url: ParseHostPort", "[master_url]") {
  absl::StatusOr<HostPort> hp = ParseHostPort("127.0.0.1:8080");
  REQUIRE(hp.ok());
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == 8080);
  CHECK(ParseHostPort("h:65535").ok());
  CHECK_FALSE(ParseHostPort("h:65536").ok());
  CHECK_FALSE(ParseHostPort("h:0").ok());
  CHECK(ParseHostPort("h:0", /*allow_zero_port=*/true).value().port == 0);
  CHECK_FALSE(ParseHostPort("h").ok());
  CHECK_FALSE(ParseHostPort(":80").ok());
  CHECK_FALSE(ParseHostPort("h:").ok());
  CHECK_FALSE(ParseHostPort("h:-1", true).ok());
  CHECK(Message(ParseHostPort("nohost").status()).find("'nohost'") != std::string::npos);
}

}  // namespace
}  // namespace kiln
