#include "common/settings.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/escaping.h"
#include "common/check.h"
#include "common/cli.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"

namespace kiln {
namespace {

using T = SettingType;

// "a, b or c" ("and" when `last` says so).
std::string ListWords(const std::vector<std::string_view>& words, std::string_view last) {
  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) StrAppend(&text, i + 1 == words.size() ? last : ", ");
    StrAppend(&text, words[i]);
  }
  return text;
}

// "lz4, zstd or none".
std::string ChoicesText(const SettingDef& def) {
  return ListWords(Split(def.choices, '|'), " or ");
}

bool IsChoice(const SettingDef& def, std::string_view value) {
  const std::string lower = ToLower(value);
  for (std::string_view c : Split(def.choices, '|')) {
    if (c == lower) return true;
  }
  return false;
}

absl::Status ParseAs(const SettingDef& def, std::string_view value) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("setting ", def.name, "='", value, "': ", why));
  };
  switch (def.type) {
    case T::kString:
      if (def.choices.empty() || IsChoice(def, value)) return absl::OkStatus();
      return bad(StrCat("expected one of ", ChoicesText(def)));
    case T::kInt: {
      int64_t v;
      if (!ParseNumber(value, &v) || v < def.min || v > def.max) {
        return bad(StrCat("expected a whole number from ", def.min, " to ", def.max));
      }
      return absl::OkStatus();
    }
    case T::kBool: {
      bool v;
      if (!ParseBool(value, &v)) return bad("expected true or false (also yes/no, 1/0)");
      return absl::OkStatus();
    }
    case T::kFraction: {
      double v;
      if (!ParseNumber(value, &v) || !(v >= 0 && v <= 1))
        return bad("expected a number from 0 to 1");
      return absl::OkStatus();
    }
    case T::kNumber: {
      double v;
      if (!ParseNumber(value, &v) || !(v > 0) || !std::isfinite(v)) {
        return bad("expected a number above 0");
      }
      return absl::OkStatus();
    }
    case T::kBytes: {
      auto v = ParseBytes(value);
      if (!v.ok()) return bad(View(v.status().message()));
      if (*v <= 0) return bad("must be greater than 0");
      return absl::OkStatus();
    }
    case T::kByteLimit: {
      auto v = ParseBytes(value);
      if (!v.ok()) return bad(View(v.status().message()));
      if (*v < 0) return bad("must be 0 (no limit) or more");
      return absl::OkStatus();
    }
    case T::kMemoryMb: {
      auto v = ParseProcessMemoryMb(value);
      if (!v.ok()) return bad(View(v.status().message()));
      return absl::OkStatus();
    }
    case T::kDuration: {
      auto v = ParseDuration(value);
      if (!v.ok()) return bad(View(v.status().message()));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseProcessMemoryMb(std::string_view text) {
  absl::StatusOr<int64_t> mb = ParseMemoryMb(text);
  if (!mb.ok() && ParseBytes(text).ok()) mb = 0;  // a size, below 1 MiB
  if (!mb.ok()) return mb.status();
  if (*mb >= kMinProcessMemoryMb) return *mb;
  return absl::InvalidArgumentError(
      StrCat("below the minimum of ", kMinProcessMemoryMb, "m (Kiln reserves ", kReservedMemoryMb,
             " MiB of every driver and executor and needs 1.5 times that); give ",
             kMinProcessMemoryMb, "m or more"));
}

int64_t MemoryOverheadMb(const Config& conf, std::string_view role) {
  const std::string overhead = StrCat("kiln.", role, ".memoryOverhead");
  if (conf.IsSet(overhead)) return std::max<int64_t>(1, conf.GetBytes(overhead) >> 20);
  return std::max<int64_t>(384, conf.GetMemoryMb(StrCat("kiln.", role, ".memory")) / 10);
}

absl::Status ValidateSetting(std::string_view name, std::string_view value) {
  const SettingDef* def = FindSetting(name);
  if (def == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("unknown setting '", name, "' (see the settings table in README.md)"));
  }
  return ParseAs(*def, value);
}

namespace {

std::string_view TypeName(const SettingDef& def) {
  switch (def.type) {
    case T::kString:
      return "string";
    case T::kInt:
      return "int";
    case T::kBool:
      return "bool";
    case T::kBytes:
      return "size";
    case T::kByteLimit:
      return "size (0 = no limit)";
    case T::kDuration:
      return "duration";
    case T::kFraction:
      return "fraction (0 to 1)";
    case T::kNumber:
      return "number";
    case T::kMemoryMb:
      return "memory (at least 450m)";
  }
  return "";
}

std::string Readers(unsigned readers) {
  std::vector<std::string_view> names;
  if (readers & kMaster) names.push_back("kiln-master");
  if (readers & kWorker) names.push_back("kiln-worker");
  if (readers & kApp) names.push_back("the driver");
  return ListWords(names, " and ");
}

}  // namespace

std::string SettingsTableMarkdown() {
  std::string out = "| Setting | Read by | Type | Default | Meaning |\n|---|---|---|---|---|\n";
  for (const SettingDef& def : AllSettings()) {
    std::string type(TypeName(def));
    if (def.type == T::kInt) StrAppend(&type, ", ", def.min, "–", def.max);
    if (!def.choices.empty()) type = "one of " + ChoicesText(def);
    StrAppend(&out, "| `", def.name, "` | ", Readers(def.readers), " | ", type, " | ",
              def.default_value.empty() ? "(empty)" : StrCat("`", def.default_value, "`"), " | ",
              def.doc, " |\n");
  }
  return out;
}

std::vector<std::string> UnreadSettingWarnings(const std::vector<std::string>& conf_flags,
                                               SettingReader program,
                                               std::string_view program_name) {
  std::vector<std::string> warnings;
  for (std::string_view flag : conf_flags) {
    const std::string_view key = StripWhitespace(flag.substr(0, flag.find('=')));
    const SettingDef* def = FindSetting(key);
    if (def == nullptr || (def->readers & program) != 0) continue;
    warnings.push_back(StrCat("setting ", key, " is read by ", Readers(def->readers),
                              " only: ignored by ", program_name));
  }
  return warnings;
}

absl::Status Config::Set(std::string_view key, std::string_view value) {
  std::string_view k = StripWhitespace(key);
  std::string_view v = StripWhitespace(value);
  RETURN_IF_ERROR(ValidateSetting(k, v));
  const bool choice = !FindSetting(k)->choices.empty();
  values_[std::string(k)] = choice ? ToLower(v) : std::string(v);
  return absl::OkStatus();
}

absl::Status Config::SetFromFlag(std::string_view key_equals_value) {
  size_t eq = key_equals_value.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return BadFlagValue("--conf", key_equals_value, "expected key=value");
  }
  return Set(key_equals_value.substr(0, eq), key_equals_value.substr(eq + 1));
}

absl::Status Config::LoadPropertiesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return BadFlagValue("--properties-file", path,
                        StrCat("cannot be read: ", std::strerror(errno)));
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = StripWhitespace(line);
    if (l.empty() || l[0] == '#' || l[0] == '!') continue;
    size_t sep = l.find_first_of("= \t");
    if (sep == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", number, ": expected 'key value' or 'key=value'"));
    }
    std::string_view value = StripWhitespace(l.substr(sep + 1));
    if (!value.empty() && value[0] == '=') value = StripWhitespace(value.substr(1));
    RETURN_IF_ERROR(Annotate(Set(l.substr(0, sep), value), StrCat(path, ":", number)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> Config::Load(const std::vector<std::string>& conf_flags,
                                    const std::string& properties_file, char** environ) {
  Config config;
  constexpr std::string_view kPrefix = "KILN_CONF_";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with(kPrefix)) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(entry.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& c : key) c = c == '_' ? '.' : c;
    // Setting names use camelCase after dots, never underscores, so the mapping is
    // reversible.
    RETURN_IF_ERROR(Annotate(config.Set(key, entry.substr(eq + 1)),
                             StrCat("environment ", entry.substr(0, eq))));
  }
  if (!properties_file.empty()) RETURN_IF_ERROR(config.LoadPropertiesFile(properties_file));
  for (const std::string& flag : conf_flags) RETURN_IF_ERROR(config.SetFromFlag(flag));
  RETURN_IF_ERROR(config.CheckConsistency());
  return config;
}

absl::Status Config::CheckConsistency() const {
  struct Pair {
    std::string_view timeout;
    std::string_view interval;
    // Both read by one program (the driver ships its settings to its executors): the
    // defaults count. Otherwise only values given together are compared, since the
    // other program may have its own.
    bool one_program;
  };
  constexpr Pair kPairs[] = {
      {"kiln.network.timeout", "kiln.executor.heartbeatInterval", true},
      {"kiln.worker.timeout", "kiln.worker.heartbeatInterval", false},
      {"kiln.app.timeout", "kiln.driver.heartbeatInterval", false},
  };
  for (const Pair& p : kPairs) {
    const bool compare = p.one_program ? IsSet(p.timeout) || IsSet(p.interval)
                                       : IsSet(p.timeout) && IsSet(p.interval);
    if (!compare || GetDuration(p.timeout) > GetDuration(p.interval)) continue;
    return absl::InvalidArgumentError(
        StrCat("setting ", p.timeout, "=", Raw(p.timeout, T::kDuration), " must be greater than ",
               p.interval, "=", Raw(p.interval, T::kDuration),
               " (a peer would be declared lost between two heartbeats)"));
  }
  const int64_t min = GetInt("kiln.dynamicAllocation.minExecutors");
  const int64_t max = GetInt("kiln.dynamicAllocation.maxExecutors");
  const int64_t initial = GetInt("kiln.dynamicAllocation.initialExecutors");
  if (max > 0 && min > max) {
    return absl::InvalidArgumentError(
        StrCat("setting kiln.dynamicAllocation.minExecutors=", min,
               " must not exceed kiln.dynamicAllocation.maxExecutors=", max));
  }
  if (max > 0 && initial > max) {
    return absl::InvalidArgumentError(
        StrCat("setting kiln.dynamicAllocation.initialExecutors=", initial,
               " must not exceed kiln.dynamicAllocation.maxExecutors=", max));
  }
  if (GetDouble("kiln.dynamicAllocation.executorAllocationRatio") <= 0) {
    return absl::InvalidArgumentError(
        "setting kiln.dynamicAllocation.executorAllocationRatio must be above 0");
  }
  return absl::OkStatus();
}

bool Config::IsSet(std::string_view key) const { return values_.find(key) != values_.end(); }

std::string_view Config::Raw(std::string_view key, SettingType type) const {
  const SettingDef* def = FindSetting(key);
  KILN_CHECK(def != nullptr, "setting not in the table");
  KILN_CHECK(def->type == type, "setting read with the wrong type");
  auto it = values_.find(key);
  return it == values_.end() ? def->default_value : std::string_view(it->second);
}

std::string Config::GetString(std::string_view key) const {
  return std::string(Raw(key, T::kString));
}

int64_t Config::GetInt(std::string_view key) const {
  int64_t v = 0;
  KILN_CHECK(ParseNumber(Raw(key, T::kInt), &v));
  return v;
}

bool Config::GetBool(std::string_view key) const {
  bool v = false;
  KILN_CHECK(ParseBool(Raw(key, T::kBool), &v));
  return v;
}

double Config::GetDouble(std::string_view key) const {
  const SettingDef* def = FindSetting(key);
  KILN_CHECK(def != nullptr && (def->type == T::kNumber || def->type == T::kFraction),
             "setting read with the wrong type");
  double v = 0;
  KILN_CHECK(ParseNumber(Raw(key, def->type), &v));
  return v;
}

int64_t Config::GetBytes(std::string_view key) const {
  return ParseBytes(Raw(key, T::kBytes)).value();
}

int64_t Config::GetByteLimit(std::string_view key) const {
  return ParseBytes(Raw(key, T::kByteLimit)).value();
}

int64_t Config::GetMemoryMb(std::string_view key) const {
  return ParseMemoryMb(Raw(key, T::kMemoryMb)).value();
}

std::chrono::milliseconds Config::GetDuration(std::string_view key) const {
  return ParseDuration(Raw(key, T::kDuration)).value();
}

std::string Config::Serialize() const {
  std::string out;
  for (const auto& [k, v] : values_) StrAppend(&out, k, "=", absl::CEscape(v), "\n");
  return out;
}

absl::StatusOr<Config> Config::Deserialize(std::string_view text) {
  Config config;
  for (std::string_view line : Split(text, '\n', true)) {
    const size_t eq = line.find('=');
    std::string value;
    if (eq == std::string_view::npos ||
        !absl::CUnescape(std::string(line.substr(eq + 1)), &value)) {
      return absl::InvalidArgumentError(StrCat("malformed serialized setting '", line, "'"));
    }
    RETURN_IF_ERROR(config.Set(line.substr(0, eq), value));
  }
  return config;
}

}  // namespace kiln
