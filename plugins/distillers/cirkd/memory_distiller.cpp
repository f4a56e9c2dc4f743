// CIRKD's memory terms (its facts, 1.11): each labelled student pixel, projected, is made
// to rank a sample of remembered teacher pixels (and class regions) as the teacher's
// pixel ranks them. The memories are per class, filled from the teacher's features of
// every rank's batch, and kept as buffers: checkpoints hold them and --resume restores
// them, with the state of the draws.
#include "cirkd_distillers.hpp"
#include "gcn_adaptor.hpp"
#include "memory_bank.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

struct MemoryOptions {
  double temperature, kd_temperature;
  std::int64_t pixel_memory_size, region_memory_size, pixels_per_class, regions_per_class;
  std::string enqueue;
  double pixel_weight, region_weight;
  bool project, gcn;
  static void declare(Schema<MemoryOptions>& s) {
    s.field("temperature", &MemoryOptions::temperature, "contrast temperature tau (the toolbox's 0.1)")
        .default_value(0.1)
        .range(1e-4, 1e3);
    s.field("kd_temperature", &MemoryOptions::kd_temperature, "KD temperature T, loss times T^2 (the toolbox's 1)")
        .default_value(1.0)
        .range(1e-3, 1e3);
    s.field("pixel_memory_size", &MemoryOptions::pixel_memory_size,
            "teacher pixels remembered per class (the toolbox's 20000; its SegFormer script 2000)")
        .default_value(20000)
        .range(1, 1000000);
    s.field("region_memory_size", &MemoryOptions::region_memory_size, "class regions remembered per class (the toolbox's 2000)")
        .default_value(2000)
        .range(1, 1000000);
    s.field("pixels_per_class", &MemoryOptions::pixels_per_class,
            "remembered pixels drawn per class as contrast; 0: 4096 // classes + 1, as the toolbox's scripts")
        .default_value(0)
        .range(0, 1000000);
    s.field("regions_per_class", &MemoryOptions::regions_per_class,
            "remembered regions drawn per class as contrast; 0: 1024 // classes + 1, as the toolbox's scripts")
        .default_value(0)
        .range(0, 1000000);
    s.field("enqueue", &MemoryOptions::enqueue,
            "which teacher pixels of a class are remembered: \"first_positions\" (the toolbox: up to 16 drawn among the "
            "image's first n positions, n the class's pixel count, whatever their class) or \"class_positions\" (up to 16 "
            "of the class's own pixels, the evident intent)")
        .default_value(std::string("first_positions"))
        .one_of({"first_positions", "class_positions"});
    s.field("project", &MemoryOptions::project,
            "map the student's feature through the toolbox's projection head (1x1 conv, BatchNorm, ReLU, 1x1 conv) to the "
            "teacher's width; false: compare it as it is (one channel count needed)")
        .default_value(true);
    s.field("gcn", &MemoryOptions::gcn, kGcnOptionHelp).default_value(false);
    s.field("pixel_weight", &MemoryOptions::pixel_weight, "factor of the pixel-to-pixel term (the entry's weight applies too)")
        .default_value(1.0)
        .at_least(0);
    s.field("region_weight", &MemoryOptions::region_weight, "factor of the pixel-to-region term (the entry's weight applies too)")
        .default_value(1.0)
        .at_least(0);
  }
};

// At most this many pixels of each class of each image are remembered per step.
constexpr std::int64_t kPixelsRememberedPerImage = 16;

class Memory : public LabelledPairDistiller {
 public:
  Memory(const MemoryOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    const std::int64_t k = c.num_classes, d = c.teacher().channels;
    if (k < 1) throw Error(c.config_key + ": cirkd_memory needs the model's classes (num_classes)");
    pixels_per_class_ = o.pixels_per_class > 0 ? o.pixels_per_class : 4096 / k + 1;
    regions_per_class_ = o.regions_per_class > 0 ? o.regions_per_class : 1024 / k + 1;
    if (pixels_per_class_ > o.pixel_memory_size || regions_per_class_ > o.region_memory_size)
      throw Error(c.config_key + ": cirkd_memory draws " + std::to_string(pixels_per_class_) + " pixels and " +
                  std::to_string(regions_per_class_) + " regions per class, more than it remembers (pixel_memory_size " +
                  std::to_string(o.pixel_memory_size) + ", region_memory_size " + std::to_string(o.region_memory_size) +
                  "): lower pixels_per_class / regions_per_class or raise the memory sizes");
    if (o.gcn) gcn_ = shared_gcn(*this, c);
    if (o.project)
      project_head = register_module("project_head", projection_head(c.student().channels, d));
    else
      require_same_channels(c, "cirkd_memory with project = false", "pixel vectors");
    // Random unit vectors to begin with, as the toolbox's.
    const std::string owner = c.config_key + " (cirkd_memory)";
    teacher_pixel_queue =
        register_buffer("teacher_pixel_queue", random_unit_memory({k, o.pixel_memory_size, d}, owner, "pixel_memory_size"));
    pixel_queue_ptr = register_buffer("pixel_queue_ptr", torch::zeros({k}, torch::kLong));
    teacher_segment_queue =
        register_buffer("teacher_segment_queue", random_unit_memory({k, o.region_memory_size, d}, owner, "region_memory_size"));
    segment_queue_ptr = register_buffer("segment_queue_ptr", torch::zeros({k}, torch::kLong));
    draws = register_buffer("draws", torch::zeros({}, torch::kLong));
  }

  DistillLosses forward(const at::Tensor& s, const at::Tensor& t, const at::Tensor& labels) override {
    require_maps(s, t, context_, "cirkd_memory");
    require_labels(labels, s, context_, "cirkd_memory");
    const at::Tensor y = nearest_labels(labels, s.size(2), s.size(3)).flatten(1);  // B x hw
    check_label_values(y);
    const at::Tensor teacher = unit(t.detach(), 1).flatten(2).transpose(1, 2);  // B x hw x D
    const at::Tensor adapted = gcn_ ? gcn_->forward(s) : s;
    const at::Tensor projected = project_head ? project_head->forward(adapted) : adapted;
    const at::Tensor student = unit(projected, 1).flatten(2).transpose(1, 2);  // B x hw x D
    const std::uint64_t draw = static_cast<std::uint64_t>(draws.item<std::int64_t>());
    {
      torch::NoGradGuard no_grad;
      draws.add_(1);
      // Every rank remembers the same gathered pixels with the same draws: the memories
      // stay equal on all ranks without being broadcast.
      remember(gather_from_ranks(teacher), gather_from_ranks(y), memory_generator(context_.seed, draw, kPixelsRemembered));
    }
    const at::Tensor valid = (y != context_.ignore_index).flatten();
    const at::Tensor s_valid = student.flatten(0, 1).index({valid});
    const at::Tensor t_valid = teacher.flatten(0, 1).index({valid});
    const double rows = rows_per_rank(s_valid.size(0), s.device());
    // A batch without a labelled pixel adds 0, kept on the graph so that every rank's
    // backward reaches the same parameters (the toolbox's value there is NaN).
    if (s_valid.size(0) == 0) {
      const at::Tensor zero = student.sum() * 0.0;
      return {{"cirkd_memory_pixel", zero}, {"cirkd_memory_region", zero}};
    }
    // The negatives: one draw for all ranks (the toolbox's processes draw their own), so
    // that a data-parallel run computes what one process computes on the global batch.
    at::Generator negatives = memory_generator(context_.seed, draw, kPixelContrast);
    const at::Tensor pixel_index =
        torch::randperm(options_.pixel_memory_size, negatives, torch::kLong).narrow(0, 0, pixels_per_class_);
    const at::Tensor region_index =
        torch::randperm(options_.region_memory_size, negatives, torch::kLong).narrow(0, 0, regions_per_class_);
    const at::Tensor pixels = teacher_pixel_queue.index_select(1, pixel_index.to(s.device())).flatten(0, 1);
    const at::Tensor regions = teacher_segment_queue.index_select(1, region_index.to(s.device())).flatten(0, 1);
    const auto contrast = [&](const at::Tensor& memory) {
      return memory_kl(s_valid, t_valid, memory, options_.temperature, options_.kd_temperature, rows);
    };
    return {{"cirkd_memory_pixel", options_.pixel_weight * contrast(pixels)},
            {"cirkd_memory_region", options_.region_weight * contrast(regions)}};
  }

  torch::nn::Sequential project_head{nullptr};
  at::Tensor teacher_pixel_queue, pixel_queue_ptr, teacher_segment_queue, segment_queue_ptr, draws;

 private:
  void check_label_values(const at::Tensor& y) const {
    const at::Tensor bad = (y != context_.ignore_index) & ((y < 0) | (y >= context_.num_classes));
    if (!bad.any().item<bool>()) return;
    throw Error(context_.config_key + ": cirkd_memory got the label " +
                std::to_string(y.index({bad}).flatten()[0].item<std::int64_t>()) + ", neither a class (0.." +
                std::to_string(context_.num_classes - 1) + ") nor data.ignore_index (" + std::to_string(context_.ignore_index) +
                ")");
  }

  // For each image and each class in it (ascending): the class's mean teacher vector into
  // its region memory, and up to 16 teacher vectors into its pixel memory.
  void remember(const at::Tensor& teacher, const at::Tensor& y, at::Generator gen) {
    const at::Tensor host_labels = y.cpu();
    // The write positions are counted on the host, whatever the device.
    at::Tensor segment_ptrs = segment_queue_ptr.to(torch::kCPU, torch::kLong, false, true);
    at::Tensor pixel_ptrs = pixel_queue_ptr.to(torch::kCPU, torch::kLong, false, true);
    for (std::int64_t b = 0; b < teacher.size(0); ++b) {
      const at::Tensor classes =
          std::get<0>(at::_unique(host_labels[b].index({host_labels[b] != context_.ignore_index}), /*sorted=*/true));
      for (std::int64_t i = 0; i < classes.size(0); ++i) {
        const std::int64_t k = classes[i].item<std::int64_t>();
        const at::Tensor where = (host_labels[b] == k).nonzero().flatten();
        const at::Tensor region = unit(teacher[b].index_select(0, where.to(teacher.device())).mean(0), 0);
        std::int64_t& segment_ptr = segment_ptrs.data_ptr<std::int64_t>()[k];
        segment_ptr = write_at_pointer(teacher_segment_queue[k], region.unsqueeze(0), segment_ptr);

        const std::int64_t n = where.size(0), m = std::min(n, kPixelsRememberedPerImage);
        at::Tensor chosen = torch::randperm(n, gen, torch::kLong).narrow(0, 0, m);
        if (options_.enqueue == "class_positions") chosen = where.index_select(0, chosen);
        const at::Tensor vectors = unit(teacher[b].index_select(0, chosen.to(teacher.device())), 1);
        std::int64_t& pixel_ptr = pixel_ptrs.data_ptr<std::int64_t>()[k];
        pixel_ptr = write_at_pointer(teacher_pixel_queue[k], vectors, pixel_ptr);
      }
    }
    segment_queue_ptr.copy_(segment_ptrs);
    pixel_queue_ptr.copy_(pixel_ptrs);
  }

  // The mean's divisor on this rank: its labelled pixels in one process (the toolbox's);
  // in a data-parallel run the global batch's labelled pixels over the world size, so that
  // the averaged gradients are one process's on the global batch (the toolbox's ranks
  // divide by their own counts).
  static double rows_per_rank(std::int64_t local, const torch::Device& device) {
    const auto& ranks = current_collectives();
    if (!ranks || ranks->world_size() <= 1) return static_cast<double>(local);
    std::vector<at::Tensor> count{torch::full({1}, static_cast<double>(local), torch::dtype(torch::kDouble).device(device))};
    ranks->all_reduce_sum(count);
    return count[0].item<double>() / ranks->world_size();
  }

  MemoryOptions options_;
  DistillerContext context_;
  Gcn gcn_{nullptr};
  std::int64_t pixels_per_class_ = 0, regions_per_class_ = 0;
};

}  // namespace

void register_memory_distiller(PluginRegistrar& r) {
  r.add_distiller<Memory, MemoryOptions>(
      "cirkd_memory",
      "CIRKD memory pixel-to-pixel and pixel-to-region: KL of each labelled pixel's similarities to per-class memories of "
      "teacher pixels and class regions (kept in checkpoints); takes the labels");
}

}  // namespace segdistill::cirkd
