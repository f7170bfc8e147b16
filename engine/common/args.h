// Command-line arguments: `--flag value`, `--flag=value`, boolean `--flag`, and positionals. Every
// command declares the flags it knows; anything else is an error with a hint, not silently ignored.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace opt {

class Args {
 public:
  // value_flags take a value; bool_flags do not. Returns an error message in `error` when the command
  // line uses an unknown flag or misses a flag's value.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
       const std::set<std::string>& bool_flags);

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }
  bool has(const std::string& flag) const { return values_.count(flag) || bools_.count(flag); }
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  bool flag(const std::string& name) const { return bools_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> bools_;
  std::vector<std::string> positional_;
  std::string error_;
};

// "30s", "500ms", "2m", "1h" or plain seconds; returns milliseconds.
std::optional<uint64_t> parse_duration_ms(const std::string& s);

}  // namespace opt
