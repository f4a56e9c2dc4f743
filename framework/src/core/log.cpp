#include "segdistill/core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "segdistill/core/error.hpp"

namespace segdistill {

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    // Logs go to stderr so that stdout carries only a command's results (tables, JSON).
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("segdistill", console);
    log->set_pattern("%^[%Y-%m-%d %H:%M:%S.%e] [%l]%$ %v");
    log->set_level(spdlog::level::info);
    log->flush_on(spdlog::level::info);
    return log;
  }();
  return instance;
}

void set_log_rank(int rank, int world_size) {
  const std::string tag = "[rank " + std::to_string(rank) + "/" + std::to_string(world_size) + "] ";
  logger()->set_pattern("%^[%Y-%m-%d %H:%M:%S.%e] [%l]%$ " + tag + "%v");
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
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    logger()->sinks().push_back(file);
    file_sinks().push_back(file);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error(path + ": cannot open the log file: " + e.what());
  }
}

}  // namespace segdistill
