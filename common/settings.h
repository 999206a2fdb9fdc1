#pragma once
// The one table of Kiln's settings, and Config: a validated set of values for them.
//
// Precedence when a process assembles its Config (see Config::Load): --conf flags >
// properties file (kiln-defaults.conf) > KILN_CONF_* environment > the table's default.
// Names follow Spark's where the meaning is the same (kiln.executor.memory <->
// spark.executor.memory). Config is a value type: not thread-safe to mutate, safe to
// read from many threads once built.

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln {

// kMemoryMb: the memory of a process Kiln manages (a driver, an executor), at least
// kMinProcessMemoryMb. kByteLimit: a size where 0 means no limit.
enum class SettingType {
  kString,
  kInt,
  kBool,
  kBytes,
  kByteLimit,
  kDuration,
  kFraction,
  kNumber,  // a real number above 0
  kMemoryMb
};

// Memory Kiln sets aside in every driver and executor for itself and user code (Spark's
// reserved memory), and the least a process may be given: 1.5 times that, as in Spark.
inline constexpr int64_t kReservedMemoryMb = 300;
inline constexpr int64_t kMinProcessMemoryMb = kReservedMemoryMb * 3 / 2;

// The memory of a driver or executor process in MiB ("2g", "512m", "512" = 512m), at least
// kMinProcessMemoryMb; an error says what is wrong, with the minimum when it is too small
// (also for sizes below 1 MiB such as "0" or "512k").
absl::StatusOr<int64_t> ParseProcessMemoryMb(std::string_view text);

class Config;
// The memory overhead of `role` ("executor" or "driver") in MiB:
// kiln.<role>.memoryOverhead as set, else max(384 MiB, 10% of kiln.<role>.memory), as
// Spark's default.
int64_t MemoryOverheadMb(const Config& conf, std::string_view role);

// The programs that read a setting (a bitmask). kApp: the driver (kiln-submit and the
// user's program) and its executors, to which it ships its settings.
enum SettingReader : unsigned { kMaster = 1, kWorker = 2, kApp = 4 };
inline constexpr int64_t kIntMax = 2147483647;  // int settings fit an int

struct SettingDef {
  std::string_view name;
  SettingType type;
  std::string_view default_value;  // "" = unset (the setting's doc says what that means)
  std::string_view doc;
  unsigned readers = 0;  // SettingReader bits
  int64_t min = 0;       // kInt: the values allowed
  int64_t max = 0;
  // kString: "a|b|c" when the value must be one of these (any case; stored lower-case).
  std::string_view choices;
};

// Every setting Kiln knows (the table in common/settings_table.cc), sorted by name. The
// README's settings table is checked against it by a test.
std::span<const SettingDef> AllSettings();
const SettingDef* FindSetting(std::string_view name);

// Checks that `value` parses as the type of setting `name` and lies in its range or
// choices; the error names the key and what is allowed.
absl::Status ValidateSetting(std::string_view name, std::string_view value);

// The settings table as the README shows it (a Markdown table, one row per setting:
// name, who reads it, type with its range or choices, default, meaning).
std::string SettingsTableMarkdown();

// One warning line per "key=value" of `conf_flags` that `program` (a SettingReader bit)
// does not read, naming who does: "setting kiln.deploy.spreadOut is read by kiln-master
// only: ignored by kiln-submit". Malformed or unknown entries are left to Load.
std::vector<std::string> UnreadSettingWarnings(const std::vector<std::string>& conf_flags,
                                               SettingReader program,
                                               std::string_view program_name);

class Config {
 public:
  Config() = default;

  // Assembles a Config from its layers. `conf_flags` are "key=value" strings from
  // repeated --conf flags; `properties_file` may be empty (then none is read);
  // `environ` is the process environment (KILN_CONF_kiln_executor_memory=2g sets
  // kiln.executor.memory; dots become underscores). Every key and value is validated.
  static absl::StatusOr<Config> Load(const std::vector<std::string>& conf_flags,
                                     const std::string& properties_file, char** environ);

  // Sets one value after validating it.
  absl::Status Set(std::string_view key, std::string_view value);
  // Timeouts above their heartbeat intervals: INVALID_ARGUMENT naming both keys. Load
  // checks it; call it again after changing settings.
  absl::Status CheckConsistency() const;
  // Parses "key=value" (as given to --conf).
  absl::Status SetFromFlag(std::string_view key_equals_value);
  // Reads a properties file: "key value" or "key=value" per line, '#' comments.
  absl::Status LoadPropertiesFile(const std::string& path);

  bool IsSet(std::string_view key) const;
  // Accessors return the explicit value or the table's default. They CHECK that `key`
  // is in the table with the requested type: a wrong key is a programming error.
  std::string GetString(std::string_view key) const;
  int64_t GetInt(std::string_view key) const;
  bool GetBool(std::string_view key) const;
  int64_t GetBytes(std::string_view key) const;
  int64_t GetByteLimit(std::string_view key) const;  // 0 = no limit
  int64_t GetMemoryMb(std::string_view key) const;
  double GetDouble(std::string_view key) const;
  std::chrono::milliseconds GetDuration(std::string_view key) const;

  // The explicitly set values, for passing a Config to another process.
  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }

  // "key=value\n" lines of the explicit values, each value C-escaped (a newline in an
  // application's name cannot start another setting); Deserialize reads them back.
  std::string Serialize() const;
  static absl::StatusOr<Config> Deserialize(std::string_view text);

 private:
  std::string_view Raw(std::string_view key, SettingType type) const;

  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace kiln
