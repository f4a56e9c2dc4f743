#pragma once
// `segdistill train --nproc N`: runs the same command line as N local worker processes
// under the torchrun convention and supervises them.
#include <string>
#include <vector>

namespace segdistill::cli {

// The command line this process was started with (set by main).
std::vector<std::string>& original_arguments();

// Starts `nproc` copies of this program with the original arguments and RANK,
// LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a
// free port, or MASTER_PORT from the environment) set; forwards SIGINT/SIGTERM to them;
// when one fails, reports which rank and how, stops the others and returns its status.
int launch_local_workers(int nproc);

// Whether this process is one of the workers launch_local_workers started (they carry
// the launcher's --nproc in their arguments, unlike a torchrun launch).
bool started_by_nproc();

}  // namespace segdistill::cli
