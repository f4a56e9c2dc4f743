# Shared by train_step.sh and step_profile.sh (sourced): the VOC TaT step of the published
# settings on toy data of VOC's size, as `segdistill train` arguments.
#   prepare_voc_step WORK                 toy JPEGs of 500x375 in VOC's layout, a random R-101 teacher
#   voc_step_overrides WORK PRECISION ITERATIONS   sets the array VOC_STEP_SETS (--set pairs):
#       batch 4, crop 513, the published pipeline, 2 loader workers, no evaluation, checkpoints or TensorBoard
#   check_students SCRIPT STUDENTS        exits 2 naming a student other than r18 or mbv2
# and, from describe_cpu.sh, describe_cpu THREADS.
# shellcheck source=describe_cpu.sh
source "$root/tools/bench/describe_cpu.sh"

check_students() {
  local script=$1 student
  for student in $2; do
    case "$student" in
      r18 | mbv2) ;;
      *) echo "$script: unknown student '$student' (valid: r18, mbv2)" >&2; exit 2 ;;
    esac
  done
}
prepare_voc_step() {
  local work=$1 bin="$root/build/bin"
  [ -d "$work/voc_sized" ] ||
    "$bin/segdistill" --log-level warn make-toy-dataset --output "$work/voc_sized" --train 32 --val 1 --size 500x375 >/dev/null
  [ -f "$work/teacher.pt" ] ||
    "$bin/bench_random_checkpoint" "$root/configs/voc/deeplabv3plus_r101_teacher.toml" "$work/teacher.pt" >/dev/null
}

voc_step_overrides() {
  local work=$1 precision=$2 iterations=$3
  local pipeline='[{type="random_flip"},{type="random_scale_crop",base_size=513,crop_size=[513],scale_range=[0.5,2.0]},{type="gaussian_blur"},{type="normalize"}]'
  VOC_STEP_SETS=(--set "data.train={type=\"voc\", root=\"$work/voc_sized\", split=\"train\"}" --set "data.train.pipeline=$pipeline"
    --set "data.val.root=\"$work/voc_sized\"" --set "teacher.checkpoint=\"$work/teacher.pt\"" --set 'model.backbone.pretrained=""'
    --set "train.iterations=$iterations" --set train.batch_size=4 --set train.workers=2 --set train.log_every=1
    --set train.eval_every=0 --set train.checkpoint_every=100000 --set train.tensorboard=false
    --set "train.precision=\"$precision\"")
}
