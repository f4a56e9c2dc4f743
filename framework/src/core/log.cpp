#include "segdistill/core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <spdlog/pattern_formatter.h>

#include "segdistill/core/error.hpp"
#include "segdistill/core/untrusted_file.hpp"

namespace segdistill {

namespace {

// %* : the message with control characters escaped (printable): a log line may carry a
// config key or a file name that holds an escape sequence.
class PrintableMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text = printable(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PrintableMessage>(); }
};

std::unique_ptr<spdlog::formatter> formatter(const std::string& pattern) {
  auto out = std::make_unique<spdlog::pattern_formatter>();
  out->add_flag<PrintableMessage>('*').set_pattern(pattern);
  return out;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    // Logs go to stderr so that stdout carries only a command's results (tables, JSON).
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("segdistill", console);
    log->set_formatter(formatter("%^[%Y-%m-%d %H:%M:%S.%e] [%l]%$ %*"));
    log->set_level(spdlog::level::info);
    log->flush_on(spdlog::level::info);
    return log;
  }();
  return instance;
}

void set_log_rank(int rank, int world_size) {
  const std::string tag = "[rank " + std::to_string(rank) + "/" + std::to_string(world_size) + "] ";
  logger()->set_formatter(formatter("%^[%Y-%m-%d %H:%M:%S.%e] [%l]%$ " + tag + "%*"));
  if (rank != 0 && logger()->level() < spdlog::level::warn) logger()->set_level(spdlog::level::warn);
}

void set_log_level(const std::string& level) {
  static const std::vector<std::pair<std::string, spdlog::level::level_enum>> levels{
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  for (const auto& [name, value] : levels) {
    if (name == level) {
      logger()->set_level(value);
      return;
    }
  }
  throw Error("--log-level: invalid level '" + level + "'; valid levels: trace, debug, info, warn, error, off");
}

namespace {
std::vector<spdlog::sink_ptr>& file_sinks() {
  static std::vector<spdlog::sink_ptr> sinks;
  return sinks;
}
}  // namespace

void write_to_log_files(const std::string& message) {
  const spdlog::details::log_msg record(logger()->name(), spdlog::level::err, message);
  for (auto& sink : file_sinks()) {
    sink->log(record);
    sink->flush();
  }
}

void add_log_file(const std::string& path) {
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    file->set_formatter(formatter("[%Y-%m-%d %H:%M:%S.%e] [%l] %*"));
    logger()->sinks().push_back(file);
    file_sinks().push_back(file);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error(path + ": cannot open the log file: " + e.what());
  }
}

}  // namespace segdistill
