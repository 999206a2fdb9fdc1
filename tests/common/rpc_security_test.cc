// Tokens, credentials loading and the insecure-listen warning (common/rpc_security.h).

#include "common/rpc_security.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/settings.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::rpc {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef-secret";
constexpr std::string_view kMethod = "/kiln.proto.Worker/LaunchExecutor";
constexpr int64_t kNow = 1'796'300'000'000;

TEST_CASE("rpc_security: a token verifies for its secret, method and time only") {
  const std::string token = AuthToken(kSecret, kMethod, kNow);
  CHECK(token.starts_with("v1:1796300000000:"));
  CHECK(VerifyAuthToken(kSecret, kMethod, token, kNow).ok());
  CHECK(VerifyAuthToken(kSecret, kMethod, token, kNow + 4 * 60'000).ok());
  // The secret never appears in the token.
  CHECK(token.find(kSecret) == std::string::npos);

  absl::Status wrong = VerifyAuthToken("another-secret-of-16+", kMethod, token, kNow);
  CHECK(absl::IsUnauthenticated(wrong));
  CHECK_THAT(std::string(wrong.message()), Catch::Contains("wrong secret"));
  // A token taken from one method's call does not open another.
  CHECK(absl::IsUnauthenticated(
      VerifyAuthToken(kSecret, "/kiln.proto.Master/RegisterWorker", token, kNow)));
  absl::Status late = VerifyAuthToken(kSecret, kMethod, token, kNow + 6 * 60'000);
  CHECK(absl::IsUnauthenticated(late));
  CHECK_THAT(std::string(late.message()), Catch::Contains("360 s behind"));
  CHECK_THAT(std::string(VerifyAuthToken(kSecret, kMethod, token, kNow - 6 * 60'000).message()),
             Catch::Contains("360 s ahead of"));
  for (const std::string& bad :
       {std::string("v1:123"), std::string("v2:") + token.substr(3), std::string("v1:x:00"),
        token.substr(0, token.size() - 1), token + "0"}) {
    INFO(bad);
    CHECK(absl::IsUnauthenticated(VerifyAuthToken(kSecret, kMethod, bad, kNow)));
  }
  absl::Status missing = VerifyAuthToken(kSecret, kMethod, "", kNow);
  CHECK_THAT(std::string(missing.message()), Catch::Contains("carried none"));
}

struct SecretDir {
  test::TempDir dir;
  std::string Write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }
};

absl::StatusOr<Credentials> Load(const std::vector<std::string>& conf,
                                 std::vector<std::string> env = {}) {
  std::vector<char*> environ;
  for (std::string& e : env) environ.push_back(e.data());
  environ.push_back(nullptr);
  absl::StatusOr<Config> config = Config::Load(conf, "", environ.data());
  if (!config.ok()) return config.status();
  return LoadCredentials(*config, environ.data());
}

TEST_CASE("rpc_security: credentials come from kiln.authenticate.secretFile or KILN_AUTH_SECRET") {
  SecretDir d;
  const std::string file = d.Write("secret", "  file-secret-0123456789\n");
  absl::StatusOr<Credentials> off = Load({"kiln.authenticate.secretFile=" + file});
  REQUIRE_OK(off.status());
  CHECK(off->secret.empty());  // kiln.authenticate is false

  absl::StatusOr<Credentials> from_file =
      Load({"kiln.authenticate=true", "kiln.authenticate.secretFile=" + file},
           {"KILN_AUTH_SECRET=env-secret-0123456789"});
  REQUIRE_OK(from_file.status());
  CHECK(from_file->secret == "file-secret-0123456789");  // the file wins; whitespace trimmed

  absl::StatusOr<Credentials> from_env =
      Load({"kiln.authenticate=true"}, {"KILN_AUTH_SECRET=env-secret-0123456789"});
  REQUIRE_OK(from_env.status());
  CHECK(from_env->secret == "env-secret-0123456789");
  CHECK_FALSE(from_env->tls);
}

TEST_CASE("rpc_security: a missing, short or unreadable secret is an error naming the setting") {
  SecretDir d;
  absl::StatusOr<Credentials> none = Load({"kiln.authenticate=true"});
  CHECK(absl::IsInvalidArgument(none.status()));
  CHECK_THAT(
      std::string(none.status().message()),
      Catch::Contains("kiln.authenticate.secretFile") && Catch::Contains("KILN_AUTH_SECRET"));

  const std::string short_file = d.Write("short", "tooshort\n");
  absl::StatusOr<Credentials> too_short =
      Load({"kiln.authenticate=true", "kiln.authenticate.secretFile=" + short_file});
  CHECK_THAT(std::string(too_short.status().message()), Catch::Contains(short_file) &&
                                                            Catch::Contains("8 bytes") &&
                                                            Catch::Contains("at least 16"));
  // The error never shows the secret.
  CHECK_THAT(std::string(too_short.status().message()), !Catch::Contains("tooshort"));

  absl::StatusOr<Credentials> absent =
      Load({"kiln.authenticate=true", "kiln.authenticate.secretFile=" + d.dir.path() + "/absent"});
  CHECK_THAT(std::string(absent.status().message()),
             Catch::Contains("setting kiln.authenticate.secretFile") && Catch::Contains("absent"));
}

TEST_CASE("rpc_security: TLS needs a certificate, a key and a CA, each named when missing") {
  SecretDir d;
  const std::string cert = d.Write("cert.pem", "CERT");
  const std::string key = d.Write("key.pem", "KEY");
  const std::string ca = d.Write("ca.pem", "CA");
  absl::StatusOr<Credentials> no_key =
      Load({"kiln.ssl.enabled=true", "kiln.ssl.certFile=" + cert, "kiln.ssl.caFile=" + ca});
  CHECK_THAT(std::string(no_key.status().message()),
             Catch::Contains("kiln.ssl.keyFile") && Catch::Contains("kiln.ssl.enabled"));
  absl::StatusOr<Credentials> tls =
      Load({"kiln.ssl.enabled=true", "kiln.ssl.certFile=" + cert, "kiln.ssl.keyFile=" + key,
            "kiln.ssl.caFile=" + ca, "kiln.ssl.clientAuth=false"});
  REQUIRE_OK(tls.status());
  CHECK(tls->tls);
  CHECK(tls->cert_pem == "CERT");
  CHECK(tls->key_pem == "KEY");
  CHECK(tls->ca_pem == "CA");
  CHECK_FALSE(tls->client_auth);
}

TEST_CASE(
    "rpc_security: credentials survive the pipe to an executor, and the environment loses the "
    "secret") {
  Credentials c{.secret = "s3cret-0123456789",
                .tls = true,
                .cert_pem = "C",
                .key_pem = "K",
                .ca_pem = "A",
                .client_auth = false};
  absl::StatusOr<Credentials> back = DecodeCredentials(EncodeCredentials(c));
  REQUIRE_OK(back.status());
  CHECK(back->secret == c.secret);
  CHECK(back->tls);
  CHECK(back->cert_pem == "C");
  CHECK(back->key_pem == "K");
  CHECK(back->ca_pem == "A");
  CHECK_FALSE(back->client_auth);
  CHECK_FALSE(DecodeCredentials("\xff\xff\xff").ok());

  std::string a = "PATH=/bin", b = "KILN_AUTH_SECRET=x", c2 = "KILN_AUTH_SECRETS=kept";
  char* env[] = {a.data(), b.data(), c2.data(), nullptr};
  CHECK(EnvironmentWithoutSecret(env) ==
        std::vector<std::string>{"PATH=/bin", "KILN_AUTH_SECRETS=kept"});
}

TEST_CASE("rpc_security: serving beyond loopback without authentication is warned of") {
  Security open(Credentials{});
  Security closed(Credentials{.secret = "0123456789abcdef"});
  CHECK_THAT(InsecureListenWarning("0.0.0.0:7077", "0.0.0.0", open),
             Catch::Contains("SECURITY WARNING") && Catch::Contains("0.0.0.0:7077") &&
                 Catch::Contains("kiln.authenticate"));
  CHECK_FALSE(InsecureListenWarning("10.1.2.3:7077", "10.1.2.3", open).empty());
  CHECK(InsecureListenWarning("127.0.0.1:7077", "127.0.0.1", open).empty());
  CHECK(InsecureListenWarning("0.0.0.0:7077", "0.0.0.0", closed).empty());
  CHECK(open.Describe() == "authentication off, TLS off");
  CHECK(Security(Credentials{.secret = "x", .tls = true}).Describe() ==
        "authentication on, TLS on, with client certificates");
}

}  // namespace
}  // namespace kiln::rpc
