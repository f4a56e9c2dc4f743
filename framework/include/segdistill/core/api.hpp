#pragma once
// Symbols of libsegdistill that plugins and tools may use. Everything else is
// compiled with hidden visibility.
#if defined(_WIN32)
#define SEGDISTILL_API __declspec(dllexport)
#else
#define SEGDISTILL_API __attribute__((visibility("default")))
#endif

namespace segdistill {
// Bumped whenever a change to the SDK headers breaks plugins built against an older
// version. The host refuses plugins whose version differs.
// 2: headers laid out by concern (segdistill/<concern>/...), segdistill/sdk.hpp, the
//    Hook/Trainer interface, Loss with LossContext, PluginRegistrar::add_class.
// 3: Backbone::pretrained_ignored_prefixes (a new virtual), modeling/init.hpp.
// 4: feature lists for multi-level distillers: DistillerContext::student_levels and
//    teacher_levels, Distiller::takes_feature_lists (a new virtual).
// 5: distillers declare what they take: PairDistiller / LevelDistiller and
//    PluginRegistrar::add_distiller (DistillerContext::student_features, student()); the
//    loop validates and records (Trainer::metrics(), validate_also(), Hook::after_record,
//    after_validation); hook state is loaded after before_run.
inline constexpr unsigned kSdkApiVersion = 6;
}  // namespace segdistill
