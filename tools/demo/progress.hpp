#pragma once
// The demo's live progress: it watches the work dirs of a plan of training runs (their
// metrics.jsonl and the start/done markers the demo script writes) and prints one
// updating line -- runs finished / total, each running job's iteration and last val
// mIoU, an ETA -- and a plain line as each run finishes.
#include <iosfwd>
#include <string>
#include <vector>

namespace segdistill::demo {

struct PlannedRun {
  std::string label;     // "SETTING seed N"; runs of one SETTING cost alike per iteration
  std::string work_dir;  // where its metrics.jsonl appears
  long long iterations = 0;
  std::string start_marker, done_marker;  // files touched when it starts and when it has finished
};

// Tab-separated lines: LABEL, WORK_DIR, ITERATIONS, START_MARKER, DONE_MARKER. Throws
// naming the file and line on anything else.
std::vector<PlannedRun> read_plan(const std::string& path);

// What a run's files say now.
struct RunState {
  bool started = false, done = false;
  long long iteration = 0;  // the last logged training iteration
  double last_miou = -1;    // percent; < 0 before the first validation
  double seconds = 0;       // since its start marker (to its done marker once done)
};

RunState observe(const PlannedRun& run);

// The setting of a label: what comes before " seed ", or the whole label.
std::string setting_of(const std::string& label);

// Seconds left for the runs not finished, `parallel` at a time: each run's remaining
// iterations at its setting's seconds per iteration (measured on its finished or running
// runs; a setting not yet measured costs as the dearest measured one). Negative when
// nothing has been measured yet.
double eta_seconds(const std::vector<PlannedRun>& plan, const std::vector<RunState>& states, int parallel);

// "runs 3/12 | student+TaT seed 1: it 1200/2000 val 71.20 | ... | ETA 3:10".
std::string status_line(const std::vector<PlannedRun>& plan, const std::vector<RunState>& states, int parallel);

// Watches until every run is done, STOP_FILE exists or the process that started it has
// gone; the status line is redrawn in place every second on a terminal, and printed every
// 30 s otherwise.
void watch(const std::vector<PlannedRun>& plan, int parallel, const std::string& stop_file, std::ostream& out, bool terminal);

}  // namespace segdistill::demo
