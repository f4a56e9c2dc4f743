#pragma once
#include <vector>

#include "segdistill/core/api.hpp"
#include "segdistill/plugin/distiller_registry.hpp"
#include "segdistill/plugin/registry.hpp"

namespace segdistill {

// The products and their build contexts are declared by their own headers; the
// registries need only their names, so including this header pulls in no LibTorch.
class Backbone;
class Head;
class Dataset;
class Transform;
class Distiller;
class Loss;
class LrSchedule;
class Hook;
struct HeadContext;
struct DatasetContext;
struct TransformContext;
struct DistillerContext;
struct LossContext;
struct ScheduleContext;
struct HookContext;

using BackboneRegistry = Registry<Backbone>;
using HeadRegistry = Registry<Head, const HeadContext&>;
using DatasetRegistry = Registry<Dataset, const DatasetContext&>;
using TransformRegistry = Registry<Transform, const TransformContext&>;
using LossRegistry = Registry<Loss, const LossContext&>;
using LrScheduleRegistry = Registry<LrSchedule, const ScheduleContext&>;
using HookRegistry = Registry<Hook, const HookContext&>;

// The process-wide registries. Their storage lives in libsegdistill alone, so the host
// and every plugin see the same ones.
SEGDISTILL_API BackboneRegistry& backbones();
SEGDISTILL_API HeadRegistry& heads();
SEGDISTILL_API DatasetRegistry& datasets();
SEGDISTILL_API TransformRegistry& transforms();
SEGDISTILL_API DistillerRegistry& distillers();
SEGDISTILL_API LossRegistry& losses();
SEGDISTILL_API LrScheduleRegistry& lr_schedules();
SEGDISTILL_API HookRegistry& hooks();

// Every registry, in the order above (for listings and plugin roll-back).
SEGDISTILL_API const std::vector<RegistryBase*>& all_registries();
// The registry of a kind ("backbones"); nullptr when there is none.
SEGDISTILL_API RegistryBase* find_registry(const std::string& kind);

}  // namespace segdistill
