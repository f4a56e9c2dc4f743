#include "progress.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "metrics_records.hpp"

#include "convergence.hpp"

namespace fs = std::filesystem;

namespace segdistill::demo {

namespace {

double seconds_between(fs::file_time_type from, fs::file_time_type to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  return text;
}

}  // namespace

std::vector<PlannedRun> read_plan(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the plan");
  std::vector<PlannedRun> plan;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream split(line);
    for (std::string field; std::getline(split, field, '\t');) fields.push_back(field);
    long long iterations = 0;
    try {
      if (fields.size() == 5) iterations = std::stoll(fields[2]);
    } catch (const std::exception&) {
    }
    if (fields.size() != 5 || iterations < 1)
      throw std::runtime_error(path + ":" + std::to_string(number) +
                               ": expected LABEL<TAB>WORK_DIR<TAB>ITERATIONS (>= 1)<TAB>START_MARKER<TAB>DONE_MARKER");
    plan.push_back({fields[0], fields[1], iterations, fields[3], fields[4]});
  }
  return plan;
}

RunState observe(const PlannedRun& run) {
  RunState state;
  std::error_code ec;
  const auto started = fs::last_write_time(run.start_marker, ec);
  if (ec) return state;
  state.started = true;
  const auto finished = fs::last_write_time(run.done_marker, ec);
  state.done = !ec;
  state.seconds = seconds_between(started, state.done ? finished : fs::file_time_type::clock::now());
  std::vector<nlohmann::json> records;
  try {
    records = plotting::read_metrics_records(run.work_dir, /*skip_unparsable=*/true);  // the last line may be half-written
  } catch (const std::runtime_error&) {
    // Not written yet, or grown while read: the next second's look sees it.
  }
  for (const auto& record : records) {
    if (!record.is_object()) continue;
    const auto type = record.value("type", "");
    const auto iteration = record.find("iter");
    if (iteration == record.end() || !iteration->is_number_integer()) continue;
    if (type == "train" || type == "val") state.iteration = std::max(state.iteration, iteration->get<long long>());
    const auto miou = record.find("mIoU");
    if (type == "val" && miou != record.end() && miou->is_number()) state.last_miou = 100.0 * miou->get<double>();
  }
  if (state.done) state.iteration = run.iterations;
  return state;
}

std::string setting_of(const std::string& label) {
  const auto at = label.find(" seed ");
  return at == std::string::npos ? label : label.substr(0, at);
}

double eta_seconds(const std::vector<PlannedRun>& plan, const std::vector<RunState>& states, int parallel) {
  std::map<std::string, std::pair<double, double>> measured;  // setting -> (seconds, iterations)
  for (std::size_t i = 0; i < plan.size(); ++i)
    if (states[i].started && states[i].iteration > 0) {
      auto& m = measured[setting_of(plan[i].label)];
      m.first += states[i].seconds;
      m.second += static_cast<double>(states[i].iteration);
    }
  if (measured.empty()) return -1;
  double dearest = 0;
  for (const auto& [setting, m] : measured) dearest = std::max(dearest, m.first / m.second);
  double left = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (states[i].done) continue;
    const auto m = measured.find(setting_of(plan[i].label));
    const double per_iteration = m == measured.end() ? dearest : m->second.first / m->second.second;
    left += per_iteration * static_cast<double>(plan[i].iterations - states[i].iteration);
  }
  return left / std::max(parallel, 1);
}

std::string status_line(const std::vector<PlannedRun>& plan, const std::vector<RunState>& states, int parallel) {
  std::size_t done = 0;
  for (const auto& s : states) done += s.done;
  std::string line = "runs " + std::to_string(done) + "/" + std::to_string(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (!states[i].started || states[i].done) continue;
    line += " | " + plan[i].label + ": it " + std::to_string(states[i].iteration) + "/" + std::to_string(plan[i].iterations);
    if (states[i].last_miou >= 0) {
      char miou[32];
      std::snprintf(miou, sizeof miou, " val %.2f", states[i].last_miou);
      line += miou;
    }
  }
  const double eta = eta_seconds(plan, states, parallel);
  return line + " | ETA " + (eta < 0 ? std::string("?") : clock_text(eta));
}

void watch(const std::vector<PlannedRun>& plan, int parallel, const std::string& stop_file, std::ostream& out, bool terminal) {
  // Started by the demo script: once it is gone (killed outright), nobody needs the line.
  const pid_t parent = getppid();
  std::vector<bool> reported(plan.size(), false);
  std::size_t finished = 0;
  auto last_plain = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<RunState> states;
    for (const auto& run : plan) states.push_back(observe(run));
    for (std::size_t i = 0; i < plan.size(); ++i) {
      if (!states[i].done || reported[i]) continue;
      reported[i] = true;
      ++finished;
      std::string result;
      try {
        const auto validations = read_validations(plan[i].work_dir);
        const auto convergence = check_convergence(validations);
        char text[64];
        std::snprintf(text, sizeof text, "val mIoU %.2f, ", validations.empty() ? 0.0 : validations.back().miou);
        result = text + std::string(convergence.converged ? "converged (" : "NOT converged (") + convergence.reason + ")";
      } catch (const std::exception& e) {
        result = e.what();
      }
      if (terminal) out << "\r\033[K";
      out << "[" << finished << "/" << plan.size() << "] " << plan[i].label << " finished in " << clock_text(states[i].seconds)
          << ": " << result << "\n";
    }
    const bool all_done = finished == plan.size();
    std::error_code ec;
    if (all_done || fs::exists(stop_file, ec) || getppid() != parent) {
      if (terminal) out << "\r\033[K" << std::flush;
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (terminal) {
      out << "\r\033[K" << status_line(plan, states, parallel) << std::flush;
    } else if (now - last_plain >= std::chrono::seconds(30)) {
      out << status_line(plan, states, parallel) << "\n" << std::flush;
      last_plain = now;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace segdistill::demo
