#pragma once
// The processes of one data-parallel job and the collectives between them, on LibTorch's
// c10d (ProcessGroupGloo on CPU, ProcessGroupNCCL with CUDA) with a TCPStore rendezvous.
// The torch.distributed headers stay in collectives.cpp.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Where this process sits in its job: the torchrun convention.
struct WorldInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT from the environment; nullopt
// when WORLD_SIZE is unset. Throws Error naming the variable for a malformed value.
SEGDISTILL_API std::optional<WorldInfo> world_from_environment();

struct CollectivesOptions {
  std::string backend = "auto";               // "gloo", "nccl", or "auto" (nccl on CUDA, else gloo)
  std::chrono::milliseconds timeout{300000};  // rendezvous and every collective
  bool cuda = false;                          // tensors live on the CUDA device
};

class SEGDISTILL_API Collectives {
 public:
  // Joins the job: rank 0 serves the TCP store at master_addr:master_port, every rank
  // connects, then the process group forms. Throws Error when the others do not
  // arrive within the timeout.
  static std::shared_ptr<Collectives> connect(const WorldInfo& world, const CollectivesOptions& options);
  virtual ~Collectives() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  const std::string& backend() const { return backend_; }

  // In place, across all ranks. Several tensors are reduced by concurrent collectives
  // (one per tensor; tensors must be contiguous). Throws Error naming the rank and the
  // operation when a peer has gone or the timeout passes.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  virtual void barrier() = 0;

 protected:
  std::string backend_;
};

// The job of this process, when it runs as one rank of several (set by the trainer for
// the length of a distributed run); null otherwise. SyncBatchNorm reads it.
SEGDISTILL_API std::shared_ptr<Collectives>& current_collectives();

// Every rank's `local`, concatenated along dim 0 in rank order, or `local` itself outside
// a data-parallel run (current_collectives() unset). The shapes must agree on all ranks
// (Error otherwise). Made of sums with zeros, so the values arrive exactly.
SEGDISTILL_API at::Tensor gather_from_ranks(const at::Tensor& local);

}  // namespace segdistill
