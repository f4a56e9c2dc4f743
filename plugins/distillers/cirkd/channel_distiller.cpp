// CIRKDV2's channel terms (its facts, 1.12): each channel's spatial map, 4 x 4 average-
// pooled and L2-normalised, is a vector; the student's channels (projected to the
// teacher's) are distilled by their similarities to each other across the batch's image
// pairs, by MSE, and by their similarities to a memory of teacher channels, kept as a
// buffer (checkpoints hold it; every rank remembers the same channels).
#include "cirkd_distillers.hpp"
#include "cross_image_pairs.hpp"
#include "gcn_adaptor.hpp"
#include "memory_bank.hpp"
#include "toolbox_math.hpp"

namespace segdistill::cirkd {

namespace {

struct ChannelOptions {
  std::int64_t bank_width, memory_size, contrast_size;
  double temperature, kd_temperature, minibatch_weight, mse_weight, memory_weight;
  bool project, gcn;
  std::string pairs;
  static void declare(Schema<ChannelOptions>& s) {
    s.field("bank_width", &ChannelOptions::bank_width,
            "positions of a pooled teacher channel, h * w / 16 of the teacher feature at the training crop (the toolbox's "
            "512 for 512 x 1024 crops at 1/8; 256 for 512 x 512)")
        .required()
        .range(1, 1 << 20);
    s.field("memory_size", &ChannelOptions::memory_size, "teacher channels remembered (the toolbox's 10000)")
        .default_value(10000)
        .range(1, 10000000);
    s.field("contrast_size", &ChannelOptions::contrast_size, "remembered channels drawn as contrast (the toolbox's 2048)")
        .default_value(2048)
        .range(1, 10000000);
    s.field("temperature", &ChannelOptions::temperature, "contrast temperature tau (the toolbox's 0.1)")
        .default_value(0.1)
        .range(1e-4, 1e3);
    s.field("kd_temperature", &ChannelOptions::kd_temperature, "memory term's KD temperature T, times T^2 (the toolbox's 1)")
        .default_value(1.0)
        .range(1e-3, 1e3);
    s.field("minibatch_weight", &ChannelOptions::minibatch_weight, "factor of the mini-batch channel term (the toolbox's 1)")
        .default_value(1.0)
        .at_least(0);
    s.field("mse_weight", &ChannelOptions::mse_weight, "factor of the channel MSE term (the toolbox's lambda_channel_kd, 100)")
        .default_value(100.0)
        .at_least(0);
    s.field("memory_weight", &ChannelOptions::memory_weight, "factor of the memory channel term (the toolbox's 0.1)")
        .default_value(0.1)
        .at_least(0);
    s.field("project", &ChannelOptions::project,
            "map the student's pooled feature through the toolbox's projection head to the teacher's width; false: "
            "compare it as it is (one channel count needed)")
        .default_value(true);
    s.field("gcn", &ChannelOptions::gcn, kGcnOptionHelp).default_value(false);
    s.field("pairs", &ChannelOptions::pairs, kPairsOptionHelp).default_value(std::string("rank")).one_of({"rank", "global"});
  }
};

// At most this many teacher channels are remembered per step.
constexpr std::int64_t kChannelsRememberedPerStep = 256;

class Channel : public PairDistiller {
 public:
  Channel(const ChannelOptions& o, const DistillerContext& c) : options_(o), context_(c) {
    if (o.contrast_size > o.memory_size)
      throw Error(c.config_key + ": cirkd_channel draws contrast_size " + std::to_string(o.contrast_size) +
                  " channels from a memory of memory_size " + std::to_string(o.memory_size) + ": lower contrast_size");
    const std::int64_t d = c.teacher().channels;
    if (o.gcn) gcn_ = shared_gcn(*this, c);
    if (o.project)
      project_head = register_module("project_head", projection_head(c.student().channels, d));
    else
      require_same_channels(c, "cirkd_channel with project = false", "channel maps");
    teacher_channel_queue = register_buffer(
        "teacher_channel_queue",
        random_unit_memory({o.memory_size, o.bank_width}, c.config_key + " (cirkd_channel)", "memory_size or bank_width"));
    channel_queue_ptr = register_buffer("channel_queue_ptr", torch::zeros({1}, torch::kLong));
    draws = register_buffer("draws", torch::zeros({}, torch::kLong));
  }

  DistillLosses forward(const at::Tensor& s, const at::Tensor& t) override {
    require_maps(s, t, context_, "cirkd_channel");
    const auto pool = [](const at::Tensor& x) { return torch::avg_pool2d(x, {4, 4}, {4, 4}, {0, 0}, /*ceil_mode=*/true); };
    const at::Tensor adapted = gcn_ ? gcn_->forward(s) : s;
    const at::Tensor pooled = pool(adapted);
    const at::Tensor fs = unit((project_head ? project_head->forward(pooled) : pooled).flatten(2), 2);  // B x C x D_c
    const at::Tensor ft = unit(pool(t.detach()).flatten(2), 2);
    if (ft.size(2) != options_.bank_width)
      throw Error(context_.config_key + ".bank_width: cirkd_channel remembers channels of " +
                  std::to_string(options_.bank_width) + " positions, but the pooled teacher feature " + context_.teacher().name +
                  " has " + std::to_string(ft.size(2)) + " (" + std::to_string(t.size(2)) + " x " + std::to_string(t.size(3)) +
                  " pooled 4 x 4): set bank_width = " + std::to_string(ft.size(2)));
    const at::Tensor rows_s = fs.flatten(0, 1), rows_t = ft.flatten(0, 1);
    const std::uint64_t draw = static_cast<std::uint64_t>(draws.item<std::int64_t>());
    {
      torch::NoGradGuard no_grad;
      draws.add_(1);
      remember(gather_from_ranks(rows_t), memory_generator(context_.seed, draw, kChannelsRemembered));
    }
    at::Generator negatives = memory_generator(context_.seed, draw, kChannelContrast);
    const at::Tensor index = torch::randperm(options_.memory_size, negatives, torch::kLong).narrow(0, 0, options_.contrast_size);
    const at::Tensor memory = teacher_channel_queue.index_select(0, index.to(s.device()));
    const at::Tensor memory_term =
        memory_kl(rows_s, rows_t, memory, options_.temperature, options_.kd_temperature, static_cast<double>(rows_s.size(0)));
    return {{"cirkd_channel_minibatch",
             options_.minibatch_weight * cross_image_kl(fs, ft, options_.temperature, options_.pairs == "global")},
            {"cirkd_channel_mse", options_.mse_weight * (rows_s - rows_t).pow(2).mean()},
            {"cirkd_channel_memory", options_.memory_weight * memory_term}};
  }

  torch::nn::Sequential project_head{nullptr};
  at::Tensor teacher_channel_queue, channel_queue_ptr, draws;

 private:
  // Up to 256 of the gathered teacher channels, in a random order, written at the pointer
  // (the last slots, and the pointer back to 0, where they would reach the end).
  void remember(const at::Tensor& rows, at::Generator gen) {
    const std::int64_t m = std::min(rows.size(0), kChannelsRememberedPerStep), size = options_.memory_size;
    const at::Tensor chosen = torch::randperm(rows.size(0), gen, torch::kLong).narrow(0, 0, std::min(m, size));
    const at::Tensor vectors = unit(rows.index_select(0, chosen.to(rows.device())), 1);
    channel_queue_ptr.fill_(
        write_at_pointer(teacher_channel_queue, vectors, channel_queue_ptr.to(torch::kCPU, torch::kLong).item<std::int64_t>()));
  }

  ChannelOptions options_;
  DistillerContext context_;
  Gcn gcn_{nullptr};
};

}  // namespace

void register_channel_distiller(PluginRegistrar& r) {
  r.add_distiller<Channel, ChannelOptions>(
      "cirkd_channel",
      "CIRKDV2's channel terms: mini-batch channel-to-channel KL, channel MSE and KL to a memory of teacher channels (kept "
      "in checkpoints), on 4x4-pooled, L2-normalised channel maps");
}

}  // namespace segdistill::cirkd
