#include "tat_distillers.hpp"

#include "anchor_pooling.hpp"
#include "patch_group_loss.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/plugin/plugin_api.hpp"

namespace segdistill::tat {

namespace {

void check_pair(const DistillerContext& c, const std::string& type) {
  if (c.student().stride != c.teacher().stride)
    throw Error(c.config_key + ": " + type + " needs student and teacher features of one resolution, but " + c.student().name +
                " has stride " + std::to_string(c.student().stride) + " and " + c.teacher().name + " stride " +
                std::to_string(c.teacher().stride));
}

// The reference stacks the n x m patches (kh x kw, rows and columns beyond n*kh, m*kw
// dropped) along channels in row-major patch order, giving S = n*m*C channels, and splits
// them into `heads` contiguous groups of d = S / heads. This returns that arrangement as
// N x heads x P x d (P = kh*kw positions), contiguous, with one copy: when a head holds
// whole patches of one patch row (d = g*C with m divisible by g, as in every published
// setting), the head, position and within-head indices are merged dimensions of a
// permuted view. Such settings take the row-layout path instead (patch_group_loss); this
// one serves the others.
at::Tensor patches_by_head(const at::Tensor& x, std::int64_t n, std::int64_t m, std::int64_t heads) {
  const std::int64_t b = x.size(0), c = x.size(1), kh = x.size(2) / n, kw = x.size(3) / m;
  const std::int64_t d = n * m * c / heads;
  const at::Tensor grid = x.narrow(2, 0, n * kh).narrow(3, 0, m * kw).view({b, c, n, kh, m, kw});
  if (d % c == 0 && m % (d / c) == 0) {
    const std::int64_t g = d / c;  // patches per head
    return grid.view({b, c, n, kh, m / g, g, kw}).permute({0, 2, 4, 3, 6, 5, 1}).reshape({b, heads, kh * kw, d});
  }
  return grid.permute({0, 2, 4, 1, 3, 5}).reshape({b, heads, d, kh * kw}).transpose(2, 3).contiguous();
}

// N x C x H x W -> N x n x m x C x kh x kw: the patch grid (rows and columns beyond n*kh,
// m*kw dropped), a view.
at::Tensor patch_grid(const at::Tensor& x, std::int64_t n, std::int64_t m) {
  const std::int64_t b = x.size(0), c = x.size(1), kh = x.size(2) / n, kw = x.size(3) / m;
  return x.narrow(2, 0, n * kh).narrow(3, 0, m * kw).view({b, c, n, kh, m, kw}).permute({0, 2, 4, 1, 3, 5});
}

// attention = "batch" / "loop": every patch is an item of its own, its C channels split
// into `heads` contiguous groups: (N*n*m) x heads x (kh*kw) x (C/heads).
at::Tensor patches_as_items(const at::Tensor& x, std::int64_t n, std::int64_t m, std::int64_t heads) {
  const at::Tensor grid = patch_grid(x, n, m);
  const std::int64_t c = grid.size(3), positions = grid.size(4) * grid.size(5);
  return grid.reshape({grid.size(0) * n * m, heads, c / heads, positions}).transpose(2, 3).contiguous();
}

// attention = "spatial": windows of sp_h x sp_w patches, sp_hs / sp_ws patches apart
// (overlapping windows repeat patches), each window's patches stacked along channels
// (patch in window, then channel) as one head: N x (Gh*Gw) x (kh*kw) x (sp_h*sp_w*C).
at::Tensor windows_by_head(const at::Tensor& x, std::int64_t n, std::int64_t m, const std::array<std::int64_t, 4>& window,
                           std::int64_t window_rows, std::int64_t window_cols) {
  const at::Tensor grid = patch_grid(x, n, m);
  const auto cells = [&](std::int64_t count, std::int64_t size, std::int64_t stride) {
    const auto options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
    return (torch::arange(count, options).mul(stride).unsqueeze(1) + torch::arange(size, options).unsqueeze(0)).flatten();
  };
  const at::Tensor picked =
      grid.index_select(1, cells(window_rows, window[0], window[2])).index_select(2, cells(window_cols, window[1], window[3]));
  const std::int64_t b = x.size(0), c = grid.size(3), positions = grid.size(4) * grid.size(5);
  return picked.reshape({b, window_rows, window[0], window_cols, window[1], c, positions})
      .permute({0, 1, 3, 2, 4, 5, 6})
      .reshape({b, window_rows * window_cols, window[0] * window[1] * c, positions})
      .transpose(2, 3)
      .contiguous();
}

// N x 1 x P x C -> N x heads x P x (C/heads), channels split into contiguous groups.
at::Tensor split_heads(const at::Tensor& x, std::int64_t heads) {
  if (heads == 1) return x;
  return x.reshape({x.size(0), x.size(2), heads, x.size(3) / heads}).permute({0, 2, 1, 3}).contiguous();
}

// N x C x H x W -> N x 1 x P x C of the kernel x kernel average-pooled grid.
at::Tensor pooled_positions(const at::Tensor& x, const std::vector<std::int64_t>& kernel) {
  return torch::avg_pool2d(x, kernel, kernel).flatten(2).transpose(1, 2).unsqueeze(1).contiguous();
}

// Patches per head when every head holds whole patches of one patch row (d = g * C,
// m divisible by g); 0 otherwise.
std::int64_t whole_patches_per_head(const PatchGroupOptions& o, std::int64_t channels) {
  const std::int64_t d = o.patches[0] * o.patches[1] * channels / o.heads;
  if (d % channels != 0 || o.patches[1] % (d / channels) != 0) return 0;
  return d / channels;
}

std::string size_text(const at::Tensor& t) {
  std::string text;
  for (const std::int64_t s : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(s);
  return text;
}

// Checks the step's student and teacher features: one batch at one resolution.
void check_pair(const at::Tensor& fs, const at::Tensor& ft, const DistillerContext& c) {
  if (fs.dim() != 4 || ft.dim() != 4 || fs.size(0) != ft.size(0) || fs.size(2) != ft.size(2) || fs.size(3) != ft.size(3))
    throw Error(c.config_key + ": the student feature " + c.student().name + " is " + size_text(fs) +
                " and the teacher feature " + c.teacher().name + " is " + size_text(ft) +
                "; TaT needs N x C x H x W features of one batch and one H x W");
}

}  // namespace

std::shared_ptr<TatEmbedding> attach_embedding(Distiller& distiller, const DistillerContext& context, bool per_sample) {
  const std::string key = "tat_embedding:" + context.student().name + ":" + context.teacher().name;
  auto embedding = context.shared->get_or_create<TatEmbedding>(
      key, [&] { return std::make_shared<TatEmbedding>(context.student().channels, context.teacher().channels, per_sample); });
  if (embedding->per_sample() != per_sample)
    throw Error(context.config_key + ".per_sample_embedding: the TaT distillers on " + context.student().name + " / " +
                context.teacher().name + " share their embeddings and must agree on per_sample_embedding");
  embedding->attach();
  // Registered under the reference names in every distiller that uses them.
  distiller.register_module("embed_query", embedding->embed_query);
  distiller.register_module("embed_key", embedding->embed_key);
  distiller.register_module("embed_value", embedding->embed_value);
  return embedding;
}

PatchGroupDistiller::PatchGroupDistiller(const PatchGroupOptions& options, const DistillerContext& context)
    : options_(options), context_(context) {
  if (options.patches.size() != 2) throw Error(context.config_key + ".patches: expected [n, m]");
  check_pair(context, "tat_patch_group");
  const std::int64_t n = options.patches[0], m = options.patches[1], channels = context.teacher().channels;
  const std::string& type = options.attention;
  if (type == "stack") {
    const std::int64_t stacked = n * m * channels;
    if (stacked % options.heads != 0)
      throw Error(context.config_key + ".heads: " + std::to_string(n) + " x " + std::to_string(m) + " patches of " +
                  std::to_string(channels) + " channels give " + std::to_string(stacked) +
                  " stacked channels, not divisible by heads = " + std::to_string(options.heads));
  } else if (type == "batch" || type == "loop") {
    if (channels % options.heads != 0)
      throw Error(context.config_key + ".heads: attention = \"" + type + "\" splits each patch's " + std::to_string(channels) +
                  " channels into heads, and " + std::to_string(channels) +
                  " is not divisible by heads = " + std::to_string(options.heads));
  } else {
    if (options.window.size() != 2 || options.window_stride.size() != 2)
      throw Error(context.config_key + ".window and .window_stride: expected [rows, columns] of patches");
    window_ = {options.window[0], options.window[1], options.window_stride[0] > 0 ? options.window_stride[0] : options.window[0],
               options.window_stride[1] > 0 ? options.window_stride[1] : options.window[1]};
    if (window_[0] > n || window_[1] > m)
      throw Error(context.config_key + ".window: " + std::to_string(window_[0]) + " x " + std::to_string(window_[1]) +
                  " patches do not fit the " + std::to_string(n) + " x " + std::to_string(m) + " patch grid");
    window_rows_ = (n - window_[0]) / window_[2] + 1;
    window_cols_ = (m - window_[1]) / window_[3] + 1;
  }
  embedding_ = attach_embedding(*this, context, options.per_sample_embedding);
  if (type == "stack") group_ = whole_patches_per_head(options, channels);
  if (group_ > 0) embedding_->request_patch_rows(n, m, group_);
}

DistillLosses PatchGroupDistiller::forward(const at::Tensor& fs, const at::Tensor& ft) {
  check_pair(fs, ft, context_);
  const std::int64_t n = options_.patches[0], m = options_.patches[1];
  if (ft.size(2) < n || ft.size(3) < m)
    throw Error(context_.config_key + ".patches: the feature is " + std::to_string(ft.size(2)) + " x " +
                std::to_string(ft.size(3)) + ", smaller than the " + std::to_string(n) + " x " + std::to_string(m) +
                " patch grid");
  const Embedded embedded = embedding_->embed(fs, ft);
  if (embedded.layout && group_ > 0 && *embedded.layout == RowLayout{ft.size(2), ft.size(3), n, m, group_})
    return {
        {"tat_patch_group", patch_group_loss(embedded.query, embedded.key, embedded.value, embedded.target, *embedded.layout)}};
  const Embedded e = embedded.nchw(ft);
  const std::int64_t heads = options_.heads;
  const std::string& type = options_.attention;
  // Each arrangement puts the attention's heads in dimension 1 and its positions in 2.
  const auto arrange = [&](const at::Tensor& x) {
    if (type == "stack") return patches_by_head(x, n, m, heads);
    if (type == "spatial") return windows_by_head(x, n, m, window_, window_rows_, window_cols_);
    return patches_as_items(x, n, m, heads);
  };
  const at::Tensor out = attention(arrange(e.query), arrange(e.key), arrange(e.value));
  at::Tensor loss = torch::mse_loss(out, arrange(e.target));
  // The published loop sums each patch's mean instead of averaging them.
  if (type == "loop") loss = loss * static_cast<double>(n * m);
  return {{"tat_patch_group", loss}};
}

AnchorPointDistiller::AnchorPointDistiller(const AnchorPointOptions& options, const DistillerContext& context)
    : options_(options), context_(context) {
  if (options.anchors.size() != 2) throw Error(context.config_key + ".anchors: expected [h, w]");
  check_pair(context, "tat_anchor_point");
  if (context.teacher().channels % options.heads != 0)
    throw Error(context.config_key + ".heads: " + std::to_string(context.teacher().channels) +
                " channels are not divisible by heads = " + std::to_string(options.heads));
  embedding_ = attach_embedding(*this, context, options.per_sample_embedding);
  embedding_->request_anchor_rows(options.anchors[0], options.anchors[1]);
}

DistillLosses AnchorPointDistiller::forward(const at::Tensor& fs, const at::Tensor& ft) {
  check_pair(fs, ft, context_);
  const std::int64_t ah = options_.anchors[0], aw = options_.anchors[1];
  if (ft.size(2) < ah || ft.size(3) < aw)
    throw Error(context_.config_key + ".anchors: the feature is " + std::to_string(ft.size(2)) + " x " +
                std::to_string(ft.size(3)) + ", smaller than the " + std::to_string(ah) + " x " + std::to_string(aw) +
                " anchor grid");
  const Embedded embedded = embedding_->embed(fs, ft);
  if (embedded.layout) {
    if (const auto cells = anchor_cells(*embedded.layout, ah, aw)) {
      const auto pool = [&](const at::Tensor& rows) {
        return split_heads(pool_anchors(rows, *embedded.layout, *cells), options_.heads);
      };
      const at::Tensor out = attention(pool(embedded.query), pool(embedded.key), pool(embedded.value));
      return {{"tat_anchor_point", torch::mse_loss(out, pool(embedded.target))}};
    }
  }
  const std::vector<std::int64_t> kernel{ft.size(2) / ah, ft.size(3) / aw};
  const Embedded e = embedded.nchw(ft);
  const auto pool = [&](const at::Tensor& x) { return split_heads(pooled_positions(x, kernel), options_.heads); };
  const at::Tensor out = attention(pool(e.query), pool(e.key), pool(e.value));
  return {{"tat_anchor_point", torch::mse_loss(out, pool(e.target))}};
}

namespace {
void register_tat(PluginRegistrar& r) {
  r.add_distiller<PatchGroupDistiller, PatchGroupOptions>("tat_patch_group", "TaT patch-group distillation (patches, heads)");
  r.add_distiller<AnchorPointDistiller, AnchorPointOptions>("tat_anchor_point", "TaT anchor-point distillation (anchors)");
}
}  // namespace

}  // namespace segdistill::tat

SEGDISTILL_PLUGIN("tat", "1.0.0", segdistill::tat::register_tat)
