#include "segdistill/runtime/collectives.hpp"

#include <cstdlib>

#include <torch/torch.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
#if defined(SEGDISTILL_WITH_GLOO) && defined(USE_C10D_GLOO)
#define SEGDISTILL_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"

namespace segdistill {

namespace {

// Since LibTorch 2.0 the Gloo and NCCL process groups are c10d::Backends (a ProcessGroup
// dispatches to them); either way they carry every collective used here.
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

std::optional<long> integer_variable(const char* name, long min, long max) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < min || value > max)
    throw Error(std::string("environment variable ") + name + "='" + text + "': expected an integer from " + std::to_string(min) +
                " to " + std::to_string(max));
  return value;
}

// c10d's messages end with a C++ backtrace; users get the first part.
std::string without_backtrace(const std::exception& e) {
  std::string why = e.what();
  if (const auto cut = why.find("\nException raised from"); cut != std::string::npos) why.resize(cut);
  return why;
}

#ifdef SEGDISTILL_GLOO
bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }
#endif

class ProcessGroupCollectives : public Collectives {
 public:
  ProcessGroupCollectives(c10::intrusive_ptr<ProcessGroupBase> group, std::string backend, std::chrono::milliseconds timeout,
                          c10::Device device)
      : group_(std::move(group)), timeout_(timeout), device_(device) {
    backend_ = std::move(backend);
  }
  int rank() const override { return group_->getRank(); }
  int world_size() const override { return group_->getSize(); }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    run("all_reduce", [&] {
      std::vector<at::Tensor> staged = stage(tensors);
      std::vector<c10::intrusive_ptr<c10d::Work>> pending;
      for (auto& t : staged) {
        std::vector<at::Tensor> one{t};
        pending.push_back(group_->allreduce(one));
      }
      for (auto& work : pending) work->wait(timeout_);
      unstage(staged, tensors);
    });
  }
  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    run("broadcast", [&] {
      std::vector<at::Tensor> staged = stage(tensors);
      std::vector<c10::intrusive_ptr<c10d::Work>> pending;
      c10d::BroadcastOptions options;
      options.rootRank = root;
      for (auto& t : staged) {
        std::vector<at::Tensor> one{t};
        pending.push_back(group_->broadcast(one, options));
      }
      for (auto& work : pending) work->wait(timeout_);
      unstage(staged, tensors);
    });
  }
  void barrier() override {
    run("barrier", [&] { group_->barrier()->wait(timeout_); });
  }

 private:
  // c10d reports a vanished peer or a timeout as a c10::Error or a gloo exception.
  template <class F>
  void run(const char* operation, F f) {
    try {
      f();
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(rank()) + ": " + operation + " across " + std::to_string(world_size()) +
                  " ranks failed: " + without_backtrace(e) + " (another rank stopped or is unreachable; timeout " +
                  std::to_string(timeout_.count() / 1000) + " s)");
    }
  }

  // NCCL reduces CUDA tensors only; callers may pass small CPU tensors (loss values, a
  // confusion matrix), which travel through the device.
  std::vector<at::Tensor> stage(const std::vector<at::Tensor>& tensors) const {
    std::vector<at::Tensor> staged;
    for (const auto& t : tensors) staged.push_back(device_.is_cuda() && !t.is_cuda() ? t.to(device_) : t);
    return staged;
  }
  static void unstage(const std::vector<at::Tensor>& staged, std::vector<at::Tensor>& tensors) {
    for (std::size_t i = 0; i < tensors.size(); ++i)
      if (!staged[i].is_same(tensors[i])) tensors[i].copy_(staged[i]);
  }

  c10::intrusive_ptr<ProcessGroupBase> group_;
  std::chrono::milliseconds timeout_;
  c10::Device device_;
};

}  // namespace

std::optional<WorldInfo> world_from_environment() {
  const auto world_size = integer_variable("WORLD_SIZE", 1, 65536);
  if (!world_size) return std::nullopt;
  WorldInfo world;
  world.world_size = static_cast<int>(*world_size);
  const auto rank = integer_variable("RANK", 0, *world_size - 1);
  if (!rank) throw Error("WORLD_SIZE is set but RANK is not (torchrun sets both)");
  world.rank = static_cast<int>(*rank);
  world.local_rank = static_cast<int>(integer_variable("LOCAL_RANK", 0, 65535).value_or(world.rank));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) world.master_addr = addr;
  world.master_port = static_cast<int>(integer_variable("MASTER_PORT", 1, 65535).value_or(29500));
  return world;
}

std::shared_ptr<Collectives> Collectives::connect(const WorldInfo& world, const CollectivesOptions& options) {
  std::string backend = options.backend == "auto" ? (options.cuda ? "nccl" : "gloo") : options.backend;
  if (backend != "gloo" && backend != "nccl")
    throw Error("train.dist_backend: unknown backend '" + backend + "'; valid: auto, gloo, nccl");
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(world.master_port);
    store_options.isServer = world.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(world.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + ": rendezvous at " + world.master_addr + ":" +
                std::to_string(world.master_port) + " failed: " + without_backtrace(e) + " (are all " +
                std::to_string(world.world_size) + " ranks started, with the same MASTER_ADDR/MASTER_PORT?)");
  }
  store = c10::make_intrusive<c10d::PrefixStore>("segdistill", store);
  c10::intrusive_ptr<ProcessGroupBase> group;
  if (backend == "gloo") {
#ifdef SEGDISTILL_GLOO
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(is_loopback(world.master_addr) ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    gloo_options->threads = 2;
    try {
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.world_size, gloo_options);
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(world.rank) + ": forming the gloo process group failed: " + without_backtrace(e));
    }
#else
    throw Error("train.dist_backend = \"gloo\": segdistill was built without Gloo (install libgloo-dev and rebuild)");
#endif
  } else {
#ifdef USE_C10D_NCCL
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = options.timeout;
    group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.world_size, nccl_options);
#else
    throw Error(
        "train.dist_backend = \"nccl\": this LibTorch was built without NCCL (use \"gloo\", or a CUDA build of LibTorch)");
#endif
  }
  logger()->debug("rank {} of {} joined ({})", world.rank, world.world_size, backend);
  const c10::Device device =
      backend == "nccl" ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(world.local_rank)) : c10::Device(c10::kCPU);
  return std::make_shared<ProcessGroupCollectives>(std::move(group), backend, options.timeout, device);
}

std::shared_ptr<Collectives>& current_collectives() {
  static std::shared_ptr<Collectives> collectives;
  return collectives;
}

at::Tensor gather_from_ranks(const at::Tensor& local) {
  const auto& collectives = current_collectives();
  if (local.dim() == 0) throw Error("gather_from_ranks: a scalar has no dimension to concatenate along");
  if (!collectives || collectives->world_size() <= 1) return local;
  const int world = collectives->world_size();
  // The shapes agree when, for every dimension, the sum of squares is the world size
  // times the mean's square (Cauchy-Schwarz): one small collective instead of a hang.
  std::vector<double> dims;
  for (const auto d : local.sizes()) {
    dims.push_back(static_cast<double>(d));
    dims.push_back(static_cast<double>(d) * static_cast<double>(d));
  }
  std::vector<at::Tensor> shape{torch::tensor(dims, torch::kDouble).to(local.device())};
  collectives->all_reduce_sum(shape);
  const at::Tensor sums = shape[0].cpu();
  for (std::int64_t i = 0; i < local.dim(); ++i) {
    const double sum = sums[2 * i].item<double>(), squares = sums[2 * i + 1].item<double>();
    if (squares * world != sum * sum)
      throw Error("gather_from_ranks: the ranks hold tensors of different shapes (dimension " + std::to_string(i) +
                  "; this rank's is " + std::to_string(local.size(i)) + ")");
  }
  std::vector<std::int64_t> sizes = local.sizes().vec();
  sizes.insert(sizes.begin(), world);
  at::Tensor slots = torch::zeros(sizes, local.options());
  slots[collectives->rank()].copy_(local);
  std::vector<at::Tensor> gathered{slots};
  collectives->all_reduce_sum(gathered);
  sizes.erase(sizes.begin());
  sizes[0] *= world;
  return gathered[0].reshape(sizes);
}

}  // namespace segdistill
