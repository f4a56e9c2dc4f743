#pragma once
// Everything a plugin needs, in one include: the plugin contract and registries, config
// schemas, the component interfaces (backbones, heads, data sets, transforms, distillers,
// losses, LR schedules, hooks) and the helpers they share. A plugin that includes only
// this header (and LibTorch) builds against any SDK of the same kSdkApiVersion.
#include "segdistill/core/api.hpp"
#include "segdistill/core/check.hpp"
#include "segdistill/core/closest_match.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/core/random.hpp"
#include "segdistill/core/untrusted_file.hpp"

#include "segdistill/plugin/plugin_api.hpp"
#include "segdistill/plugin/registries.hpp"

#include "segdistill/config/config.hpp"
#include "segdistill/config/schema.hpp"
#include "segdistill/config/table.hpp"

#include "segdistill/modeling/backbone.hpp"
#include "segdistill/modeling/batch_norm.hpp"
#include "segdistill/modeling/feature.hpp"
#include "segdistill/modeling/fold_batch_norm.hpp"
#include "segdistill/modeling/head.hpp"
#include "segdistill/modeling/init.hpp"
#include "segdistill/modeling/segmentor.hpp"

#include "segdistill/data/dataset.hpp"
#include "segdistill/data/image_io.hpp"
#include "segdistill/data/sample.hpp"
#include "segdistill/data/split_list.hpp"
#include "segdistill/data/transform.hpp"

#include "segdistill/distill/distiller.hpp"
#include "segdistill/distill/feature_resize.hpp"

#include "segdistill/engine/hook.hpp"
#include "segdistill/engine/loss.hpp"
#include "segdistill/engine/lr_schedule.hpp"
#include "segdistill/runtime/channels_last.hpp"
#include "segdistill/runtime/collectives.hpp"
#include "segdistill/runtime/precision.hpp"

#include "segdistill/checkpoint/checkpoint.hpp"
#include "segdistill/checkpoint/random_state.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/evaluator.hpp"
