// The settings table and Config's layered loading (common/settings.h).
#include "common/settings.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using test::TempDir;

using test::Message;

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.Sub(name);
  std::ofstream(path) << text;
  return path;
}

TEST_CASE("settings: the table is sorted by name without duplicates", "[settings]") {
  std::span<const SettingDef> all = AllSettings();
  REQUIRE(all.size() > 10);
  for (size_t i = 1; i < all.size(); ++i) {
    INFO(all[i - 1].name << " then " << all[i].name);
    CHECK(all[i - 1].name < all[i].name);
  }
}

TEST_CASE("settings: every row is well formed and its default valid for its type", "[settings]") {
  for (const SettingDef& def : AllSettings()) {
    INFO("setting " << def.name << " default '" << def.default_value << "'");
    CHECK(def.name.starts_with("kiln."));
    // KILN_CONF_ environment names map '_' back to '.', so names never hold '_'.
    CHECK(def.name.find('_') == std::string_view::npos);
    CHECK(def.name.find_first_of(" =\t") == std::string_view::npos);
    CHECK_FALSE(def.doc.empty());
    if (def.default_value.empty()) {
      // A typed setting left unset has a computed value, which its doc states (its typed
      // getter cannot parse "" and is only called once IsSet).
      if (def.type != SettingType::kString) {
        CHECK(def.doc.find("Empty = ") != std::string_view::npos);
      }
    } else {
      CHECK(ValidateSetting(def.name, def.default_value).ok());
    }
    CHECK(FindSetting(def.name) == &def);
  }
}

TEST_CASE("settings: typed getters return the table defaults", "[settings]") {
  Config c;
  CHECK(c.GetMemoryMb("kiln.executor.memory") == 1024);
  CHECK(c.GetBytes("kiln.files.maxPartitionBytes") == (int64_t{128} << 20));
  CHECK(c.GetDuration("kiln.worker.timeout") == std::chrono::seconds(60));
  CHECK(c.GetBool("kiln.deploy.spreadOut"));
  CHECK(c.GetInt("kiln.task.maxFailures") == 4);
  CHECK(c.GetString("kiln.master") == "local[*]");
  CHECK_FALSE(c.IsSet("kiln.master"));
}

TEST_CASE("settings: Set validates and typed getters read the value", "[settings]") {
  Config c;
  REQUIRE(c.Set("kiln.executor.memory", "2g").ok());
  REQUIRE(c.Set(" kiln.worker.timeout ", " 2s ").ok());  // trimmed
  REQUIRE(c.SetFromFlag("kiln.deploy.spreadOut=false").ok());
  REQUIRE(c.SetFromFlag("kiln.app.name=a=b").ok());  // only the first '=' splits
  CHECK(c.GetMemoryMb("kiln.executor.memory") == 2048);
  CHECK(c.GetDuration("kiln.worker.timeout") == std::chrono::seconds(2));
  CHECK_FALSE(c.GetBool("kiln.deploy.spreadOut"));
  CHECK(c.GetString("kiln.app.name") == "a=b");
  CHECK(c.IsSet("kiln.worker.timeout"));
}

TEST_CASE("settings: a number setting reads back as a double", "[settings]") {
  Config config;
  CHECK(config.GetDouble("kiln.speculation.multiplier") == 1.5);
  REQUIRE(config.Set("kiln.speculation.multiplier", "3.25").ok());
  CHECK(config.GetDouble("kiln.speculation.multiplier") == 3.25);
  CHECK(config.GetDouble("kiln.speculation.quantile") == 0.75);
}

TEST_CASE("settings: an unknown key is an error naming the key", "[settings]") {
  Config c;
  absl::Status s = c.Set("kiln.no.such.key", "1");
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Message(s).find("kiln.no.such.key") != std::string::npos);

  absl::StatusOr<Config> loaded = Config::Load({"kiln.executer.memory=1g"}, "", nullptr);
  REQUIRE_FALSE(loaded.ok());
  CHECK(Message(loaded.status()).find("kiln.executer.memory") != std::string::npos);
}

TEST_CASE("settings: driver and executor memory below 450 MiB are refused naming the minimum",
          "[settings]") {
  for (const char* key : {"kiln.executor.memory", "kiln.driver.memory"}) {
    Config config;
    absl::Status s = config.Set(key, "449m");
    REQUIRE_FALSE(s.ok());
    CHECK(Message(s).find(key) != std::string::npos);
    CHECK(Message(s).find("450m") != std::string::npos);
    CHECK(config.Set(key, "450m").ok());
    CHECK(config.GetMemoryMb(key) == 450);
  }
}

TEST_CASE("settings: a bad value is an error naming the key and the value", "[settings]") {
  struct Case {
    const char* key;
    const char* value;
  };
  for (Case c :
       {Case{"kiln.executor.memory", "1x"}, Case{"kiln.executor.memory", "0"},
        Case{"kiln.executor.memory", "-1g"}, Case{"kiln.task.maxFailures", "abc"},
        Case{"kiln.task.maxFailures", "-2"}, Case{"kiln.deploy.spreadOut", "maybe"},
        Case{"kiln.worker.timeout", "soon"}, Case{"kiln.files.maxPartitionBytes", "0"},
        Case{"kiln.shuffle.io.chunkSize", ""}, Case{"kiln.speculation.multiplier", "0"},
        Case{"kiln.speculation.multiplier", "-1.5"}, Case{"kiln.speculation.multiplier", "inf"},
        Case{"kiln.speculation.quantile", "1.5"}, Case{"kiln.deploy.defaultCores", "-1"}}) {
    INFO(c.key << "=" << c.value);
    Config config;
    absl::Status s = config.Set(c.key, c.value);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(s).find(c.key) != std::string::npos);
    CHECK(Message(s).find(StrCat("'", c.value, "'")) != std::string::npos);
    CHECK_FALSE(config.IsSet(c.key));
  }
}

TEST_CASE("settings: ints outside their range are refused naming the key and the range",
          "[settings]") {
  struct Case {
    const char* key;
    const char* value;
    const char* range;
  };
  for (Case c : {Case{"kiln.driver.port", "70000", "from 0 to 65535"},
                 Case{"kiln.default.parallelism", "4294967298", "from 0 to 2147483647"},
                 Case{"kiln.default.parallelism", "99999999999999999999", "from 0 to 2147483647"},
                 Case{"kiln.task.maxFailures", "0", "from 1 to 2147483647"},
                 Case{"kiln.stage.maxConsecutiveAttempts", "0", "from 1 to 2147483647"}}) {
    INFO(c.key << "=" << c.value);
    Config config;
    absl::Status s = config.Set(c.key, c.value);
    REQUIRE_FALSE(s.ok());
    CHECK(Message(s).find(c.key) != std::string::npos);
    CHECK(Message(s).find(c.range) != std::string::npos);
  }
  Config config;
  REQUIRE(config.Set("kiln.driver.port", "65535").ok());
  CHECK(config.GetInt("kiln.driver.port") == 65535);
  for (const SettingDef& def : AllSettings()) {
    INFO(def.name);
    CHECK(def.readers != 0);
    if (def.type == SettingType::kInt) CHECK((def.min <= def.max && def.max > 0));
  }
}

TEST_CASE("settings: choices are checked in any case and stored lower-case", "[settings]") {
  Config config;
  absl::Status s = config.Set("kiln.io.compression.codec", "snappy");
  REQUIRE_FALSE(s.ok());
  CHECK(Message(s) ==
        "setting kiln.io.compression.codec='snappy': expected one of lz4, zstd or none");
  REQUIRE(config.Set("kiln.io.compression.codec", "ZSTD").ok());
  CHECK(config.GetString("kiln.io.compression.codec") == "zstd");
  CHECK_FALSE(config.Set("kiln.worker.memoryLimits", "cgroups").ok());
  REQUIRE(config.Set("kiln.worker.memoryLimits", "Watchdog").ok());
  CHECK(config.GetString("kiln.worker.memoryLimits") == "watchdog");
  for (const char* yes : {"true", "YES", "1"}) {
    REQUIRE(config.Set("kiln.deploy.spreadOut", yes).ok());
    CHECK(config.GetBool("kiln.deploy.spreadOut"));
  }
  REQUIRE(config.Set("kiln.deploy.spreadOut", "no").ok());
  CHECK_FALSE(config.GetBool("kiln.deploy.spreadOut"));
  REQUIRE(config.Set("kiln.network.timeout", "1.5s").ok());
  CHECK(config.GetDuration("kiln.network.timeout") == std::chrono::milliseconds(1500));
}

TEST_CASE("settings: a --conf setting a program does not read is a warning naming who does",
          "[settings]") {
  const std::vector<std::string> flags = {"kiln.deploy.spreadOut=false", "kiln.task.maxFailures=2",
                                          "kiln.rpc.message.maxSize=64m", "kiln.nope=1", "junk"};
  CHECK(UnreadSettingWarnings(flags, kApp, "kiln-submit") ==
        std::vector<std::string>{
            "setting kiln.deploy.spreadOut is read by kiln-master only: ignored by kiln-submit"});
  CHECK(UnreadSettingWarnings(flags, kMaster, "kiln-master") ==
        std::vector<std::string>{
            "setting kiln.task.maxFailures is read by the driver only: ignored by kiln-master"});
  CHECK(UnreadSettingWarnings(flags, kWorker, "kiln-worker").size() == 2);
}

TEST_CASE("settings: --conf without key=value is an error quoting the flag", "[settings]") {
  Config c;
  for (const char* bad : {"kiln.executor.memory", "=2g", ""}) {
    absl::Status s = c.SetFromFlag(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(Message(s).find(StrCat("'", bad, "'")) != std::string::npos);
    CHECK(Message(s).find("key=value") != std::string::npos);
  }
}

TEST_CASE("settings: precedence is --conf over properties file over environment over default",
          "[settings]") {
  TempDir dir;
  std::string props = WriteFile(dir, "kiln-defaults.conf",
                                "kiln.executor.memory 3g\n"
                                "kiln.app.name=from-file\n"
                                "kiln.task.maxFailures=7\n");
  std::string env0 = "KILN_CONF_kiln_executor_memory=4g";
  std::string env1 = "KILN_CONF_kiln_app_name=from-env";
  std::string env2 = "KILN_CONF_kiln_worker_timeout=5s";
  std::string env3 = "PATH=/usr/bin";  // not ours: ignored
  std::string env4 = "KILN_CONF_kiln_task_maxFailures=9";
  char* env[] = {env0.data(), env1.data(), env2.data(), env3.data(), env4.data(), nullptr};

  absl::StatusOr<Config> c =
      Config::Load({"kiln.executor.memory=5g", "kiln.driver.port=7000"}, props, env);
  REQUIRE(c.ok());
  CHECK(c->GetMemoryMb("kiln.executor.memory") == 5 * 1024);                // --conf wins
  CHECK(c->GetString("kiln.app.name") == "from-file");                      // file beats env
  CHECK(c->GetInt("kiln.task.maxFailures") == 7);                           // file beats env
  CHECK(c->GetDuration("kiln.worker.timeout") == std::chrono::seconds(5));  // env
  CHECK(c->GetInt("kiln.driver.port") == 7000);                             // --conf only
  CHECK(c->GetDuration("kiln.app.timeout") == std::chrono::seconds(60));    // default
  CHECK_FALSE(c->IsSet("kiln.app.timeout"));
}

TEST_CASE("settings: a bad environment value names the variable and the key", "[settings]") {
  std::string env0 = "KILN_CONF_kiln_executor_memory=lots";
  char* env[] = {env0.data(), nullptr};
  absl::StatusOr<Config> c = Config::Load({}, "", env);
  REQUIRE_FALSE(c.ok());
  CHECK(Message(c.status()).find("KILN_CONF_kiln_executor_memory") != std::string::npos);
  CHECK(Message(c.status()).find("kiln.executor.memory") != std::string::npos);
}

TEST_CASE("settings: properties files take comments, blank lines and both separators",
          "[settings]") {
  TempDir dir;
  std::string path = WriteFile(dir, "p.conf",
                               "# a comment\n"
                               "! another comment\n"
                               "\n"
                               "   \n"
                               "kiln.executor.memory   2g\n"
                               "kiln.app.name=my app\n"
                               "  kiln.worker.timeout = 10s  \n"
                               "kiln.deploy.spreadOut\tfalse\n"
                               "kiln.task.maxFailures =3\n");
  Config c;
  REQUIRE(c.LoadPropertiesFile(path).ok());
  CHECK(c.GetMemoryMb("kiln.executor.memory") == 2048);
  CHECK(c.GetString("kiln.app.name") == "my app");
  CHECK(c.GetDuration("kiln.worker.timeout") == std::chrono::seconds(10));
  CHECK_FALSE(c.GetBool("kiln.deploy.spreadOut"));
  CHECK(c.GetInt("kiln.task.maxFailures") == 3);
  CHECK(c.values().size() == 5);
}

TEST_CASE("settings: properties file errors name the file, the line and the key", "[settings]") {
  TempDir dir;
  std::string bad_value = WriteFile(dir, "bad.conf", "# ok\nkiln.executor.memory 1x\n");
  absl::Status s = Config().LoadPropertiesFile(bad_value);
  REQUIRE_FALSE(s.ok());
  CHECK(Message(s).find(bad_value + ":2") != std::string::npos);
  CHECK(Message(s).find("kiln.executor.memory") != std::string::npos);

  std::string bad_key = WriteFile(dir, "key.conf", "kiln.bogus 1\n");
  s = Config().LoadPropertiesFile(bad_key);
  REQUIRE_FALSE(s.ok());
  CHECK(Message(s).find("kiln.bogus") != std::string::npos);

  std::string no_sep = WriteFile(dir, "sep.conf", "kiln.executor.memory\n");
  s = Config().LoadPropertiesFile(no_sep);
  REQUIRE_FALSE(s.ok());
  CHECK(Message(s).find(no_sep + ":1") != std::string::npos);

  std::string missing = dir.Sub("missing.conf");
  absl::StatusOr<Config> c = Config::Load({}, missing, nullptr);
  REQUIRE_FALSE(c.ok());
  CHECK(Message(c.status()).find(missing) != std::string::npos);
}

TEST_CASE("settings: a timeout not above its heartbeat interval is refused naming both keys",
          "[settings]") {
  auto load = [](std::vector<std::string> flags) { return Config::Load(flags, "", nullptr); };
  // The driver and its executors read both: the default interval (10s) counts.
  auto s = load({"kiln.network.timeout=5s"}).status();
  CHECK(absl::IsInvalidArgument(s));
  CHECK(Message(s) ==
        "setting kiln.network.timeout=5s must be greater than "
        "kiln.executor.heartbeatInterval=10s (a peer would be declared lost between two "
        "heartbeats)");
  CHECK_FALSE(load({"kiln.executor.heartbeatInterval=2m"}).ok());
  CHECK(load({"kiln.network.timeout=5s", "kiln.executor.heartbeatInterval=1s"}).ok());
  // The master reads the timeout, the worker the interval: compared only when given
  // together.
  CHECK(load({"kiln.worker.timeout=2s"}).ok());
  s = load({"kiln.worker.timeout=2s", "kiln.worker.heartbeatInterval=2s"}).status();
  CHECK(Message(s).find("kiln.worker.timeout=2s must be greater than "
                        "kiln.worker.heartbeatInterval=2s") != std::string::npos);
  s = load({"kiln.app.timeout=1s", "kiln.driver.heartbeatInterval=5s"}).status();
  CHECK(Message(s).find("kiln.app.timeout=1s") != std::string::npos);
  CHECK(Message(s).find("kiln.driver.heartbeatInterval=5s") != std::string::npos);
  CHECK(load({}).ok());  // the defaults agree
}

TEST_CASE("settings: Serialize and Deserialize round trip", "[settings]") {
  Config c;
  REQUIRE(c.Set("kiln.executor.memory", "3g").ok());
  REQUIRE(c.Set("kiln.app.name", "name with spaces = and equals").ok());
  REQUIRE(c.Set("kiln.worker.timeout", "250ms").ok());
  REQUIRE(c.Set("kiln.deploy.spreadOut", "false").ok());
  std::string text = c.Serialize();
  absl::StatusOr<Config> back = Config::Deserialize(text);
  REQUIRE(back.ok());
  CHECK(back->values() == c.values());
  CHECK(back->Serialize() == text);
  CHECK(back->GetString("kiln.app.name") == "name with spaces = and equals");

  absl::StatusOr<Config> empty = Config::Deserialize(Config().Serialize());
  REQUIRE(empty.ok());
  CHECK(empty->values().empty());

  CHECK_FALSE(Config::Deserialize("kiln.nope=1\n").ok());
  CHECK_FALSE(Config::Deserialize("kiln.executor.memory=1x\n").ok());
  CHECK_FALSE(Config::Deserialize("no equals sign\n").ok());
}

TEST_CASE("settings: a newline in a value cannot inject another setting", "[settings]") {
  Config c;
  const std::string name = "job\nkiln.executor.memory=100g\r\n\tkiln.executor.cores=64 \\n";
  REQUIRE(c.Set("kiln.app.name", name).ok());
  const std::string text = c.Serialize();
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // one line, one setting
  absl::StatusOr<Config> back = Config::Deserialize(text);
  REQUIRE_OK(back);
  CHECK(back->GetString("kiln.app.name") == name);
  CHECK_FALSE(back->IsSet("kiln.executor.memory"));
  CHECK_FALSE(back->IsSet("kiln.executor.cores"));
}

}  // namespace
}  // namespace kiln
